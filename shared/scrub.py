"""What may be said about an error where people and pipelines read it: log lines, dead-letter headers, status pages.

PostgreSQL's errors quote the data they choke on: a unique violation's DETAIL reads `Key (employee_id)=(E123)
already exists`, and some messages quote a value (`invalid input syntax for type integer: "..."`). Those words go
nowhere: a PostgreSQL error is described by its class, SQLSTATE and the names of the schema objects involved.
"""

from __future__ import annotations

import logging
from types import TracebackType

import asyncpg


def scrub(error: BaseException) -> str:
    """What may be said about `error` in a log line, a dead-letter header or a status page: for a PostgreSQL
    error its class, SQLSTATE and the names of the schema objects involved, never its message (it can quote a
    value: `invalid input syntax for type integer: "…"`) nor its DETAIL (`Key (employee_id)=(E123) already
    exists`); for any other error, its class and message."""
    if isinstance(error, asyncpg.PostgresError):
        names = {
            name: getattr(error, name, None)
            for name in ("sqlstate", "schema_name", "table_name", "column_name", "constraint_name")
        }
        return f"{type(error).__name__}({', '.join(f'{k}={v}' for k, v in names.items() if v)})"
    return f"{type(error).__name__}: {error}"


class ScrubbedError(Exception):
    """Stands in for a PostgreSQL error in a log record, so its message and DETAIL never reach a log."""


class ScrubDatabaseErrors(logging.Filter):
    """On a log handler: any PostgreSQL error in a record's exception (or its causes) is logged by `scrub`'s
    words, with its traceback kept. Installed by shared.lifecycle.configure_logging."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            if any(isinstance(e, asyncpg.PostgresError) for e in _chain(error)):
                record.exc_info = (ScrubbedError, _scrubbed(error), error.__traceback__)
                record.exc_text = None
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            if any(isinstance(a, asyncpg.PostgresError) for a in args):
                record.args = tuple(scrub(a) if isinstance(a, asyncpg.PostgresError) else a for a in args)
        return True


def _chain(error: BaseException | None) -> list[BaseException]:
    seen: list[BaseException] = []
    while error is not None and error not in seen:
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


def _scrubbed(error: BaseException) -> ScrubbedError:
    words = " <- ".join(scrub(e) if isinstance(e, asyncpg.PostgresError) else type(e).__name__ for e in _chain(error))
    stand_in = ScrubbedError(words)
    stand_in.__traceback__ = error.__traceback__
    return stand_in


def safe_exc_info(error: BaseException) -> tuple[type[BaseException], BaseException, TracebackType | None]:
    """`exc_info` for a log call that must be safe under any logging configuration, not only configure_logging's."""
    if any(isinstance(e, asyncpg.PostgresError) for e in _chain(error)):
        return ScrubbedError, _scrubbed(error), error.__traceback__
    return type(error), error, error.__traceback__
