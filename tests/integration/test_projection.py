import gc
import signal
import subprocess
import sys

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import REGISTRY

from shared.logreader import partitions_of
from shared.projection import swap_schemas
from shared.settings import KafkaSettings
from shared.topics import create_topics, dead_letter_topic
from tests.support.counting import CountingProjection, counting_runner, read_counts
from tests.support.kafka_log import KafkaLog, produce, wait_until, withdrawal

STREAMS, EVENTS_PER_STREAM = 60, 50


def start_worker(env: dict, schema: str, topic: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.projection_worker",
            "--schema",
            schema,
            "--topic",
            topic,
            "--max-records",
            "50",
            "--delay-ms",
            "1",
        ],
        env=env,
    )


@pytest.fixture(scope="module")
async def counted_topic(kafka: KafkaSettings) -> str:
    """3 000 events over 60 streams, then 300 of them produced a second time (same event ids)."""
    topic = f"{kafka.topic_prefix}.counted"
    await create_topics(kafka, [topic])
    envelopes = [withdrawal(f"s{s}", v) for v in range(1, EVENTS_PER_STREAM + 1) for s in range(STREAMS)]
    await produce(kafka.kafka_bootstrap_servers, topic, envelopes)
    await produce(kafka.kafka_bootstrap_servers, topic, envelopes[1000:1300])
    return topic


def total(counts: dict[str, tuple[int, int]]) -> int:
    return sum(events for events, _ in counts.values())


async def test_a_projection_killed_mid_stream_counts_every_event_exactly_once(counted_topic, kafka, dsn, child_env):
    worker = start_worker(child_env, "counting_live", counted_topic)
    counted_before_kill = await wait_until(
        lambda: _total_at_least(dsn, "counting_live", 300), 60, 0.05, "the projection to make progress"
    )
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    assert counted_before_kill < STREAMS * EVENTS_PER_STREAM, "the kill must land mid-stream"

    worker = start_worker(child_env, "counting_live", counted_topic)
    try:
        async with KafkaLog(kafka.kafka_bootstrap_servers) as log:
            records_in_topic = await log.size(counted_topic)
        await wait_until(
            lambda: _offsets_reached(dsn, "counting_live", records_in_topic),
            120,
            0.2,
            "the projection to catch up",
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0

    counts = await read_counts(dsn, "counting_live")
    assert counts == {f"s{s}": (EVENTS_PER_STREAM, EVENTS_PER_STREAM) for s in range(STREAMS)}


async def test_a_rebuild_from_offset_zero_equals_the_live_read_model(counted_topic, kafka, dsn):
    async with counting_runner(kafka, dsn, "counting_replayed", counted_topic) as live:
        await live.catch_up()

    async with counting_runner(kafka, dsn, "counting_rebuild", counted_topic) as rebuild:
        applied = await rebuild.catch_up()

    assert applied == STREAMS * EVENTS_PER_STREAM
    assert await read_counts(dsn, "counting_rebuild") == await read_counts(dsn, "counting_replayed")
    retired = await swap_schemas(dsn, "counting_replayed", "counting_rebuild")
    assert await read_counts(dsn, retired) == await read_counts(dsn, "counting_replayed")


async def test_a_batch_is_applied_with_the_cyclic_collector_paused_and_it_is_back_on_after(
    counted_topic, kafka, dsn, monkeypatch
):
    """A batch's envelopes and events live until it commits; collections meanwhile only walk them (issue #18)."""
    seen: list[bool] = []
    apply = CountingProjection.apply

    async def observed(self, conn, envelope, event):
        seen.append(gc.isenabled())
        await apply(self, conn, envelope, event)

    monkeypatch.setattr(CountingProjection, "apply", observed)
    assert gc.isenabled()
    async with counting_runner(kafka, dsn, "counting_gc", counted_topic) as runner:
        assert await runner.catch_up() == STREAMS * EVENTS_PER_STREAM
    assert len(seen) == STREAMS * EVENTS_PER_STREAM and not any(seen)
    assert gc.isenabled()


async def test_partitions_are_looked_up_with_that_topics_metadata_alone(counted_topic, kafka):
    """A shared cluster may hold thousands of topics: reading all of their metadata blocked a service's event loop
    for 200 ms (1 863 topics), every time its status sampler looked a topic's partitions up."""
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.kafka_bootstrap_servers)
    await consumer.start()
    try:
        partitions = await partitions_of(consumer, counted_topic)
        assert partitions == [TopicPartition(counted_topic, p) for p in range(KafkaSettings().topic_partitions)]
        assert consumer._client.cluster.topics() == {counted_topic}
        missing = f"{kafka.topic_prefix}.no-such-topic"
        with pytest.raises(LookupError):
            await partitions_of(consumer, missing)
        # Not tracked: the client's periodic metadata requests would ask for it, and may create it (auto-create).
        assert missing not in consumer._client._topics
    finally:
        await consumer.stop()


async def test_a_malformed_record_goes_to_the_dead_letter_topic_and_the_projection_goes_on(kafka, dsn):
    topic = f"{kafka.topic_prefix}.poisoned"
    await create_topics(kafka, [topic])
    good = [withdrawal("ok", v) for v in (1, 2, 3)]
    broken_body = withdrawal("bad", 1)
    await produce(kafka.kafka_bootstrap_servers, topic, [good[0]])
    await _produce_raw(kafka, topic, b"\x00garbage", headers=[])
    await produce(kafka.kafka_bootstrap_servers, topic, [good[1]])
    await _produce_raw(kafka, topic, b'{"program_id": 42}', headers=broken_body.kafka_headers())
    await produce(kafka.kafka_bootstrap_servers, topic, [good[2]])
    dead_before = _dead_letters_counted()

    async with counting_runner(kafka, dsn, "counting_poisoned", topic) as projection:
        await projection.catch_up()

    assert await read_counts(dsn, "counting_poisoned") == {"ok": (3, 3)}
    assert _dead_letters_counted() - dead_before == 2
    async with KafkaLog(kafka.kafka_bootstrap_servers) as log:
        dead = [
            r
            for r in await log.records(dead_letter_topic(kafka.topic_prefix))
            if dict(r.headers)["dlq_topic"] == topic.encode()
        ]
    assert sorted(r.value for r in dead) == [b"\x00garbage", b'{"program_id": 42}']
    assert all(dict(r.headers)["dlq_error"] for r in dead)


async def _total_at_least(dsn: str, schema: str, n: int) -> int:
    counted = total(await read_counts(dsn, schema))
    return counted if counted >= n else 0


async def _offsets_reached(dsn: str, schema: str, records_in_topic: int) -> bool:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        done = await conn.fetchval(f"SELECT coalesce(sum(next_offset), 0) FROM {schema}.projection_offsets")
    finally:
        await conn.close()
    return done == records_in_topic


async def _produce_raw(kafka: KafkaSettings, topic: str, value: bytes, headers) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=kafka.kafka_bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=b"bad", headers=headers)
    finally:
        await producer.stop()


def _dead_letters_counted() -> float:
    return (
        REGISTRY.get_sample_value("tandem_projection_dead_letters_total", {"projection": "counting", "reason": "parse"})
        or 0.0
    )
