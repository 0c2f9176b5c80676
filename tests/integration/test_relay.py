import asyncio
import signal
import subprocess
import sys
import uuid
from collections import defaultdict

from aiokafka.partitioner import DefaultPartitioner

from shared.connections import idempotent_producer
from shared.envelope import Envelope
from shared.eventstore import LOG_START
from shared.relay import Relay
from shared.settings import KafkaSettings
from shared.topics import create_topics, events_topic
from tests.support.kafka_log import KafkaLog, wait_until, withdrawal

STREAMS, EVENTS_PER_STREAM = 200, 50
TOTAL = STREAMS * EVENTS_PER_STREAM


def start_relay(env: dict, service: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.cli",
            "relay",
            "--schema",
            service,
            "--service",
            service,
            "--batch-size",
            "100",
        ],
        env=env,
    )


async def append_interleaved(store) -> dict[tuple[str, int], str]:
    """10 000 events over 200 streams, appended round by round so streams interleave in the log."""
    ids = {}
    for round_ in range(10):
        for s in range(STREAMS):
            stream = f"stream-{s}"
            first = round_ * 5 + 1
            result = await store.append(
                stream, first - 1, [withdrawal(stream, v).event() for v in range(first, first + 5)]
            )
            ids.update({(stream, first + i): eid for i, eid in enumerate(result.event_ids)})
    return ids


async def test_a_relay_killed_mid_publish_loses_nothing_and_keeps_stream_order(
    store_factory, kafka: KafkaSettings, child_env
):
    service = "relaykill"
    topic = events_topic(service, kafka.topic_prefix)
    await create_topics(kafka, [topic])
    store = await store_factory(service)
    stored_ids = await append_interleaved(store)

    async with KafkaLog(kafka.kafka_bootstrap_servers) as log:
        relay = start_relay(child_env, service)
        published_before_kill = await wait_until(lambda: log.size(topic), 60, 0.02, "the relay to publish")
        relay.send_signal(signal.SIGKILL)
        relay.wait(10)
        assert 0 < published_before_kill < TOTAL, "the kill must land while the relay is publishing"

        relay = start_relay(child_env, service)
        try:
            await wait_until(lambda: _all_published(log, topic), 120, 0.5, "all 10 000 events in Kafka")
        finally:
            relay.send_signal(signal.SIGTERM)
            assert relay.wait(30) == 0
        records = await log.records(topic)

    envelopes = [Envelope.from_kafka(r.headers, r.value) for r in records]
    assert {(e.stream_id, e.stream_version) for e in envelopes} == set(stored_ids)
    assert all(stored_ids[(e.stream_id, e.stream_version)] == e.event_id for e in envelopes)
    _assert_streams_in_order(envelopes)


async def _all_published(log: KafkaLog, topic: str) -> bool:
    if await log.size(topic) < TOTAL:
        return False
    records = await log.records(topic)
    return len({dict(r.headers)["ce_id"] for r in records}) == TOTAL


def _assert_streams_in_order(envelopes: list[Envelope], per_stream: int = EVENTS_PER_STREAM) -> None:
    """Reading each stream's records in log order, each is either the next version or a redelivery."""
    highest: dict[str, int] = defaultdict(int)
    redeliveries = 0
    for e in envelopes:
        if e.stream_version <= highest[e.stream_id]:
            redeliveries += 1
        else:
            assert e.stream_version == highest[e.stream_id] + 1, f"{e.stream_id} jumped to v{e.stream_version}"
            highest[e.stream_id] = e.stream_version
    assert set(highest.values()) == {per_stream}
    print(f"records: {len(envelopes)}, redeliveries after the kill: {redeliveries}")


async def test_the_relay_wakes_on_notify_and_publishes_promptly(store_factory, kafka: KafkaSettings, child_env):
    service = "relaywake"
    topic = events_topic(service, kafka.topic_prefix)
    await create_topics(kafka, [topic])
    store = await store_factory(service)
    relay = start_relay(child_env, service)
    try:
        async with KafkaLog(kafka.kafka_bootstrap_servers) as log:
            # The relay listens before it records its cursor: once the row exists, only NOTIFY or the poll wakes it.
            await wait_until(
                lambda: store.pool.fetchval("SELECT count(*) FROM relaywake.relay_cursor WHERE topic = $1", topic),
                60,
                0.05,
                "the relay to lead",
            )
            await store.append("late", 0, [withdrawal("late", 1).event()])
            loop = asyncio.get_running_loop()
            started = loop.time()
            await wait_until(lambda: log.size(topic), 10, 0.01, "the event")
            latency = loop.time() - started
    finally:
        relay.send_signal(signal.SIGTERM)
        assert relay.wait(30) == 0
    assert latency < 0.9, f"took {latency:.3f}s: slower than the 1s idle poll, so NOTIFY did not wake it"


async def test_each_stream_lands_in_the_default_partitioners_partition_and_an_idle_relay_has_stored_its_cursor(
    store_factory, kafka: KafkaSettings, dsn: str
):
    service = "relayparts"
    topic = events_topic(service, kafka.topic_prefix)
    await create_topics(kafka, [topic])
    store = await store_factory(service)
    streams = [str(uuid.UUID(int=s)) for s in range(60)]  # UUID keys, as the services' streams have
    for stream in streams:
        await store.append(stream, 0, [withdrawal(stream, v).event() for v in range(1, 6)])
    last = (await store.read_after(0, 1000))[-1].position

    producer = idempotent_producer(kafka.client_options())
    await producer.start()
    try:
        relay = Relay(store, dsn, topic, producer, source="/tandem/enrolment", batch_size=7)  # 43 batches
        await relay._ensure_cursor()
        await wait_until(lambda: store.read_log(LOG_START), 30, 0.05, "the events below the horizon")
        while await relay.publish_batch():
            pass
        # Each batch's cursor is written while the next one is sent; a call that found nothing waited for the last.
        stored = await store.pool.fetchval(f"SELECT last_position FROM {service}.relay_cursor WHERE topic = $1", topic)
        assert stored == last
        partitions = sorted(await producer.partitions_for(topic))
    finally:
        await producer.stop()
    assert len(partitions) > 1

    async with KafkaLog(kafka.kafka_bootstrap_servers) as log:
        records = await log.records(topic)
    assert len(records) == len(streams) * 5
    for record in records:
        assert record.partition == DefaultPartitioner()(record.key, partitions, partitions)
    _assert_streams_in_order([Envelope.from_kafka(r.headers, r.value) for r in records], per_stream=5)
