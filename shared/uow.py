"""The unit of work every command-handling service uses: one transaction in which a use case reads and writes its
own state through repositories and appends its events (ARCHITECTURE §2: state, events and outbox commit together).

Handlers see only `UnitOfWork`: `async with uow:` opens the transaction, leaving the block commits it, an exception
rolls it back. Each service subclasses the two backends once, adding its repositories in `_bind`:

- `PostgresUnitOfWork`: a pooled connection and a transaction, or a transaction someone else opened (`joining`),
  which is how a policy records its command's effects beside the tracking record of the event that caused them;
- `InMemoryUnitOfWork`: plain Python state, snapshotted on entry and restored on rollback, so handlers and HTTP
  routes are tested without servers. tests/contracts/ holds both backends to the same tests.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self

import asyncpg

from shared.events import Event
from shared.eventstore import AppendResult, InMemoryEventStore, PostgresEventStore
from shared.keys import InMemoryKeyStore


class UnitOfWork(ABC):
    @abstractmethod
    async def __aenter__(self) -> Self: ...

    @abstractmethod
    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    @abstractmethod
    async def append(self, stream_id: str, expected_version: int | None, events: Sequence[Event]) -> AppendResult:
        """Append to the service's event store inside this unit of work's transaction."""

    @abstractmethod
    async def destroy_keys(self, subjects: Sequence[str]) -> int:
        """Crypto-shred: destroy the subjects' keys (shared/keys.py) inside this transaction; how many were live."""


class PostgresUnitOfWork(UnitOfWork):
    def __init__(self, pool: asyncpg.Pool, store: PostgresEventStore, *, conn: asyncpg.Connection | None = None):
        self.pool, self.store = pool, store
        self._joined = conn  # a connection whose transaction the caller owns
        self.conn: asyncpg.Connection

    def joining(self, conn: asyncpg.Connection) -> Self:
        """The same unit of work inside `conn`'s open transaction: it neither commits nor rolls back."""
        joined = copy.copy(self)
        joined._joined = conn
        return joined

    @abstractmethod
    def _bind(self, conn: asyncpg.Connection) -> None:
        """Create the service's repositories on `conn`."""

    async def __aenter__(self) -> Self:
        if self._joined is not None:
            self.conn = self._joined
        else:
            self.conn = await self.pool.acquire()
            self._transaction = self.conn.transaction()
            await self._transaction.start()
        self._bind(self.conn)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._joined is not None:
            return
        try:
            if error is None:
                await self._transaction.commit()
            else:
                await self._transaction.rollback()
        finally:
            await self.pool.release(self.conn)

    async def append(self, stream_id: str, expected_version: int | None, events: Sequence[Event]) -> AppendResult:
        return await self.store.append(stream_id, expected_version, events, conn=self.conn)

    async def destroy_keys(self, subjects: Sequence[str]) -> int:
        return await self.store.keys.destroy(self.conn, subjects)


class InMemoryUnitOfWork(UnitOfWork):
    """State lives in `self.state` (dicts and lists of immutable values); `_bind` builds repositories over it."""

    def __init__(self, state: Any, store: InMemoryEventStore | None = None):
        self.state, self.store = state, store or InMemoryEventStore()
        self.keys = InMemoryKeyStore()  # the in-memory store seals nothing; this records what erasures destroy
        self.commits = 0

    @abstractmethod
    def _bind(self, state: Any) -> None:
        """Create the service's repositories over `state`."""

    async def __aenter__(self) -> Self:
        self._saved = copy.deepcopy(self.state), self.store.snapshot()
        self._bind(self.state)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if error is None:
            self.commits += 1
            return
        state, events = self._saved
        self.state.__dict__.update(state.__dict__)
        self.store.restore(events)

    async def append(self, stream_id: str, expected_version: int | None, events: Sequence[Event]) -> AppendResult:
        return await self.store.append(stream_id, expected_version, events)

    async def destroy_keys(self, subjects: Sequence[str]) -> int:
        return await self.keys.destroy(None, subjects)
