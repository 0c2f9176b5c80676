"""The relay parks what Kafka refuses and goes on; `tandem parked` lists, re-drives and skips, with an audit trail."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

from aiokafka.errors import KafkaConnectionError

from shared.connections import idempotent_producer
from shared.envelope import Envelope
from shared.eventstore import LOG_START
from shared.parked import HELD, ParkedEvents
from shared.relay import Relay
from shared.settings import KafkaSettings
from shared.topics import create_topics, events_topic
from tests.support.kafka_log import KafkaLog, wait_until, withdrawal

SCHEMA = "parking"


def tandem(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "parked", *args, "--service", "enrolment"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def bloat(store, position: int, size: int) -> None:
    """An event stored before the size check existed: its body is now larger than Kafka takes."""
    await store.pool.execute(
        f"UPDATE {SCHEMA}.events SET data = jsonb_set(data, '{{reason}}', to_jsonb(repeat('x', $2))) "
        "WHERE position = $1",
        position,
        size,
    )


async def append(store, stream: str, version: int) -> tuple[int, str]:
    result = await store.append(stream, version - 1, [withdrawal(stream, version).event()])
    return result.last_position, result.event_ids[0]


async def ids_in(log: KafkaLog, topic: str) -> list[str]:
    return [Envelope.from_kafka(r.headers, r.value).event_id for r in await log.records(topic)]


async def test_an_event_kafka_refuses_is_parked_and_the_log_flows_on(
    store_factory, dsn: str, kafka: KafkaSettings, child_env
):
    prefix = f"{kafka.topic_prefix}park"
    topic = events_topic("enrolment", prefix)
    await create_topics(kafka, [topic])
    store = await store_factory(SCHEMA)
    env = {**child_env, "TANDEM_TOPIC_PREFIX": prefix, "TANDEM_SCHEMA_NAME": SCHEMA}

    _, a1 = await append(store, "a", 1)
    big1_at, big1 = await append(store, "big", 1)
    _, c1 = await append(store, "c", 1)
    _, big2 = await append(store, "big", 2)
    huge1_at, huge1 = await append(store, "huge", 1)
    _, huge2 = await append(store, "huge", 2)
    await bloat(store, big1_at, 50_000)  # over this relay's producer limit, under the default one
    await bloat(store, huge1_at, 1_200_000)  # over every default limit (1 MB)

    # The relay's producer takes records up to 20 kB; the operator later re-drives with the default 1 MB.
    producer = idempotent_producer(kafka.client_options(), max_request_size=20_000)
    await producer.start()
    stop = asyncio.Event()
    relay = Relay(store, dsn, topic, producer, source="/tandem/enrolment")
    running = asyncio.create_task(relay.run(stop))
    parked = ParkedEvents(store.pool, SCHEMA, topic)
    try:
        async with KafkaLog(kafka.kafka_bootstrap_servers) as log:
            await wait_until(lambda: _has(log, topic, {a1, c1}), 60, 0.1, "the good events around the big ones")
            await wait_until(parked.count_open, 30, 0.1, "the parked events")
            # Appended while its stream is parked: held behind it, while another stream's event goes through.
            _, big3 = await append(store, "big", 3)
            _, d1 = await append(store, "d", 1)
            await wait_until(lambda: _has(log, topic, {d1}), 30, 0.1, "an event appended after the parking")
            assert set(await ids_in(log, topic)) == {a1, c1, d1}, "nothing of a parked stream overtakes it"
    finally:
        stop.set()
        await running
        await producer.stop()

    rows = {p.event_id: p for p in await parked.listing()}
    assert set(rows) == {big1, big2, big3, huge1, huge2}
    assert rows[big1].error_class == rows[huge1].error_class == "MessageSizeTooLargeError"
    assert rows[big2].error_class == HELD and rows[big2].held_behind == big1_at
    assert "xxxx" not in rows[huge1].error_text

    listed = tandem(env, "list")
    assert listed.returncode == 0, listed.stderr
    assert {json.loads(line)["event_id"] for line in listed.stdout.splitlines()} == set(rows)

    refused = tandem(env, "redrive", "--event", huge1, "--by", "ops-ticket-42", "--reason", "limit raised?")
    assert refused.returncode == 1 and "redrive failed" in refused.stdout
    redriven = tandem(env, "redrive", "--event", big1, "--by", "ops-ticket-42", "--reason", "producer limit raised")
    assert redriven.returncode == 0, redriven.stderr
    skipped = tandem(env, "skip", "--event", huge1, "--by", "ops-ticket-43", "--reason", "unpublishable, accepted")
    assert skipped.returncode == 0, skipped.stderr
    assert await parked.count_open() == 0

    async with KafkaLog(kafka.kafka_bootstrap_servers) as log:
        published = await ids_in(log, topic)
    assert set(published) == {a1, c1, d1, big1, big2, big3, huge2}, "the skipped event alone stays out"
    streams = [Envelope.from_kafka(r.headers, r.value) for r in await _records(kafka, topic)]
    assert [e.stream_version for e in streams if e.stream_id == "big"] == [1, 2, 3]
    trail = [(row["event_id"], row["action"], row["actor"]) for row in await parked.audit_trail()]
    assert trail == [
        (huge1, "redrive failed", "ops-ticket-42"),
        (big1, "redriven", "ops-ticket-42"),
        (big2, "redriven", "ops-ticket-42"),
        (big3, "redriven", "ops-ticket-42"),
        (huge1, "skipped", "ops-ticket-43"),
        (huge2, "redriven", "ops-ticket-43"),
    ]


async def test_a_relay_that_cannot_reach_kafka_waits_and_never_parks(store_factory, kafka: KafkaSettings):
    store = await store_factory("parking_waits")
    await append(store, "s", 1)

    class Unreachable:
        async def partitions_for(self, topic):
            return {0, 1, 2}  # what it knew of the topic before Kafka went away

        async def send(self, *args, **kwargs):
            raise KafkaConnectionError("Unable to bootstrap")

    relay = Relay(store, "unused", "t.waits", Unreachable(), source="/tandem/x")  # type: ignore[arg-type]
    await relay._ensure_cursor()
    # The relay reads below the visibility horizon: a transaction elsewhere in the cluster may hold it back briefly.
    await wait_until(lambda: store.read_log(LOG_START), 30, 0.05, "the event below the horizon")
    try:
        await relay.publish_batch()
        raise AssertionError("a connection error must fail the batch, for the supervisor to retry")
    except KafkaConnectionError:
        pass
    assert await relay.parked.count_open() == 0
    assert await store.pool.fetchval("SELECT last_position FROM parking_waits.relay_cursor") == 0


async def _has(log: KafkaLog, topic: str, wanted: set[str]) -> bool:
    return wanted <= set(await ids_in(log, topic))


async def _records(kafka: KafkaSettings, topic: str):
    async with KafkaLog(kafka.kafka_bootstrap_servers) as log:
        return await log.records(topic)
