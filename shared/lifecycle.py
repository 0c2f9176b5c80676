"""Process lifecycle shared by every long-running Tandem process: logging and graceful stop on signals."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Awaitable, Callable

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from shared.observability import LogContext
from shared.scrub import ScrubDatabaseErrors

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(default_format: str = "json") -> None:
    """Log to stderr at TANDEM_LOG_LEVEL, as TANDEM_LOG_FORMAT says (else `default_format`):

    - `json`: one object per line (time, level, logger, message, and correlation_id / trace_id when the line
      was logged inside a request, an event's handling or a span), for log pipelines;
    - `text`: one readable line, for people at a terminal.

    Calling it again replaces the handler it installed before, and leaves others' handlers (pytest's) alone.
    """
    log_format = os.environ.get("TANDEM_LOG_FORMAT", default_format).lower()
    if log_format not in ("json", "text"):
        raise ValueError(f"TANDEM_LOG_FORMAT must be json or text, not {log_format!r}")
    handler = logging.StreamHandler()
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(LogContext())
    handler.addFilter(ScrubDatabaseErrors())  # no PostgreSQL DETAIL (it quotes key values) in any log line
    handler.setFormatter(json_formatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(os.environ.get("TANDEM_LOG_LEVEL", "INFO").upper())
    logging.getLogger("aiokafka").setLevel(logging.WARNING)


_HANDLER_NAME = "tandem"


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "{levelname}{name}{message}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",  # ISO 8601 in UTC
        # Record attributes beyond these become fields (correlation_id, trace_id, span_id from LogContext);
        # uvicorn's `color_message` is its message again with terminal colours.
        reserved_attrs=[*RESERVED_ATTRS, "color_message"],
    )


def run_until_signalled(main: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run `main(stop)`; SIGTERM or SIGINT sets `stop` so the work in flight finishes before exit."""

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    asyncio.run(runner())
