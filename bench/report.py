"""Shared output for `make bench`: a table on stdout and one section in bench/results.json."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).with_name("results.json")


def merge_section(name: str, data: dict[str, Any]) -> None:
    """Write one section, keeping every other section another benchmark wrote earlier."""
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[name] = {
        **data,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "cpus": _cpu_count()},
    }
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


def print_table(title: str, rows: list[dict[str, Any]]) -> None:
    """One row per measurement; with many fields, one column per measurement instead (so it stays legible)."""
    if not rows:
        return
    table = Table(title=title)
    if len(rows[0]) > 8:
        names = list(rows[0])
        table.add_column(names[0], justify="left")
        for row in rows:
            table.add_column(str(row[names[0]]), justify="right")
        for name in names[1:]:
            table.add_row(name, *(_fmt(row.get(name)) for row in rows))
    else:
        for column in rows[0]:
            table.add_column(str(column), justify="right" if isinstance(rows[0][column], int | float) else "left")
        for row in rows:
            table.add_row(*(_fmt(v) for v in row.values()))
    Console(width=160).print(table)


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0))
