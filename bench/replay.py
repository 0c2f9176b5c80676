"""Replay at scale (issue #18 item 5): `tandem replay`'s code path over a million events, against raw consume.

Generates TANDEM_BENCH_REPLAY_EVENTS (default 1 000 000) enrolment withdrawals over 10 000 streams into one topic
of the usual partition count, produced in big per-partition batches (the generator must not be what the bench
waits for), then measures on the same topic, in the same run:
- raw aiokafka consume (every record fetched, nothing parsed): the ceiling;
- `shared.replay.replay` of the counting read model (one row per stream, tracking by stream version), which is what
  `tandem replay` runs: shared by TANDEM_BENCH_REPLAY_PROCESSES processes (default: one per core, `tandem replay
  --processes`), then in one process with its partitions applied concurrently (`parallel_replay`) and, when
  TANDEM_BENCH_REPLAY_SEQUENTIAL=1, one partition at a time as well.
Runs against KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL; a database and topics of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from bench.report import merge_section, print_table
from shared.connections import Connections
from shared.db import migrate, migration_files
from shared.envelope import Envelope
from shared.projection import TRACKING_MIGRATIONS
from shared.replay import replay
from shared.settings import DatabaseSettings, KafkaSettings
from shared.topics import create_topics, dead_letter_topic
from tests.support.counting import CountingProjection

EVENTS = int(os.environ.get("TANDEM_BENCH_REPLAY_EVENTS", "1000000"))
SEQUENTIAL = os.environ.get("TANDEM_BENCH_REPLAY_SEQUENTIAL") == "1"
PROCESSES = int(os.environ.get("TANDEM_BENCH_REPLAY_PROCESSES", str(os.cpu_count() or 2)))
STREAMS = 10_000
SOURCE = "/tandem/enrolment"
TARGET_S = 60.0


async def run() -> None:
    run_id = "r" + uuid.uuid4().hex[:8]
    kafka = KafkaSettings(topic_prefix=run_id)
    admin_dsn = DatabaseSettings().database_url
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f"CREATE DATABASE {run_id}")
    dsn = admin_dsn.rsplit("/", 1)[0] + f"/{run_id}"
    topic = f"{run_id}.history"
    await create_topics(kafka, [topic, dead_letter_topic(run_id)])
    try:
        generated = await generate(kafka, topic, EVENTS)
        consume = await raw_consume(kafka, topic)
        rows = [
            {
                "measure": "generate (batched produce)",
                "events/s": round(generated),
                "seconds": round(EVENTS / generated, 1),
            }
        ]
        rows.append(
            {"measure": "raw aiokafka consume", "events/s": round(consume), "seconds": round(EVENTS / consume, 1)}
        )
        modes = [(f"{PROCESSES} processes", True, PROCESSES)] if PROCESSES > 1 else []  # one core: the next row
        modes.append(("1 process, partitions concurrently", True, 1))
        if SEQUENTIAL:
            modes.append(("1 process, one partition at a time", False, 1))
        for label, parallel, processes in modes:
            rate = await replayed(kafka, dsn, topic, parallel, processes)
            rows.append(
                {
                    "measure": f"tandem replay, {label}",
                    "events/s": round(rate),
                    "seconds": round(EVENTS / rate, 1),
                    "ratio to raw consume": round(rate / consume, 3),
                }
            )
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {run_id} WITH (FORCE)")
        await admin.close()
        await _delete_topics(kafka, [topic])
    for row in rows:
        row.setdefault("ratio to raw consume", "")
    print_table(f"Replay of {EVENTS:,} events ({STREAMS:,} streams); target < {TARGET_S:.0f} s", rows)
    merge_section("replay", {"events": EVENTS, "streams": STREAMS, "target_seconds": TARGET_S, "rows": rows})


def records(start: int, n: int) -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
    """(key, value, headers) of the withdrawals start..start+n, as the relay writes them: event i is stream
    s{i % STREAMS}, its version i // STREAMS + 1, so every stream's versions rise and none repeats."""
    now = datetime.now(UTC)
    type_name = "tandem.enrolment.participant-withdrawn.v1"
    out = []
    for i in range(start, start + n):
        stream, version = f"s{i % STREAMS}", i // STREAMS + 1
        envelope = Envelope(
            event_id=str(uuid.uuid4()),
            type=type_name,
            source=SOURCE,
            subject=stream,
            stream_version=version,
            time=now,
            data={"program_id": "p1", "participant_id": stream, "reason": f"v{version}"},
        )
        out.append((envelope.kafka_key(), envelope.kafka_value(), envelope.kafka_headers()))
    return out


async def generate(kafka: KafkaSettings, topic: str, n: int, chunk: int = 100_000) -> float:
    """Produce n records in per-partition batches (the default partitioner's choice for each key, so a stream's
    events share a partition, as the relay's do); events/s of the produce alone."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka.kafka_bootstrap_servers, acks=1, max_batch_size=1 << 20)
    await producer.start()
    partitioner = DefaultPartitioner()
    partitions = sorted(await producer.partitions_for(topic))
    of_key: dict[bytes, int] = {}
    elapsed = 0.0
    try:
        for start in range(0, n, chunk):
            made = records(start, min(chunk, n - start))
            started = time.perf_counter()
            builders = {p: producer.create_batch() for p in partitions}
            pending = []
            for key, value, headers in made:
                partition = of_key.get(key)
                if partition is None:
                    partition = of_key[key] = partitioner(key, partitions, partitions)
                if builders[partition].append(key=key, value=value, timestamp=None, headers=headers) is None:
                    pending.append(await producer.send_batch(builders[partition], topic, partition=partition))
                    builders[partition] = producer.create_batch()
                    builders[partition].append(key=key, value=value, timestamp=None, headers=headers)
            for partition, builder in builders.items():
                if builder.record_count():
                    pending.append(await producer.send_batch(builder, topic, partition=partition))
            for future in pending:
                await future
            elapsed += time.perf_counter() - started
    finally:
        await producer.stop()
    return n / elapsed


async def raw_consume(kafka: KafkaSettings, topic: str) -> float:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka.kafka_bootstrap_servers, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        started = time.perf_counter()
        seen = 0
        while seen < EVENTS:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            seen += sum(len(records) for records in batch.values())
        return seen / (time.perf_counter() - started)
    finally:
        await consumer.stop()


async def replayed(kafka: KafkaSettings, dsn: str, topic: str, parallel: bool, processes: int) -> float:
    projection = CountingProjection([topic])
    projection.parallel_replay = parallel  # type: ignore[misc]
    live = "bench_live"
    async with Connections(dsn, kafka, live, pool_size=8) as connections:
        await migrate(connections.pool, live, migration_files(TRACKING_MIGRATIONS, projection.migrations))
        result = await replay(projection, connections, live_schema=live, processes=processes)
    assert result.events == EVENTS, f"replayed {result.events} of {EVENTS}"
    return result.events / result.seconds


async def _delete_topics(kafka: KafkaSettings, topics: list[str]) -> None:
    """The history is large: give the broker its disk back."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    try:
        await admin.delete_topics(topics)
    finally:
        await admin.close()
