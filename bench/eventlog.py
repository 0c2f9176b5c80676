"""Event-log benchmark (issue #2): relay and projection throughput against the machine's raw limits.

(a) relay: committed event-store rows -> acknowledged Kafka records, events/s;
(b) projection: Kafka -> PostgreSQL read model with tracking records, events/s;
(c) the ceilings on the same data: raw aiokafka produce (same keys, headers, values, acks=all, idempotent),
    raw aiokafka consume, and raw asyncpg COPY of the same rows.
Runs against KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL (defaults: the servers of `make infra-up`).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import asyncpg
from aiokafka import AIOKafkaConsumer

from bench.report import merge_section, print_table
from shared import collector, eventstore
from shared.connections import idempotent_producer
from shared.db import create_pool, migrate, migration_files
from shared.relay import Relay
from shared.replay import REPLAY_BATCH
from shared.settings import DatabaseSettings, KafkaSettings
from shared.topics import create_topics, dead_letter_topic
from tests.support.counting import counting_runner
from tests.support.kafka_log import withdrawal

EVENTS = int(os.environ.get("TANDEM_BENCH_EVENTS", "20000"))
STREAMS = 500
# The events are enrolment's withdrawals: consumers accept an event type only from its publisher (issue #13).
SOURCE = "/tandem/enrolment"


async def run() -> None:
    run_id = "b" + uuid.uuid4().hex[:8]
    kafka = KafkaSettings(topic_prefix=run_id)
    admin_dsn = DatabaseSettings().database_url
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f"CREATE DATABASE {run_id}")
    dsn = admin_dsn.rsplit("/", 1)[0] + f"/{run_id}"
    topics = {name: f"{run_id}.{name}" for name in ("relay", "raw")}
    await create_topics(kafka, [*topics.values(), dead_letter_topic(run_id)])
    try:
        rows = await _measure(kafka, dsn, topics)
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {run_id} WITH (FORCE)")
        await admin.close()
    print_table(f"Event log throughput ({EVENTS:,} events, {STREAMS} streams)", rows)
    merge_section("eventlog", {"events": EVENTS, "streams": STREAMS, "rows": rows})


async def _measure(kafka: KafkaSettings, dsn: str, topics: dict[str, str]) -> list[dict]:
    pool = await create_pool(dsn, "bench_store", max_size=4)
    await migrate(pool, "bench_store", migration_files(eventstore.MIGRATIONS))
    store = eventstore.PostgresEventStore(pool, "bench_store")
    per_stream = EVENTS // STREAMS
    for s in range(STREAMS):
        await store.append(f"s{s}", 0, [withdrawal(f"s{s}", v).event() for v in range(1, per_stream + 1)])
    stored = await store.read_after(0, EVENTS)

    relayed_rate = await relay_rate(store, dsn, kafka, topics["relay"], EVENTS)
    produce_rate = await raw_produce(kafka, topics["raw"], [s.envelope(SOURCE).kafka_record() for s in stored])
    projected_rate = await projection_rate(kafka, dsn, topics["relay"], "bench_projection", EVENTS)
    consume_rate = await _raw_consume(kafka, topics["raw"])
    copy_rate = await _raw_copy(pool, stored)
    await pool.close()
    return [
        _row("relay: event store -> Kafka (acked)", relayed_rate, "raw aiokafka produce", produce_rate),
        _row(
            "projection: Kafka -> PostgreSQL + tracking",
            projected_rate,
            "raw aiokafka consume",
            consume_rate,
        ),
        _row("projection: Kafka -> PostgreSQL + tracking", projected_rate, "raw asyncpg COPY", copy_rate),
    ]


def _row(what: str, rate: float, ceiling: str, ceiling_rate: float) -> dict:
    return {
        "measure": what,
        "events/s": round(rate),
        "ceiling": ceiling,
        "ceiling events/s": round(ceiling_rate),
        "ratio": round(rate / ceiling_rate, 3),
    }


async def relay_rate(
    store: eventstore.PostgresEventStore, dsn: str, kafka: KafkaSettings, topic: str, events: int
) -> float:
    """Events/s of a `Relay` publishing the store's first `events` events to `topic`, until Kafka acknowledged them."""
    producer = idempotent_producer(kafka.client_options())
    await producer.start()
    relay = Relay(store, dsn, topic, producer, source=SOURCE)
    await relay._ensure_cursor()
    started = time.perf_counter()
    published = 0
    while published < events:
        published += await relay.publish_batch()
    elapsed = time.perf_counter() - started
    await producer.stop()
    return published / elapsed


async def raw_produce(kafka: KafkaSettings, topic: str, records: list[dict]) -> float:
    """Events/s of aiokafka sending `records` (`send` arguments) with nothing else to do, all in flight at once."""
    producer = idempotent_producer(kafka.client_options())
    await producer.start()
    # The collector paused, as the relay pauses it per batch: the ceiling at its best, not slowed by collections.
    with collector.paused():
        started = time.perf_counter()
        futures = [await producer.send(topic, **r) for r in records]
        await asyncio.gather(*futures)
        elapsed = time.perf_counter() - started
    await producer.stop()
    return len(records) / elapsed


async def projection_rate(kafka: KafkaSettings, dsn: str, topic: str, schema: str, expected: int) -> float:
    """Events/s of the counting read model catching up on `topic` into a fresh `schema`, fetching as `tandem
    replay` does (and as the raw consume below does); fails unless all `expected` events were applied."""
    async with counting_runner(kafka, dsn, schema, topic) as runner:
        runner.max_records = REPLAY_BATCH
        started = time.perf_counter()
        applied = await runner.catch_up()
        elapsed = time.perf_counter() - started
    assert applied == expected, f"projection applied {applied} of {expected}"
    return applied / elapsed


async def _raw_consume(kafka: KafkaSettings, topic: str) -> float:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    with collector.paused():  # as the projection pauses it per batch
        started = time.perf_counter()
        seen = 0
        while seen < EVENTS:
            batch = await consumer.getmany(timeout_ms=1000, max_records=REPLAY_BATCH)
            seen += sum(len(records) for records in batch.values())
        elapsed = time.perf_counter() - started
    await consumer.stop()
    return seen / elapsed


async def _raw_copy(pool: asyncpg.Pool, stored: list[eventstore.StoredEvent]) -> float:
    records = [(s.stream_id, s.version, s.event_id, s.type, str(s.data)) for s in stored]
    async with pool.acquire() as conn:
        await conn.execute(
            "CREATE TABLE copy_target (stream_id text, version int, event_id text, type text, data text)"
        )
        started = time.perf_counter()
        await conn.copy_records_to_table("copy_target", records=records)
        elapsed = time.perf_counter() - started
    return len(records) / elapsed
