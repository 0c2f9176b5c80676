"""Projections: Kafka events into PostgreSQL read models, with exactly-once *effects*; and policies, which react to
an upstream event by deciding something (a command with its own events).

For each batch of one partition, one PostgreSQL transaction holds the read-model changes, the policies' effects,
each stream's last applied version and `(projection, topic, partition) -> next offset`. On partition assignment
the runner seeks to the stored offset, so Kafka's committed group offsets never decide correctness; an event at or
below its stream's last applied version (a relay redelivery, a replay after a crash, an older version arriving
late) is skipped. Tracking is bounded: one row per stream, not one per event (docs/adr/0009). The batch's
read-model writes are pipelined: handlers are written per event, and consecutive writes with the same SQL go to
PostgreSQL as one `executemany` (shared/pipeline.py). Records that are not valid Tandem events go to the
dead-letter topic with the error (reason `parse`), and the projection goes on. When the batch fails for a reason
of a record's own (a NUL character, an integer out of range, a rule) it is applied again one savepoint per event:
the refused one is rolled back alone and dead-lettered (reason `apply`), the rest of the batch, and the other
partitions, go on; its version and offset are still recorded. Errors that say PostgreSQL is away or busy are not
the record's fault: they fail the batch, which is retried. Records whose type no contract knows are counted
(`tandem_projection_unknown_types_total`) and skipped.

A projection names each event it consumes once, on its handler (`@on(ProgramLaunched)`); what it consumes, and so
the topics it reads, follow from that. A read model is a pure function of the log: decisions belong to a `Policy`,
which the runner applies after the projection in the same transaction, with the causing event as causation. A
replay runs projections only, so it rebuilds read models without deciding anything again.

We drive aiokafka directly rather than through a FastStream subscriber because the runner must seek inside
the rebalance callback and commit per partition batch in PostgreSQL; see docs/adr/0001.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, cast

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener

from shared import collector, sealing
from shared.connections import Connections
from shared.db import SHARED_SQL, advisory_key, check_identifier
from shared.envelope import Envelope, MalformedRecord
from shared.events import EVENT_TYPES, Event, current_type
from shared.eventstore import ConcurrencyError
from shared.health import TaskHealth
from shared.keys import KeyRing, KeyStore, MasterKeys, PostgresKeyStore
from shared.logreader import partitions_of
from shared.metrics import (
    PROJECTION_APPLIED,
    PROJECTION_DEAD_LETTERS,
    PROJECTION_DUPLICATES,
    PROJECTION_UNKNOWN_TYPES,
)
from shared.observability import caused_by
from shared.pipeline import PipelinedConnection
from shared.records import envelope_of, typed_event
from shared.scrub import scrub
from shared.topics import dead_letter_topic, events_topic

log = logging.getLogger(__name__)

TRACKING_MIGRATIONS = SHARED_SQL / "projection"
Handler = Callable[[Any, asyncpg.Connection, Any, Envelope], Awaitable[None]]
Parsed = tuple[ConsumerRecord, Envelope, Event]
Stream = tuple[str, str]  # (source, stream id)


class ForeignPublisher(MalformedRecord):
    """A well-formed event from someone other than its contract's publisher: dead-lettered, never applied."""


def refuse_foreign_publisher(envelope: Envelope, event: Event, topic: str, prefix: str) -> None:
    """An event type is accepted only from its owner (`Event.service`): its `ce_source` must be that service's,
    and on the platform's event topics it must arrive on the owner's topic. Anyone able to produce to a topic
    could otherwise slip in, say, a PairFormed claiming to come from enrolment and enter sessions' pairs."""
    owner = type(event).service
    if envelope.source != f"/tandem/{owner}":
        raise ForeignPublisher(f"{envelope.type} is published by {owner}, not by source {envelope.source[:100]!r}")
    if topic in _platform_topics(prefix) and topic != events_topic(owner, prefix):
        raise ForeignPublisher(f"{envelope.type} belongs on {events_topic(owner, prefix)}, not on {topic}")


@cache
def _platform_topics(prefix: str) -> frozenset[str]:
    """Computed once per prefix: it was a fifth of a projection's CPU when built for every record."""
    return frozenset(events_topic(cls.service, prefix) for cls in EVENT_TYPES.values())


def on(*event_types: type[Event]) -> Callable[[Handler], Handler]:
    """Marks a method of a projection or policy as the handler of these event types."""

    def mark(handler: Handler) -> Handler:
        handler.__dict__["handles_events"] = event_types
        return handler

    return mark


class EventHandlers:
    """What projections and policies share: `@on` handlers, from which the consumed types and topics follow."""

    name: ClassVar[str]
    handlers: ClassVar[dict[str, str]] = {}  # CloudEvents type -> method name
    handles: ClassVar[frozenset[str]] = frozenset()  # types it applies; the runner skips the rest

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers = {
            event.type_name: attribute
            for klass in reversed(cls.__mro__)
            for attribute, member in vars(klass).items()
            for event in getattr(member, "handles_events", ())
        }
        if handlers:
            cls.handlers, cls.handles = handlers, frozenset(handlers)

    @classmethod
    def consumes(cls) -> list[type[Event]]:
        return [EVENT_TYPES[t] for t in sorted(cls.handles)]

    def topics(self, prefix: str) -> list[str]:
        """The publishers' topics of the event types it handles."""
        return sorted({events_topic(event.service, prefix) for event in self.consumes()})

    async def apply(self, conn: asyncpg.Connection, envelope: Envelope, event: Event) -> None:
        """Change the read model (or decide) for one event, on `conn`, inside the runner's transaction."""
        await getattr(self, self.handlers[event.type_name])(conn, event, envelope)


class Projection(EventHandlers):
    """A read model: its tables (SQL migrations) and one handler per event type that changes them.

    `parallel_replay`: a catch-up may apply different partitions' batches in concurrent transactions. Allowed
    when every handler's statements give the same result whatever the order of concurrent transactions: each
    writes rows of its own stream, or is one order-independent upsert (INSERT .. ON CONFLICT, `x = x + 1`);
    not when a handler reads rows that another stream's events write and then writes from what it read (under
    READ COMMITTED two concurrent batches could both read the old value)."""

    migrations: Path | None = None
    parallel_replay: ClassVar[bool] = False


class Policy(EventHandlers):
    """A reaction that decides: on an upstream event it runs a command handler, joined to the runner's transaction,
    so the command's effects commit with the tracking record (exactly once) and name the event as their cause.

    `projection` names the read model whose runner (and transaction) it shares: the policy decides on exactly the
    state that read model has when the event arrives."""

    projection: ClassVar[str]


class ProjectionRunner:
    """Runs one projection (and the policies that react to the same events) over the process's connections.

    `schema` is where the read model and its tracking rows live; every batch sets it as the transaction's search
    path, so a replay into a fresh schema shares the process's one pool."""

    def __init__(
        self,
        projection: Projection,
        connections: Connections,
        *,
        schema: str | None = None,
        policies: Sequence[Policy] = (),
        topics: Sequence[str] | None = None,
        group_id: str | None = None,
        max_records: int = 500,
        on_batch: Callable[[int], None] | None = None,
        health: TaskHealth | None = None,
        keys: KeyStore | None = None,
    ):
        self.projection, self.policies, self.connections = projection, list(policies), connections
        self.keys = keys or PostgresKeyStore(MasterKeys.from_settings())
        self.schema = check_identifier(schema or connections.schema)
        prefix = self.topic_prefix = connections.kafka.topic_prefix
        self.topics = list(topics) if topics is not None else projection.topics(prefix)
        self.handles = projection.handles.union(*(p.handles for p in self.policies))
        self.dead_letter_topic = dead_letter_topic(prefix)
        self.group_id = group_id or f"{prefix}.{self.schema}.{projection.name}"
        self.max_records = max_records
        self.on_batch = on_batch  # told how many records each handled batch held (progress bars)
        self._consumer_in_use: AIOKafkaConsumer | None = None
        self._next_offsets: dict[TopicPartition, int] = {}
        self.applied = 0
        self.health = health
        self.dead_letters: Counter[str] = Counter()  # reason (parse | apply) -> records, since this process started
        self.unknown_types = 0
        self._unknown_logged: set[str] = set()
        self._has_legacy: bool | None = None  # rows in the pre-upgrade id table, asked once

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the topics as a member of the consumer group until `stop` is set.

        The batch in flight when `stop` is set is finished and committed before returning.
        """
        consumer = self._consumer(group_id=self.group_id)
        consumer.subscribe(self.topics, listener=_SeekToStoredOffsets(self, consumer))
        await consumer.start()
        self._consumer_in_use = consumer
        try:
            polled: dict[TopicPartition, int | None] = {}
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=500, max_records=self.max_records)
                for tp, records in batches.items():
                    await self.handle_batch(tp, records)
                if self.health and (batches or _fetched_since(consumer, polled)):
                    self.health.succeeded()
        finally:
            self._consumer_in_use = None
            await consumer.stop()

    def lag(self) -> int:
        """Records on the assigned partitions not yet applied (as of the last fetch); 0 when idle."""
        consumer = self._consumer_in_use
        if consumer is None:
            return 0
        behind = 0
        for tp in consumer.assignment():
            highwater, next_offset = consumer.highwater(tp), self._next_offsets.get(tp)
            if highwater is not None and next_offset is not None:
                behind += max(0, highwater - next_offset)
        return behind

    async def catch_up(self, on_start: Callable[[int], None] | None = None, share: tuple[int, int] = (0, 1)) -> int:
        """Apply everything up to the topics' current ends, without a consumer group; return events applied.

        Used to rebuild a read model from offset 0 into a fresh schema, and by auditors' replays. `on_start` is
        told how many records lie ahead (a progress bar's total). When the projection allows it
        (`parallel_replay`) and no policy shares the runner, the partitions of each fetch are applied
        concurrently, each in its own transaction: PostgreSQL works on one partition's batch while this process
        reads the next. `share` (index, count): only every count-th partition from the index-th, for one of
        `count` processes replaying together.
        """
        consumer = self._consumer(group_id=None)
        await consumer.start()
        try:
            partitions = [tp for topic in self.topics for tp in await partitions_of(consumer, topic)]
            index, count = share
            partitions = partitions[index::count]
            consumer.assign(partitions)
            await self.seek_to_stored(consumer, partitions)
            ends = await consumer.end_offsets(partitions)
            if on_start:
                on_start(sum(max(0, ends[tp] - self._next_offsets.get(tp, 0)) for tp in partitions))
            parallel = self.projection.parallel_replay and not self.policies
            before = self.applied
            while await _behind(consumer, ends):
                batches = await consumer.getmany(timeout_ms=500, max_records=self.max_records)
                work = [(tp, [r for r in records if r.offset < ends[tp]]) for tp, records in batches.items()]
                if parallel and len(work) > 1:
                    await asyncio.gather(*(self._handle_retrying(tp, records) for tp, records in work))
                else:
                    for tp, records in work:
                        await self.handle_batch(tp, records)
            return self.applied - before
        finally:
            await consumer.stop()

    async def _handle_retrying(self, tp: TopicPartition, records: list[ConsumerRecord], attempts: int = 5) -> None:
        """Concurrent partitions may meet on a shared row in opposite orders: PostgreSQL then aborts one of them
        (deadlock, serialization failure) and the whole batch is simply applied again; it committed nothing."""
        for attempt in range(attempts):
            try:
                return await self.handle_batch(tp, records)
            except asyncpg.PostgresError as error:
                if getattr(error, "sqlstate", "")[:2] != "40" or attempt == attempts - 1:
                    raise
                log.info("projection %s: %s on %s, applying the batch again", self.projection.name, error.sqlstate, tp)

    async def handle_batch(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        if not records:
            return
        # A batch's envelopes and events are thousands of objects that live until it commits: collections meanwhile
        # would walk them to free nothing (with the collector on, a catch-up ran at two thirds of the rate).
        with collector.paused():
            await self._handle(tp, records)

    async def _handle(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        name = self.projection.name
        opened = [e for e in [await self._envelope(r) for r in records] if e is not None]
        # One query for the keys of the batch's sealed fields (issue #19): opened here, where records become events.
        subjects = sealing.sealed_subjects((envelope.type, envelope.data) for _, envelope in opened)
        ring = await self.keys.keys(self.connections.pool, subjects, create=False) if subjects else KeyRing()
        parsed = [p for p in [await self._typed(r, e, ring) for r, e in opened] if p is not None]
        async with self.connections.pool.acquire() as conn, conn.transaction():
            # The partition's lock: during a rebalance two members may briefly hold it; the second waits, then its
            # reads below (a fresh snapshot per statement) see what the first committed, so nothing applies twice.
            lock = advisory_key(f"projection:{self.schema}:{name}:{tp.topic}:{tp.partition}")
            await conn.execute(f"SET LOCAL search_path TO {self.schema}, public; SELECT pg_advisory_xact_lock({lock})")
            batch, versions = await self._fresh(conn, parsed)
            refused = await self._apply_batch(conn, batch)
            applied, duplicates = len(batch) - refused, len(parsed) - len(batch)
            # One statement records the streams' versions and the partition's next offset. GREATEST: never move
            # backwards (an older version, or the second of two members during a rebalance).
            await conn.execute(
                """WITH streams AS (
                       INSERT INTO projection_streams (projection, source, stream_id, last_version)
                       SELECT $1, source, stream_id, version
                       FROM unnest($5::text[], $6::text[], $7::bigint[]) AS v(source, stream_id, version)
                       ON CONFLICT (projection, source, stream_id) DO UPDATE
                       SET last_version = GREATEST(projection_streams.last_version, EXCLUDED.last_version))
                   INSERT INTO projection_offsets (projection, topic, partition, next_offset)
                   VALUES ($1, $2, $3, $4)
                   ON CONFLICT (projection, topic, partition) DO UPDATE
                   SET next_offset = GREATEST(projection_offsets.next_offset, EXCLUDED.next_offset),
                       updated_at = now()""",
                name,
                tp.topic,
                tp.partition,
                records[-1].offset + 1,
                [source for source, _ in versions],
                [stream for _, stream in versions],
                list(versions.values()),
            )
        self.applied += applied
        self._next_offsets[tp] = records[-1].offset + 1
        if self.on_batch:
            self.on_batch(len(records))
        PROJECTION_APPLIED.labels(name).inc(applied)
        PROJECTION_DUPLICATES.labels(name).inc(duplicates)
        if duplicates:
            log.info("projection %s: skipped %d redelivered events on %s", name, duplicates, tp)

    async def _fresh(self, conn: asyncpg.Connection, parsed: list[Parsed]) -> tuple[list[Parsed], dict[Stream, int]]:
        """The records never applied, in order, and each stream's last version after them.

        A record is applied when its version is above the last its stream has applied: a redelivery (same events,
        new offsets, after a relay crash), a replay over a live schema or an older version arriving late is
        skipped. One round trip reads the batch's streams; a duplicate inside the batch is caught by the running
        maximum."""
        streams = sorted({(envelope.source, envelope.stream_id) for _, envelope, _ in parsed})
        rows = await conn.fetch(
            """SELECT s.source, s.stream_id, s.last_version
               FROM unnest($2::text[], $3::text[]) AS b(source, stream_id)
               JOIN projection_streams s ON s.projection = $1 AND s.source = b.source AND s.stream_id = b.stream_id""",
            self.projection.name,
            [source for source, _ in streams],
            [stream for _, stream in streams],
        )
        last: dict[Stream, int] = {(r["source"], r["stream_id"]): r["last_version"] for r in rows}
        legacy = await self._legacy_applied(conn, [p for p in parsed if (p[1].source, p[1].stream_id) not in last])
        versions: dict[Stream, int] = {}
        fresh = []
        for record in parsed:
            envelope = record[1]
            stream, version = (envelope.source, envelope.stream_id), envelope.stream_version
            if version > last.get(stream, 0):
                last[stream] = versions[stream] = version
                if envelope.event_id not in legacy:
                    fresh.append(record)
        return fresh, versions

    async def _legacy_applied(self, conn: asyncpg.Connection, parsed: list[Parsed]) -> set[str]:
        """Ids among these (of streams with no version row yet) that were applied before tracking was bounded:
        the pre-upgrade table, read-only, asked only while this projection has rows there (ADR 0009)."""
        if self._has_legacy is None:
            self._has_legacy = await conn.fetchval(
                """SELECT to_regclass('projection_applied_events_legacy') IS NOT NULL
                          AND EXISTS (SELECT 1 FROM projection_applied_events_legacy WHERE projection = $1)""",
                self.projection.name,
            )
        if not self._has_legacy or not parsed:
            return set()
        return {
            r["event_id"]
            for r in await conn.fetch(
                "SELECT event_id FROM projection_applied_events_legacy WHERE projection = $1 AND event_id = ANY($2)",
                self.projection.name,
                [envelope.event_id for _, envelope, _ in parsed],
            )
        }

    async def _apply_batch(self, conn: asyncpg.Connection, batch: list[Parsed]) -> int:
        """Apply the batch under one savepoint, the read model's writes pipelined (shared/pipeline.py). Only when
        a record is refused (its apply fails for a reason of its own: NUL in text, an integer out of range) is the
        batch applied again one savepoint per record, so the rest still commits and the refused one alone is
        dead-lettered. Returns how many were refused."""
        pipelined = PipelinedConnection(conn)
        try:
            async with conn.transaction():
                for _, envelope, event in batch:
                    with caused_by(envelope):
                        await self._apply(pipelined, envelope, event)
                await pipelined.flush()
            return 0
        except Exception as error:
            pipelined.discard()
            if _not_the_records_fault(error):
                raise
        refused = 0
        for record, envelope, event in batch:
            try:
                async with conn.transaction():  # a savepoint: a refused event rolls back alone
                    with caused_by(envelope):
                        await self._apply(pipelined, envelope, event)
                    await pipelined.flush()
            except Exception as error:
                pipelined.discard()
                if _not_the_records_fault(error):
                    raise
                # Sent before the commit: a crash in between dead-letters it twice, never zero times.
                await self._dead_letter(record, error, reason="apply")
                refused += 1
        return refused

    async def _apply(self, conn: PipelinedConnection, envelope: Envelope, event: Event) -> None:
        """Policies first, then the read model. A policy that takes a lock (matching's round lock) must take it
        before the read model's rows are locked by the same transaction, or a command holding that lock and waiting
        for those rows would deadlock with it; the policy still sees every earlier event applied.

        A policy decides through a unit of work joined to the plain connection, after the read model's queued
        writes are sent; the read model's handlers get the pipelined one (their writes are only queued)."""
        for policy in self.policies:
            if event.type_name in policy.handles:
                await conn.flush()
                await policy.apply(conn.raw, envelope, event)
        if event.type_name in self.projection.handles:
            # The handlers are typed for a connection; the pipelined one offers its methods (shared/pipeline.py).
            await self.projection.apply(cast(asyncpg.Connection, conn), envelope, event)

    async def _envelope(self, record: ConsumerRecord) -> tuple[ConsumerRecord, Envelope] | None:
        """The record's envelope, its type upcast; None for a type this runner skips, an unknown type or a dead
        letter."""
        try:
            envelope = envelope_of(record.headers, record.value)
            type_name = current_type(envelope.type)
            if type_name not in EVENT_TYPES:
                self._unknown_type(record, type_name)
                return None
            if type_name not in self.handles:
                return None
            if not 1 <= envelope.stream_version < 2**63:
                raise MalformedRecord("ce_streamversion must be a positive bigint (tracking deduplicates by it)")
            if "\x00" in envelope.stream_id or "\x00" in envelope.source:
                raise MalformedRecord("a NUL character in ce_subject or ce_source (PostgreSQL text cannot track it)")
            return record, envelope
        except MalformedRecord as error:
            await self._dead_letter(record, error, reason="parse")
            return None

    async def _typed(self, record: ConsumerRecord, envelope: Envelope, ring: KeyRing) -> Parsed | None:
        """The typed event, its sealed fields opened with `ring` (erased values where a key is gone)."""
        try:
            try:
                opened = sealing.unseal(envelope.type, envelope.data, ring)
            except (KeyError, ValueError) as error:  # no subject id to find the key by, or a value not base64
                raise MalformedRecord(f"{envelope.type}: a sealed field cannot be read ({error!r})") from error
            if opened is not envelope.data:
                envelope = envelope.with_data(opened)
            event = typed_event(envelope)
            refuse_foreign_publisher(envelope, event, record.topic, self.topic_prefix)
            return record, envelope, event
        except MalformedRecord as error:
            await self._dead_letter(record, error, reason="parse")
            return None

    def _unknown_type(self, record: ConsumerRecord, type_name: str) -> None:
        """A newer publisher's event, or a forged one: skipped, counted, and logged once per type (bounded)."""
        self.unknown_types += 1
        PROJECTION_UNKNOWN_TYPES.labels(self.projection.name, record.topic).inc()
        if type_name not in self._unknown_logged and len(self._unknown_logged) < 100:
            self._unknown_logged.add(type_name)
            log.warning(
                "projection %s: skipped %s:%d@%d, type %r is known to no contract (counted in "
                "tandem_projection_unknown_types_total)",
                self.projection.name,
                record.topic,
                record.partition,
                record.offset,
                type_name[:100],
            )

    async def stored_offsets(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        rows = await self.connections.pool.fetch(
            f"SELECT topic, partition, next_offset FROM {self.schema}.projection_offsets WHERE projection = $1",
            self.projection.name,
        )
        stored = {TopicPartition(r["topic"], r["partition"]): r["next_offset"] for r in rows}
        return {tp: stored[tp] for tp in partitions if tp in stored}

    async def stored_offsets_by_partition(self) -> dict[tuple[str, int], int]:
        """(topic, partition) -> next offset to apply, as committed with the read model."""
        rows = await self.connections.pool.fetch(
            f"SELECT topic, partition, next_offset FROM {self.schema}.projection_offsets WHERE projection = $1",
            self.projection.name,
        )
        return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}

    async def seek_to_stored(self, consumer: AIOKafkaConsumer, partitions: Sequence[TopicPartition]) -> None:
        stored = await self.stored_offsets(partitions)
        for tp in partitions:
            self._next_offsets[tp] = stored.get(tp, 0)
            if tp in stored:
                consumer.seek(tp, stored[tp])
            else:
                await consumer.seek_to_beginning(tp)
        log.info(
            "projection %s: assigned %s, resuming at %s",
            self.projection.name,
            sorted(f"{tp.topic}:{tp.partition}" for tp in partitions),
            {f"{tp.topic}:{tp.partition}": off for tp, off in stored.items()},
        )

    async def _dead_letter(self, record: ConsumerRecord, error: Exception, *, reason: str) -> None:
        headers = [
            *(record.headers or ()),
            ("dlq_error", scrub(error)[:2000].encode()),  # no PostgreSQL DETAIL: it quotes values
            ("dlq_reason", reason.encode()),
            ("dlq_projection", self.projection.name.encode()),
            ("dlq_topic", record.topic.encode()),
            ("dlq_partition", str(record.partition).encode()),
            ("dlq_offset", str(record.offset).encode()),
        ]
        producer = await self.connections.producer()
        await producer.send_and_wait(self.dead_letter_topic, value=record.value, key=record.key, headers=headers)
        PROJECTION_DEAD_LETTERS.labels(self.projection.name, reason).inc()
        self.dead_letters[reason] += 1
        log.warning(
            "projection %s: %s:%d@%d sent to %s (%s: %s)",
            self.projection.name,
            record.topic,
            record.partition,
            record.offset,
            self.dead_letter_topic,
            reason,
            type(error).__name__,
        )

    def _consumer(self, group_id: str | None) -> AIOKafkaConsumer:
        return self.connections.consumer(
            group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.max_records,
        )


def _not_the_records_fault(error: Exception) -> bool:
    """Errors that a retry of the same batch may not meet again: PostgreSQL away, busy, deadlocked or shutting down,
    or a concurrent writer (optimistic concurrency). Those fail the batch; anything else is the record's fault."""
    if isinstance(error, asyncpg.exceptions._base.DataError):  # a value asyncpg cannot encode (int out of int4)
        return False
    if isinstance(error, OSError | TimeoutError | asyncpg.InterfaceError | ConcurrencyError):
        return True
    sqlstate = getattr(error, "sqlstate", None) or ""
    # 08 connection, 40 rollback (serialization, deadlock), 53 resources, 57 operator intervention, 58 system, XX
    return isinstance(error, asyncpg.PostgresError) and sqlstate[:2] in {"08", "40", "53", "57", "58", "XX"}


def _fetched_since(consumer: AIOKafkaConsumer, polled: dict[TopicPartition, int | None]) -> bool:
    """True when a fetch response reached any assigned partition since the last call: the consumer talks to Kafka
    (an empty `getmany` alone says nothing, it also returns empty while the broker is away)."""
    fresh = False
    for tp in consumer.assignment():
        stamp = consumer.last_poll_timestamp(tp)
        if stamp is not None and stamp != polled.get(tp):
            polled[tp] = stamp
            fresh = True
    return fresh


async def _behind(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    """True while any partition's position is short of the end offset taken when catch-up began."""
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return True
    return False


class _SeekToStoredOffsets(ConsumerRebalanceListener):
    def __init__(self, runner: ProjectionRunner, consumer: AIOKafkaConsumer):
        self.runner, self.consumer = runner, consumer

    async def on_partitions_revoked(self, revoked) -> None:
        """Nothing to flush: every handled batch was committed to PostgreSQL before the next poll."""

    async def on_partitions_assigned(self, assigned) -> None:
        await self.runner.seek_to_stored(self.consumer, list(assigned))


async def swap_schemas(dsn: str, live: str, rebuilt: str) -> str:
    """Make `rebuilt` the live schema in one transaction; the old one is kept as `<live>_old_<n>`."""
    check_identifier(live), check_identifier(rebuilt)
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            n = await conn.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname LIKE $1", f"{live}_old_%")
            retired = check_identifier(f"{live}_old_{n + 1}")
            await conn.execute(f"ALTER SCHEMA {live} RENAME TO {retired}")
            await conn.execute(f"ALTER SCHEMA {rebuilt} RENAME TO {live}")
        return retired
    finally:
        await conn.close()
