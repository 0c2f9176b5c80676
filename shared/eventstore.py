"""A service's event store in PostgreSQL: append with optimistic concurrency, read a stream, read the log.

Appends to one store are serialised by a transaction-scoped advisory lock. That is what makes `position`
safe to follow: without it, a transaction that took position 41 could commit *after* one that took 42, and
a reader that had already moved past 42 would never see 41 (the late-commit trap in ARCHITECTURE §2).
Holding the lock from before `nextval` until commit means positions become visible in order. Appends are
short, so the cost is small next to the network round trip of a command.
"""

from __future__ import annotations

import json
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from shared import chain
from shared.db import SHARED_SQL, advisory_key, check_identifier
from shared.envelope import Envelope
from shared.events import Event
from shared.observability import event_metadata

MIGRATIONS = SHARED_SQL / "eventstore"


DEFAULT_MAX_EVENT_BYTES = 1024 * 1024  # aiokafka's default max_request_size; KafkaSettings.kafka_max_request_size
# Headers the relay sets when it publishes and the store cannot size yet: the source, the event's position (known
# after the insert) and the trace context; generous, so an event that is stored can always be published.
PUBLISH_HEADROOM_BYTES = 1024


class EventTooLarge(ValueError):
    """An event whose serialized record would exceed the Kafka producer's `max_request_size`: stored, it could
    never be published, and the relay, which publishes in position order, would stop there for good."""

    def __init__(self, type_name: str, size: int, limit: int):
        super().__init__(f"a {type_name} event would be {size} bytes on Kafka, over the limit of {limit} bytes")
        self.type_name, self.size, self.limit = type_name, size, limit


def check_sizes(
    stream_id: str,
    rows: Sequence[tuple[int, str, str, dict[str, Any], str, str]],
    metadata: dict,
    now: datetime,
    limit: int,
) -> None:
    """Refuse (EventTooLarge) any new event whose Kafka record, sized as the producer sizes it, would not fit."""
    for version, event_id, type_name, body, prev_hash, digest in rows:
        envelope = StoredEvent(0, stream_id, version, event_id, type_name, body, metadata, now, prev_hash, digest)
        record = envelope.envelope(source="")
        size = DefaultRecordBatchBuilder.estimate_size_in_bytes(
            record.kafka_key(), record.kafka_value(), record.kafka_headers()
        )
        if size + PUBLISH_HEADROOM_BYTES > limit:
            raise EventTooLarge(type_name, size + PUBLISH_HEADROOM_BYTES, limit)


class ConcurrencyError(Exception):
    """The stream moved on since the caller read it: reload and decide again."""

    def __init__(self, stream_id: str, expected: int | None, actual: int):
        super().__init__(f"stream {stream_id!r} is at version {actual}, expected {expected}")
        self.stream_id, self.expected, self.actual = stream_id, expected, actual


@dataclass(frozen=True)
class StoredEvent:
    position: int
    stream_id: str
    version: int
    event_id: str
    type: str
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: datetime
    prev_hash: str = chain.GENESIS
    hash: str = ""

    def envelope(self, source: str) -> Envelope:
        return Envelope(
            event_id=self.event_id,
            type=self.type,
            source=source,
            subject=self.stream_id,
            stream_version=self.version,
            time=self.recorded_at,
            data=self.data,
            correlation_id=self.metadata.get("correlation_id"),
            causation_id=self.metadata.get("causation_id"),
            position=self.position,
            prev_hash=self.prev_hash,
            hash=self.hash,
            traceparent=self.metadata.get("traceparent"),
            tracestate=self.metadata.get("tracestate"),
        )


@dataclass(frozen=True)
class AppendResult:
    """Where the events landed: lets an HTTP response tell the client what to wait for."""

    stream_id: str
    version: int
    first_position: int
    last_position: int
    event_ids: tuple[str, ...]


class EventStore(ABC):
    """The contract every event store keeps (tests/eventstore_contract.py holds both backends to it)."""

    @abstractmethod
    async def append(
        self,
        stream_id: str,
        expected_version: int | None,
        events: Sequence[Event],
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        event_ids: Sequence[str] | None = None,
    ) -> AppendResult:
        """Append `events` after `expected_version` (0 = new stream, None = whatever it is now); raise
        ConcurrencyError when the stream is elsewhere.

        `correlation_id`/`causation_id` not given are those of the current scope (shared.observability: the
        HTTP request, or the upstream event being handled); the current span's trace context is kept too."""

    @abstractmethod
    async def read_stream(self, stream_id: str) -> list[StoredEvent]:
        """One stream's events in version order."""

    @abstractmethod
    async def read_after(self, position: int, limit: int = 1000) -> list[StoredEvent]:
        """The log in position order, for the relay and for auditors."""


def _new_links(
    stream_id: str, current: int, prev_hash: str, events: Sequence[Event], ids: Sequence[str], now: datetime
) -> list[tuple[int, str, str, dict[str, Any], str, str]]:
    """(version, event id, type, body, prev hash, hash) of each new event, continuing the stream's chain."""
    rows = []
    for offset, (event_id, event) in enumerate(zip(ids, events, strict=True)):
        version, body = current + 1 + offset, event.model_dump(mode="json")
        digest = chain.link(prev_hash, stream_id, version, event_id, event.type_name, body, now)
        rows.append((version, event_id, event.type_name, body, prev_hash, digest))
        prev_hash = digest
    return rows


def _event_ids(events: Sequence[Event], event_ids: Sequence[str] | None) -> list[str]:
    if not events:
        raise ValueError("append needs at least one event")
    return [str(i) for i in event_ids] if event_ids else [str(uuid.uuid4()) for _ in events]


class PostgresEventStore(EventStore):
    """Its SQL names its schema, so `append(conn=...)` works on any connection of the database, e.g. a
    policy's, letting it react to an upstream event and record its own in one transaction."""

    def __init__(self, pool: asyncpg.Pool, schema: str, *, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES):
        self.pool, self.max_event_bytes = pool, max_event_bytes
        self.schema = check_identifier(schema)
        self.notify_channel = f"tandem_events_{schema}"
        self._lock_key = advisory_key(f"append:{schema}")

    async def append(
        self,
        stream_id: str,
        expected_version: int | None,
        events: Sequence[Event],
        *,
        conn: asyncpg.Connection | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        event_ids: Sequence[str] | None = None,
    ) -> AppendResult:
        """Append `events` after `expected_version` (0 = new stream, None = whatever it is now).

        Pass `conn` inside an open transaction to commit the events together with the caller's own state
        change; otherwise the append is its own transaction.
        """
        ids = _event_ids(events, event_ids)
        metadata = event_metadata(correlation_id, causation_id)
        now = datetime.now(UTC)
        async with self._transaction(conn) as tx:
            await tx.execute("SELECT pg_advisory_xact_lock($1)", self._lock_key)
            head = await tx.fetchrow(
                f"SELECT version, hash FROM {self.schema}.events WHERE stream_id = $1 ORDER BY version DESC LIMIT 1",
                stream_id,
            )
            current, prev_hash = (head["version"], head["hash"]) if head else (0, chain.GENESIS)
            if expected_version is not None and current != expected_version:
                raise ConcurrencyError(stream_id, expected_version, current)
            rows = _new_links(stream_id, current, prev_hash, events, ids, now)
            check_sizes(stream_id, rows, metadata, now, self.max_event_bytes)
            positions = await tx.fetch(
                f"""INSERT INTO {self.schema}.events
                        (stream_id, version, event_id, type, data, metadata, recorded_at, prev_hash, hash)
                   SELECT $1, v, id, t, d::jsonb, $6::jsonb, $7, p, h
                   FROM unnest($2::int[], $3::uuid[], $4::text[], $5::text[], $8::text[], $9::text[])
                        AS x(v, id, t, d, p, h)
                   ORDER BY v
                   RETURNING position""",
                stream_id,
                [r[0] for r in rows],
                ids,
                [r[2] for r in rows],
                [json.dumps(r[3]) for r in rows],
                json.dumps(metadata),
                now,
                [r[4] for r in rows],
                [r[5] for r in rows],
            )
            await tx.execute("SELECT pg_notify($1, '')", self.notify_channel)
        return AppendResult(
            stream_id=stream_id,
            version=current + len(events),
            first_position=positions[0]["position"],
            last_position=positions[-1]["position"],
            event_ids=tuple(ids),
        )

    async def read_stream(self, stream_id: str) -> list[StoredEvent]:
        rows = await self.pool.fetch(
            f"SELECT * FROM {self.schema}.events WHERE stream_id = $1 ORDER BY version", stream_id
        )
        return [stored_event(r) for r in rows]

    async def read_after(self, position: int, limit: int = 1000) -> list[StoredEvent]:
        rows = await self.pool.fetch(
            f"SELECT * FROM {self.schema}.events WHERE position > $1 ORDER BY position LIMIT $2",
            position,
            limit,
        )
        return [stored_event(r) for r in rows]

    @asynccontextmanager
    async def _transaction(self, conn: asyncpg.Connection | None):
        if conn is not None:
            if not conn.is_in_transaction():
                raise RuntimeError("append(conn=...) must run inside the caller's transaction")
            yield conn
            return
        async with self.pool.acquire() as own, own.transaction():
            yield own


class InMemoryEventStore(EventStore):
    """The same contract in a list, for tests of handlers that need no database. Not shared between processes.

    `snapshot`/`restore` let an in-memory unit of work roll appends back with the rest of its state."""

    def __init__(self, *, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self.events: list[StoredEvent] = []
        self.max_event_bytes = max_event_bytes

    async def append(
        self,
        stream_id: str,
        expected_version: int | None,
        events: Sequence[Event],
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        event_ids: Sequence[str] | None = None,
    ) -> AppendResult:
        ids = _event_ids(events, event_ids)
        if {e.event_id for e in self.events} & set(ids):
            raise ValueError("an event id is already in the store")
        stream = [e for e in self.events if e.stream_id == stream_id]
        current, prev_hash = (stream[-1].version, stream[-1].hash) if stream else (0, chain.GENESIS)
        if expected_version is not None and current != expected_version:
            raise ConcurrencyError(stream_id, expected_version, current)
        now = datetime.now(UTC)
        metadata = event_metadata(correlation_id, causation_id)
        first = len(self.events) + 1
        rows = _new_links(stream_id, current, prev_hash, events, ids, now)
        check_sizes(stream_id, rows, metadata, now, self.max_event_bytes)
        for offset, (version, event_id, type_, body, prev, digest) in enumerate(rows):
            self.events.append(
                StoredEvent(first + offset, stream_id, version, event_id, type_, body, metadata, now, prev, digest)
            )
        return AppendResult(stream_id, current + len(events), first, len(self.events), tuple(ids))

    async def read_stream(self, stream_id: str) -> list[StoredEvent]:
        return [e for e in self.events if e.stream_id == stream_id]

    async def read_after(self, position: int, limit: int = 1000) -> list[StoredEvent]:
        return [e for e in self.events if e.position > position][:limit]

    def snapshot(self) -> int:
        return len(self.events)

    def restore(self, snapshot: int) -> None:
        del self.events[snapshot:]


def stored_event(row: asyncpg.Record) -> StoredEvent:
    return StoredEvent(
        position=row["position"],
        stream_id=row["stream_id"],
        version=row["version"],
        event_id=str(row["event_id"]),
        type=row["type"],
        data=json.loads(row["data"]),
        metadata=json.loads(row["metadata"]),
        recorded_at=row["recorded_at"],
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )
