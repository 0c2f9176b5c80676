"""Insights from the command line: any program's report as of any past instant (auditors, scripts).

`tandem report --program prg-… [--as-of 2026-03-01T12:00:00Z] [--csv]`, or `python -m services.insights.cli …`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

import typer

from services.insights.config import InsightsSettings
from services.insights.entrypoints.http import instant, to_csv
from services.insights.service_layer import queries
from shared.connections import Connections

app = typer.Typer(add_completion=False, help="Insights reports from the read model.")


async def render(program: str, as_of: datetime | None, as_csv: bool) -> str:
    settings = InsightsSettings()
    async with Connections(settings.database_url, settings, settings.schema_name or "insights", pool_size=2) as c:
        svc, when = queries.Insights(c.pool), instant(as_of)
        if as_csv:
            return to_csv(await queries.pair_rows(svc, program, when))
        return (await queries.report(svc, program, when)).model_dump_json(indent=2)


@app.command()
def report(
    program: Annotated[str, typer.Option(help="Program id (prg-…).")],
    as_of: Annotated[
        datetime | None, typer.Option(help="The instant to report as of (ISO 8601; default now, UTC).")
    ] = None,
    csv: Annotated[bool, typer.Option("--csv", help="Per-pair rows as CSV instead of the JSON report.")] = False,
) -> None:
    """Print a program's report exactly as the API gives it for `as_of`."""
    typer.echo(asyncio.run(render(program, as_of, csv)))


if __name__ == "__main__":
    app()
