"""Projections: Kafka events into PostgreSQL read models, with exactly-once *effects*.

For each batch of one partition, one PostgreSQL transaction holds the read-model changes, the ids of the
events applied, and `(projection, topic, partition) -> next offset`. On partition assignment the runner
seeks to the stored offset, so Kafka's committed group offsets never decide correctness; an event id seen
before (a relay redelivery, a replay after a crash) is skipped. Records that are not valid Tandem events
go to the dead-letter topic with the error, and the projection goes on.

We drive aiokafka directly rather than through a FastStream subscriber because the runner must seek inside
the rebalance callback and commit per partition batch in PostgreSQL; see docs/adr/0001.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener

from shared.db import SHARED_SQL, check_identifier, create_pool, migrate, migration_files
from shared.envelope import Envelope, MalformedRecord
from shared.events import Event
from shared.logreader import partitions_of
from shared.metrics import PROJECTION_APPLIED, PROJECTION_DEAD_LETTERS, PROJECTION_DUPLICATES
from shared.observability import caused_by

log = logging.getLogger(__name__)

TRACKING_MIGRATIONS = SHARED_SQL / "projection"


class Projection(ABC):
    """A read model: which topics it reads, its tables (SQL migrations), and how an event changes them."""

    name: str
    topics: Sequence[str]
    migrations: Path | None = None
    handles: frozenset[str] = frozenset()  # CloudEvents types it applies; other types are skipped

    @abstractmethod
    async def apply(self, conn: asyncpg.Connection, envelope: Envelope, event: Event) -> None:
        """Change the read model for one event, on `conn`, inside the runner's transaction."""


class ProjectionRunner:
    def __init__(
        self,
        projection: Projection,
        *,
        dsn: str,
        schema: str,
        bootstrap_servers: str,
        dead_letter_topic: str,
        group_id: str | None = None,
        max_records: int = 500,
        on_batch: Callable[[int], None] | None = None,
        client_options: dict | None = None,
    ):
        self.projection = projection
        self.dsn, self.schema = dsn, check_identifier(schema)
        self.bootstrap_servers, self.dead_letter_topic = bootstrap_servers, dead_letter_topic
        # TLS/SASL and the servers, from KafkaSettings.client_options(); plain servers when not given.
        self.client_options = client_options or {"bootstrap_servers": bootstrap_servers}
        self.group_id = group_id or f"tandem.{schema}.{projection.name}"
        self.max_records = max_records
        self.on_batch = on_batch  # told how many records each handled batch held (progress bars)
        self.pool: asyncpg.Pool | None = None
        self._producer: AIOKafkaProducer | None = None
        self._consumer_in_use: AIOKafkaConsumer | None = None
        self._next_offsets: dict[TopicPartition, int] = {}
        self.applied = 0

    async def setup(self) -> None:
        """Create the schema, the tracking tables and the projection's tables (idempotent)."""
        self.pool = await create_pool(self.dsn, self.schema, max_size=4)
        folders = [TRACKING_MIGRATIONS] + ([self.projection.migrations] if self.projection.migrations else [])
        await migrate(self.pool, self.schema, migration_files(*folders))
        self._producer = AIOKafkaProducer(**self.client_options, acks="all")
        await self._producer.start()

    @property
    def producer(self) -> AIOKafkaProducer | None:
        return self._producer

    async def close(self) -> None:
        if self._producer:
            await self._producer.stop()
        if self.pool:
            await self.pool.close()

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the topics as a member of the consumer group until `stop` is set.

        The batch in flight when `stop` is set is finished and committed before returning.
        """
        consumer = self._consumer(group_id=self.group_id)
        consumer.subscribe(list(self.projection.topics), listener=_SeekToStoredOffsets(self, consumer))
        await consumer.start()
        self._consumer_in_use = consumer
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=500, max_records=self.max_records)
                for tp, records in batches.items():
                    await self.handle_batch(tp, records)
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

    async def catch_up(self) -> int:
        """Apply everything up to the topics' current ends, without a consumer group; return events applied.

        Used to rebuild a read model from offset 0 into a fresh schema, and by auditors' replays.
        """
        consumer = self._consumer(group_id=None)
        await consumer.start()
        try:
            partitions = [tp for topic in self.projection.topics for tp in await partitions_of(consumer, topic)]
            consumer.assign(partitions)
            await self.seek_to_stored(consumer, partitions)
            ends = await consumer.end_offsets(partitions)
            before = self.applied
            while await _behind(consumer, ends):
                batches = await consumer.getmany(timeout_ms=500, max_records=self.max_records)
                for tp, records in batches.items():
                    await self.handle_batch(tp, [r for r in records if r.offset < ends[tp]])
            return self.applied - before
        finally:
            await consumer.stop()

    async def handle_batch(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        if not records:
            return
        assert self.pool is not None, "call setup() first"
        name = self.projection.name
        async with self.pool.acquire() as conn, conn.transaction():
            parsed = [p for p in [await self._parse(r) for r in records] if p is not None]
            # One round trip claims every event id of the batch; the ids it returns were never applied.
            fresh = set(
                await conn.fetchval(
                    """WITH claimed AS (
                           INSERT INTO projection_applied_events (projection, event_id)
                           SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING RETURNING event_id)
                       SELECT coalesce(array_agg(event_id), '{}') FROM claimed""",
                    name,
                    [envelope.event_id for envelope, _ in parsed],
                )
            )
            applied = 0
            for envelope, event in parsed:
                if envelope.event_id in fresh:
                    fresh.discard(envelope.event_id)  # a duplicate inside the same batch applies once
                    with caused_by(envelope):
                        await self.projection.apply(conn, envelope, event)
                    applied += 1
            duplicates = len(parsed) - applied
            # GREATEST: during a rebalance two members may briefly hold a partition; never move backwards.
            await conn.execute(
                """INSERT INTO projection_offsets (projection, topic, partition, next_offset)
                   VALUES ($1, $2, $3, $4)
                   ON CONFLICT (projection, topic, partition) DO UPDATE
                   SET next_offset = GREATEST(projection_offsets.next_offset, EXCLUDED.next_offset),
                       updated_at = now()""",
                name,
                tp.topic,
                tp.partition,
                records[-1].offset + 1,
            )
        self.applied += applied
        self._next_offsets[tp] = records[-1].offset + 1
        if self.on_batch:
            self.on_batch(len(records))
        PROJECTION_APPLIED.labels(name).inc(applied)
        PROJECTION_DUPLICATES.labels(name).inc(duplicates)
        if duplicates:
            log.info("projection %s: skipped %d redelivered events on %s", name, duplicates, tp)

    async def _parse(self, record: ConsumerRecord) -> tuple[Envelope, Event] | None:
        """The record's envelope and event, or None for a type this projection skips or a dead letter."""
        try:
            envelope = Envelope.from_kafka(record.headers, record.value)
            if envelope.type not in self.projection.handles:
                return None
            return envelope, envelope.event()
        except MalformedRecord as error:
            await self._dead_letter(record, error)
            return None

    async def stored_offsets(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        assert self.pool is not None
        rows = await self.pool.fetch(
            "SELECT topic, partition, next_offset FROM projection_offsets WHERE projection = $1",
            self.projection.name,
        )
        stored = {TopicPartition(r["topic"], r["partition"]): r["next_offset"] for r in rows}
        return {tp: stored[tp] for tp in partitions if tp in stored}

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

    async def _dead_letter(self, record: ConsumerRecord, error: Exception) -> None:
        assert self._producer is not None
        headers = [
            *(record.headers or ()),
            ("dlq_error", str(error)[:2000].encode()),
            ("dlq_projection", self.projection.name.encode()),
            ("dlq_topic", record.topic.encode()),
            ("dlq_partition", str(record.partition).encode()),
            ("dlq_offset", str(record.offset).encode()),
        ]
        await self._producer.send_and_wait(self.dead_letter_topic, value=record.value, key=record.key, headers=headers)
        PROJECTION_DEAD_LETTERS.labels(self.projection.name).inc()
        log.warning(
            "projection %s: %s:%d@%d sent to %s: %s",
            self.projection.name,
            record.topic,
            record.partition,
            record.offset,
            self.dead_letter_topic,
            error,
        )

    def _consumer(self, group_id: str | None) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            **self.client_options,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.max_records,
        )


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
