"""The unit of work every command-handling service uses: its pool and event store, and one transaction in which
a use case writes its own tables and appends its events (ARCHITECTURE §2)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg

from shared.eventstore import EventStore


@dataclass(frozen=True)
class UnitOfWork:
    pool: asyncpg.Pool
    store: EventStore

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        async with self.pool.acquire() as conn, conn.transaction():
            yield conn
