"""Poison records reach a real projection: each is dead-lettered alone, everything else is applied, on every partition;
unknown event types are counted and skipped."""

from __future__ import annotations

import json
from dataclasses import replace

import asyncpg
from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY

from shared.connections import Connections
from shared.db import migrate, migration_files
from shared.envelope import Envelope
from shared.events import Event, ParticipantWithdrawn
from shared.projection import TRACKING_MIGRATIONS, Projection, ProjectionRunner, on
from shared.settings import KafkaSettings
from shared.topics import create_topics, dead_letter_topic
from tests.support.kafka_log import KafkaLog, withdrawal

SCHEMA = "poisoned_rows"


class Rows(Projection):
    """Typed columns, as real read models have: text, int4 and jsonb."""

    name = "rows"

    @on(ParticipantWithdrawn)
    async def withdrawn(self, conn: asyncpg.Connection, event: Event, envelope: Envelope) -> None:
        await conn.execute(
            "INSERT INTO rows (stream_id, reason, version, doc) VALUES ($1, $2, $3, $4::jsonb)",
            envelope.stream_id,
            event.reason,  # type: ignore[attr-defined]
            envelope.stream_version,
            json.dumps(envelope.data),
        )


async def send(producer: AIOKafkaProducer, topic: str, envelope: Envelope, partition: int) -> None:
    # The standard library writes a float's Infinity as is (Tandem's own encoder would write null): the record a
    # foreign or broken publisher could send.
    value = json.dumps(envelope.data).encode()
    await producer.send_and_wait(
        topic, value, key=envelope.kafka_key(), headers=envelope.kafka_headers(), partition=partition
    )


def counted(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_each_poison_record_is_dead_lettered_and_the_rest_applied_on_every_partition(kafka: KafkaSettings, dsn):
    topic = f"{kafka.topic_prefix}.poison"
    await create_topics(kafka, [topic])
    nul = withdrawal("nul", 1)
    nul.data["reason"] = "a\x00b"  # PostgreSQL text cannot hold NUL
    too_big = withdrawal("int4", 2**31)  # ce_streamversion past int4
    infinite = withdrawal("inf", 1)
    infinite.data["score"] = float("inf")  # JSON Infinity: jsonb refuses it
    unknown = replace(withdrawal("unknown", 1), type="tandem.enrolment.participant-teleported.v1")
    good = {p: [withdrawal(f"good-{p}", v) for v in (1, 2, 3)] for p in (0, 1)}

    producer = AIOKafkaProducer(bootstrap_servers=kafka.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        for envelope in (good[0][0], nul, good[0][1], too_big, unknown, infinite, good[0][2]):
            await send(producer, topic, envelope, partition=0)
        for envelope in good[1]:
            await send(producer, topic, envelope, partition=1)
    finally:
        await producer.stop()

    dead_before = {
        r: counted("tandem_projection_dead_letters_total", {"projection": "rows", "reason": r})
        for r in ("parse", "apply")
    }
    unknown_before = counted("tandem_projection_unknown_types_total", {"projection": "rows", "topic": topic})
    async with Connections(dsn, kafka, SCHEMA, pool_size=4) as connections:
        await migrate(connections.pool, SCHEMA, migration_files(TRACKING_MIGRATIONS))
        await connections.pool.execute(
            "CREATE TABLE IF NOT EXISTS rows (stream_id text, reason text, version integer, doc jsonb)"
        )
        runner = ProjectionRunner(Rows(), connections, topics=[topic])
        await runner.catch_up()
        rows = await connections.pool.fetch("SELECT stream_id, version FROM rows ORDER BY stream_id, version")
        offsets = await runner.stored_offsets_by_partition()

    assert [(r["stream_id"], r["version"]) for r in rows] == [(f"good-{p}", v) for p in (0, 1) for v in (1, 2, 3)]
    assert offsets[(topic, 0)] == 7 and offsets[(topic, 1)] == 3, "the offsets move past the poison"
    dead = {
        r: counted("tandem_projection_dead_letters_total", {"projection": "rows", "reason": r}) - dead_before[r]
        for r in ("parse", "apply")
    }
    assert dead["parse"] + dead["apply"] == 3 and dead["apply"] >= 1
    assert (
        counted("tandem_projection_unknown_types_total", {"projection": "rows", "topic": topic}) - unknown_before == 1
    )
    assert runner.unknown_types == 1 and sum(runner.dead_letters.values()) == 3
    async with KafkaLog(kafka.kafka_bootstrap_servers) as log:
        letters = [
            r
            for r in await log.records(dead_letter_topic(kafka.topic_prefix))
            if dict(r.headers)["dlq_topic"] == topic.encode()
        ]
    assert sorted(dict(r.headers)["ce_id"].decode() for r in letters) == sorted(
        e.event_id for e in (nul, too_big, infinite)
    )
    assert all(b"a\x00b" not in dict(r.headers)["dlq_error"] for r in letters)
