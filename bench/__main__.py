"""`python -m bench [section ...]`: runs every benchmark section (or the named ones) in order."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import sys

SECTIONS = ["eventlog", "writepath", "http_load", "replay", "matching"]


def main(argv: list[str]) -> None:
    for name in argv or SECTIONS:
        module = importlib.import_module(f"bench.{name}")
        result = module.run()
        if inspect.isawaitable(result):
            asyncio.run(result)


if __name__ == "__main__":
    main(sys.argv[1:])
