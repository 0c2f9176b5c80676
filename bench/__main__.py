"""`python -m bench [section ...]`: runs every benchmark section (or the named ones) in order."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import sys

from shared import collector

SECTIONS = ["eventlog", "writepath", "http_load", "replay", "matching"]


def main(argv: list[str]) -> None:
    modules = [importlib.import_module(f"bench.{name}") for name in argv or SECTIONS]
    # The harness's own imports out of the collector's reach, as a service's are (shared/collector.py): a full
    # collection of them in the middle of a timed section would be the harness measuring itself.
    collector.freeze_startup_objects()
    for module in modules:
        result = module.run()
        if inspect.isawaitable(result):
            asyncio.run(result)


if __name__ == "__main__":
    main(sys.argv[1:])
