"""`tandem verify` against tampering done directly in PostgreSQL and by forging Kafka records."""

import json
import uuid

import asyncpg
import pytest

from shared import chain
from shared.connections import idempotent_producer
from shared.eventstore import PostgresEventStore
from shared.relay import Relay
from shared.settings import KafkaSettings
from shared.topics import create_topics, events_topic
from shared.verify import verify_service
from tests.support.kafka_log import produce, withdrawal

SERVICE = "audited"


@pytest.fixture(scope="module")
async def published(kafka: KafkaSettings, dsn: str):
    """Five streams of six events, in the store and relayed to Kafka."""
    from shared import eventstore
    from shared.db import create_pool, migrate, migration_files

    await create_topics(kafka, [events_topic(SERVICE, kafka.topic_prefix)])
    pool = await create_pool(dsn, SERVICE)
    await migrate(pool, SERVICE, migration_files(eventstore.MIGRATIONS))
    store = PostgresEventStore(pool, SERVICE)
    for s in range(5):
        await store.append(f"s{s}", 0, [withdrawal(f"s{s}", v).event() for v in range(1, 7)])
    producer = idempotent_producer(kafka.client_options())
    await producer.start()
    relay = Relay(store, dsn, events_topic(SERVICE, kafka.topic_prefix), producer, source="/tandem/audited")
    await relay._ensure_cursor()
    while await relay.publish_batch():
        pass
    await producer.stop()
    yield store
    await pool.close()


def kinds(findings) -> set[tuple[str, str, str, int | None]]:
    return {(f.copy.split(":")[0], f.kind, f.stream_id, f.version) for f in findings}


async def test_a_clean_log_is_reported_clean(published, kafka, dsn):
    assert await verify_service(dsn, kafka, SERVICE) == []


async def test_forged_kafka_records_are_found(published, kafka, dsn):
    topic = events_topic(SERVICE, kafka.topic_prefix)
    [original] = [e for e in await published.read_stream("s4") if e.version == 2]
    edited = original.envelope("/tandem/audited")
    edited = type(edited)(**{**edited.__dict__, "data": {**edited.data, "reason": "forged"}})
    forged = withdrawal("s4", 7, event_id=str(uuid.uuid4()))
    await produce(kafka.kafka_bootstrap_servers, topic, [edited, forged])

    found = kinds(await verify_service(dsn, kafka, SERVICE))
    assert found == {("kafka", "edited", "s4", 2), ("kafka", "inserted", "s4", 7)}


async def test_tampering_in_postgres_is_found_with_its_position(published, kafka, dsn):
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            f"UPDATE {SERVICE}.events SET data = jsonb_set(data, '{{reason}}', '\"edited\"')"
            " WHERE stream_id = 's0' AND version = 3"
        )
        await conn.execute(f"DELETE FROM {SERVICE}.events WHERE stream_id = 's1' AND version = 2")
        await _swap_positions(conn, "s2", 4, 5)
        head = await conn.fetchrow(f"SELECT * FROM {SERVICE}.events WHERE stream_id = 's3' AND version = 6")
        await _insert_forged(conn, head)
    finally:
        await conn.close()

    found = {f for f in kinds(await verify_service(dsn, kafka, SERVICE)) if f[0] == "postgres"}
    assert found == {
        ("postgres", "edited", "s0", 3),
        ("postgres", "dropped", "s1", 2),
        ("postgres", "reordered", "s2", 5),
        ("postgres", "inserted", "s3", 7),
    }


async def _insert_forged(conn: asyncpg.Connection, head: asyncpg.Record) -> None:
    """A well-formed event for s3 v7 whose chain does not follow s3 v6 (its author lacked the real hash)."""
    event = withdrawal("s3", 7)
    data, when, prev = event.data, head["recorded_at"], "f" * 64
    digest = chain.link(prev, "s3", 7, event.event_id, event.type, data, when)
    await conn.execute(
        f"""INSERT INTO {SERVICE}.events (stream_id, version, event_id, type, data, recorded_at, prev_hash, hash)
            VALUES ('s3', 7, $1, $2, $3::jsonb, $4, $5, $6)""",
        event.event_id,
        event.type,
        json.dumps(data),
        when,
        prev,
        digest,
    )


async def _swap_positions(conn: asyncpg.Connection, stream: str, a: int, b: int) -> None:
    """Reorder two events of a stream in the log (through a free position: the key is checked per row)."""
    where = f"FROM {SERVICE}.events WHERE stream_id = $1 AND version = $2"
    pa, pb = [await conn.fetchval(f"SELECT position {where}", stream, v) for v in (a, b)]
    for version, position in ((a, -1), (b, pa), (a, pb)):
        await conn.execute(
            f"UPDATE {SERVICE}.events SET position = $3 WHERE stream_id = $1 AND version = $2",
            stream,
            version,
            position,
        )
