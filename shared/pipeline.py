"""Batched writes for projections (issue #18, docs/adr/0009): the connection a projection's handlers see while the
runner applies a batch.

A handler is still written per event (`await conn.execute(sql, *args)`), but a write does not cost a round trip:
the statement is queued, and consecutive writes with the same SQL text become one `executemany`, which asyncpg
sends as one pipeline (Bind/Execute messages back to back, one Sync). Order is kept exactly: a different
statement, a read (`fetch*`), a savepoint or the end of the batch first sends what is queued, so a handler always
reads its own writes and statements run in the order the handlers issued them. Only consecutive runs are merged,
never statements reordered, so a projection's semantics do not depend on how the runner groups.

Two consequences a projection must respect: an `execute` with arguments returns no status (it has not run yet;
use `fetchval(... RETURNING ...)` to learn what a write did), and its error surfaces at the next flush, not at the
call (the runner then applies the batch again one event at a time to find the event at fault).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg


class PipelinedConnection:
    """Wraps an asyncpg connection: writes with arguments are queued and merged; anything else flushes first."""

    def __init__(self, conn: asyncpg.Connection):
        self.raw = conn
        self._runs: list[tuple[str, list[Sequence[Any]]]] = []  # (sql, argument rows), in the order issued
        self.pipelines = 0  # pipelines sent (for tests and the bench: how well a batch grouped)

    async def execute(self, query: str, *args: Any) -> str:
        if not args:  # possibly several statements (simple query protocol): cannot be pipelined
            await self.flush()
            return await self.raw.execute(query)
        self._queue(query, [args])
        return ""

    async def executemany(self, query: str, args: Iterable[Sequence[Any]]) -> None:
        self._queue(query, list(args))

    def _queue(self, query: str, rows: list[Sequence[Any]]) -> None:
        if self._runs and self._runs[-1][0] == query:
            self._runs[-1][1].extend(rows)
        else:
            self._runs.append((query, rows))

    async def flush(self) -> None:
        """Send every queued run, in order; one `executemany` (one pipeline) per run."""
        runs, self._runs = self._runs, []
        for sql, rows in runs:
            self.pipelines += 1
            if len(rows) == 1:
                await self.raw.execute(sql, *rows[0])
            else:
                await self.raw.executemany(sql, rows)

    def discard(self) -> None:
        """Forget the queued writes: their savepoint or transaction is being rolled back."""
        self._runs = []

    def transaction(self, **options: Any) -> _FlushingTransaction:
        return _FlushingTransaction(self, options)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.raw, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute

        async def flushed_first(*args: Any, **kwargs: Any) -> Any:
            await self.flush()
            return await attribute(*args, **kwargs)

        return flushed_first


class _FlushingTransaction:
    """A savepoint (or transaction) that sends the writes queued before it on entry, and those queued inside it
    before it is released; on an error they are discarded, as the rollback would undo them."""

    def __init__(self, conn: PipelinedConnection, options: dict[str, Any]):
        self.conn, self.inner = conn, conn.raw.transaction(**options)

    async def __aenter__(self) -> _FlushingTransaction:
        await self.conn.flush()
        await self.inner.__aenter__()
        return self

    async def __aexit__(self, kind: Any, error: Any, traceback: Any) -> bool | None:
        if kind is None:
            try:
                await self.conn.flush()
            except BaseException as failure:
                self.conn.discard()
                await self.inner.__aexit__(type(failure), failure, failure.__traceback__)
                raise
        else:
            self.conn.discard()
        return await self.inner.__aexit__(kind, error, traceback)
