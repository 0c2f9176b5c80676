"""A service's event store in PostgreSQL: append with optimistic concurrency, read a stream, read the log.

Appends to different streams run in parallel: there is no store-wide lock (ADR 0010). Following `position` alone
would then be unsafe: a transaction that took position 41 can commit *after* one that took 42, and a reader that had
already moved past 42 would never see 41 (the late-commit trap in ARCHITECTURE §2). So a follower (the relay) reads
the log in `(log_xid, position)` order and only below the *visibility horizon*, the oldest transaction id still
running in this database (`log_sql`): whatever commits later carries a `log_xid` at or above that horizon, so it
sorts after everything the reader has passed. `log_xid` is the appending transaction's id, or the stream's previous
event's if that is greater, so one stream's versions stay in log order too.
"""

from __future__ import annotations

import json
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

import asyncpg
import orjson
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from shared import chain, sealing
from shared.db import SHARED_SQL, advisory_key, check_identifier
from shared.envelope import Envelope
from shared.events import Event
from shared.keys import KeyStore, MasterKeys, PostgresKeyStore
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
    bodies: Sequence[bytes] | None = None,
) -> None:
    """Refuse (EventTooLarge) any new event whose Kafka record, sized as the producer sizes it, would not fit.

    The relay sends the body as PostgreSQL renders the stored jsonb (`", "` and `": "` separators), which is at most
    twice the compact JSON in `bodies`: an event whose compact body is under half the room left needs no exact
    sizing, which keeps the per-event encode off the hot path of ordinary (small) events."""
    for index, (version, event_id, type_name, body, prev_hash, digest) in enumerate(rows):
        if bodies is not None and 2 * len(bodies[index]) + 4 * PUBLISH_HEADROOM_BYTES < limit:
            continue
        rendered = json.dumps(body, ensure_ascii=False, separators=(", ", ": ")).encode()
        envelope = StoredEvent(0, stream_id, version, event_id, type_name, body, metadata, now, prev_hash, digest)
        record = envelope.envelope(source="", body=rendered)
        size = DefaultRecordBatchBuilder.estimate_size_in_bytes(
            record.kafka_key(), record.kafka_value(), record.kafka_headers()
        )
        if size + PUBLISH_HEADROOM_BYTES > limit:
            raise EventTooLarge(type_name, size + PUBLISH_HEADROOM_BYTES, limit)


class ConcurrencyError(Exception):
    """The stream moved on since the caller read it: reload and decide again. `actual` is the version found, or, when
    another transaction won the race for the same version at insert time, the least version the stream is at."""

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
    log_xid: int = 0  # the log's order is (log_xid, position): see the module docstring

    @property
    def log_position(self) -> LogCursor:
        return LogCursor(self.log_xid, self.position)

    def envelope(self, source: str, body: bytes | None = None) -> Envelope:
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
            body=body,
        )


class LogCursor(NamedTuple):
    """A place in the log, in the order a follower reads it: (log_xid, position). Tuples compare as the log sorts."""

    xid: int
    position: int


LOG_START = LogCursor(0, 0)


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
        """Every committed event after `position`, in position order: for auditors and tests. A follower that must
        not miss a late commit reads `read_log` instead."""

    @abstractmethod
    async def read_log(self, after: LogCursor, limit: int = 1000) -> list[StoredEvent]:
        """The log after `after` in log order, up to the visibility horizon: a follower that moves its cursor to the
        last event returned (`StoredEvent.log_position`) never skips an event committed later."""


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

    def __init__(
        self,
        pool: asyncpg.Pool,
        schema: str,
        *,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        keys: KeyStore | None = None,
    ):
        self.pool, self.max_event_bytes = pool, max_event_bytes
        # Per-person keys: the fields shared/sealing.SEALED names are sealed before they are hashed (issue #19).
        self.keys = keys or PostgresKeyStore(MasterKeys.from_settings())
        self.schema = check_identifier(schema)
        self.notify_channel = f"tandem_events_{schema}"
        # One statement reads the stream's head, checks the expected version, finishes each event's hash (Python sends
        # the canonical form up to its version: shared/chain.versionless), inserts, and wakes the relay (pg_notify in
        # FROM runs once, void, one row). Nothing is inserted when the head is not at $8 (NULL: wherever it is).
        self._append_sql = f"""WITH RECURSIVE
            head AS (SELECT version, hash, log_xid FROM {schema}.events WHERE stream_id = $1
                     ORDER BY version DESC LIMIT 1),
            base AS (SELECT coalesce((SELECT version FROM head), 0) AS version,
                            coalesce((SELECT hash FROM head), '{chain.GENESIS}') AS hash,
                            coalesce((SELECT log_xid FROM head), '0'::xid8) AS log_xid),
            new AS (SELECT n, id, t, d, c FROM unnest($2::uuid[], $3::text[], $4::text[], $5::bytea[])
                    WITH ORDINALITY AS x(id, t, d, c, n)),
            links (n, version, prev, hash) AS (
                SELECT 1::bigint, b.version + 1, b.hash, encode(sha256(
                    convert_to(b.hash || '|', 'UTF8') || new.c || convert_to((b.version + 1)::text || '}}', 'UTF8')
                ), 'hex')
                FROM base b JOIN new ON new.n = 1 WHERE $8::int IS NULL OR b.version = $8::int
                UNION ALL
                SELECT l.n + 1, l.version + 1, l.hash, encode(sha256(
                    convert_to(l.hash || '|', 'UTF8') || new.c || convert_to((l.version + 1)::text || '}}', 'UTF8')
                ), 'hex')
                FROM links l JOIN new ON new.n = l.n + 1),
            appended AS (
                INSERT INTO {schema}.events
                    (stream_id, version, event_id, type, data, metadata, recorded_at, prev_hash, hash, log_xid)
                SELECT $1, l.version, new.id, new.t, new.d::jsonb, $6::jsonb, $7, l.prev, l.hash,
                       greatest(pg_current_xact_id(), (SELECT log_xid FROM base))
                FROM links l JOIN new USING (n) ORDER BY l.n
                RETURNING position)
            SELECT (SELECT version FROM base) AS current, (SELECT min(position) FROM appended) AS first,
                   (SELECT max(position) FROM appended) AS last
            FROM pg_notify($9, '')"""

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
        types = [event.type_name for event in events]
        data = [event.model_dump(mode="json") for event in events]
        async with self._transaction(conn) as tx:
            if subjects := sealing.subjects(zip(types, data, strict=True)):
                # The keys are created in this transaction: an event never outlives a rolled-back key.
                ring = await self.keys.keys(tx, subjects, create=True)
                data = [sealing.seal(t, d, ring) for t, d in zip(types, data, strict=True)]
            bodies = [orjson.dumps(d) for d in data]
            # Sized before the version and hashes are known, with placeholders as long as any real ones.
            sizing = [
                (2**31 - 1, i, t, d, chain.GENESIS, chain.GENESIS) for i, t, d in zip(ids, types, data, strict=True)
            ]
            check_sizes(stream_id, sizing, metadata, now, self.max_event_bytes, bodies)
            versionless = [chain.versionless(stream_id, i, t, d, now) for i, t, d in zip(ids, types, data, strict=True)]
            if expected_version is None:
                # "Whatever it is now" must not race another such append to this stream into a unique violation:
                # serialise appends to this one stream only, until commit. The append's own statement comes after
                # the wait, so its snapshot sees the head the previous holder committed.
                await tx.execute("SELECT pg_advisory_xact_lock($1)", advisory_key(f"append:{self.schema}:{stream_id}"))
            try:
                row = await tx.fetchrow(
                    self._append_sql,
                    stream_id,
                    ids,
                    types,
                    [b.decode() for b in bodies],
                    versionless,
                    orjson.dumps(metadata).decode(),
                    now,
                    expected_version,
                    self.notify_channel,
                )
            except asyncpg.UniqueViolationError as error:
                if error.constraint_name != "events_stream_version":
                    raise
                # Another transaction appended the same version after our head read and committed first.
                raise ConcurrencyError(stream_id, expected_version, (expected_version or 0) + 1) from error
        current = row["current"]
        if row["first"] is None:
            raise ConcurrencyError(stream_id, expected_version, current)
        return AppendResult(
            stream_id=stream_id,
            version=current + len(events),
            first_position=row["first"],
            last_position=row["last"],
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

    async def read_log(self, after: LogCursor, limit: int = 1000) -> list[StoredEvent]:
        rows = await self.pool.fetch(self.log_sql("*"), after.xid, after.position, limit)
        return [stored_event(r) for r in rows]

    def log_sql(self, columns: str) -> str:
        """The follower's query ($1 xid, $2 position, $3 limit), selecting `columns`: after the cursor, below the
        horizon (rows of transactions still running, and of any that will start, all sort at or after it).

        The horizon is the oldest transaction of the statement's snapshot that may write here: transaction ids are
        cluster-wide, but a backend connected to another database cannot write this table, so its transactions are
        left out (a transaction whose database cannot be told, e.g. one that just ended, still counts). Transactions
        starting later get ids at or above the snapshot's xmax."""
        return f"""WITH snap AS (SELECT pg_current_snapshot() AS s),
                 horizon AS (
                    SELECT least(pg_snapshot_xmax(s), (
                        SELECT min(x) FROM pg_snapshot_xip(s) AS x
                        WHERE NOT EXISTS (
                            SELECT 1 FROM pg_stat_activity a
                            WHERE a.backend_xid = xid(x) AND a.datname IS DISTINCT FROM current_database()))) AS h
                    FROM snap)
                 SELECT {columns} FROM {self.schema}.events
                 WHERE (log_xid, position) > ($1::xid8, $2)
                   AND log_xid < (SELECT h FROM horizon)
                 ORDER BY log_xid, position LIMIT $3"""

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

    async def read_log(self, after: LogCursor, limit: int = 1000) -> list[StoredEvent]:
        return [e for e in self.events if e.log_position > after][:limit]  # one writer: log_xid 0, position order

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
        log_xid=row["log_xid"],
    )
