"""Bounded tracking (issue #18, ADR 0009): a projection remembers each stream's last applied version, one row per
stream, and still applies every event exactly once: a relay that crashed after sending and sends the same events
again (same ids and versions, new offsets) is skipped, so is an older version arriving late; ids recorded before
the upgrade still stop their redeliveries."""

from __future__ import annotations

import asyncpg

from shared.connections import Connections
from shared.db import migrate, migration_files
from shared.projection import TRACKING_MIGRATIONS, ProjectionRunner
from shared.settings import KafkaSettings
from shared.topics import create_topics
from tests.support.counting import CountingProjection, counting_runner, read_counts
from tests.support.kafka_log import KafkaLog, produce, withdrawal

STREAMS, VERSIONS = 20, 10


async def tracking_rows(dsn: str, schema: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(f"SELECT stream_id, last_version FROM {schema}.projection_streams")
        return {r["stream_id"]: r["last_version"] for r in rows}
    finally:
        await conn.close()


async def test_a_relays_redelivery_and_an_older_version_are_skipped_with_one_tracking_row_per_stream(
    kafka: KafkaSettings, dsn
):
    topic = f"{kafka.topic_prefix}.bounded"
    await create_topics(kafka, [topic])
    sent = [withdrawal(f"s{s}", v) for v in range(1, VERSIONS + 1) for s in range(STREAMS)]
    await produce(kafka.kafka_bootstrap_servers, topic, sent)
    async with counting_runner(kafka, dsn, "bounded_live", topic) as runner:
        assert await runner.catch_up() == STREAMS * VERSIONS

        # The relay crashed after Kafka acknowledged but before its cursor moved: it sends the same events again,
        # now at new offsets. Then an older version of s0 arrives late under an id never seen, and s1 moves on.
        await produce(kafka.kafka_bootstrap_servers, topic, sent[len(sent) // 2 :])
        await produce(kafka.kafka_bootstrap_servers, topic, [withdrawal("s0", 4), withdrawal("s1", VERSIONS + 1)])
        assert await runner.catch_up() == 1

    counts = await read_counts(dsn, "bounded_live")
    assert counts == {f"s{s}": (VERSIONS + (s == 1), VERSIONS + (s == 1)) for s in range(STREAMS)}
    assert await tracking_rows(dsn, "bounded_live") == {f"s{s}": VERSIONS + (s == 1) for s in range(STREAMS)}
    async with KafkaLog(kafka.kafka_bootstrap_servers) as log:
        assert await log.size(topic) == len(sent) * 3 // 2 + 2  # every record was consumed, few were applied


async def test_event_ids_recorded_before_the_upgrade_still_stop_their_redeliveries(kafka: KafkaSettings, dsn):
    schema, topic = "bounded_upgraded", f"{kafka.topic_prefix}.upgraded"
    await create_topics(kafka, [topic])
    before = [withdrawal("old", v) for v in (1, 2, 3)]
    projection = CountingProjection([topic])
    async with Connections(dsn, kafka, schema, pool_size=2) as connections:
        first, *later = migration_files(TRACKING_MIGRATIONS, projection.migrations)
        assert first.name == "001_tracking.sql"
        # A projection that ran before this change: it counted three events and recorded their ids.
        await migrate(connections.pool, schema, [first, *[f for f in later if f.parent != TRACKING_MIGRATIONS]])
        await connections.pool.execute(
            f"INSERT INTO {schema}.projection_applied_events SELECT 'counting', unnest($1::text[])",
            [e.event_id for e in before],
        )
        await connections.pool.execute(f"INSERT INTO {schema}.stream_counts VALUES ('old', 3, 3)")
        await migrate(connections.pool, schema, migration_files(TRACKING_MIGRATIONS, projection.migrations))

        # After the upgrade the relay sends those three again (new offsets), then the stream's next event.
        await produce(kafka.kafka_bootstrap_servers, topic, [*before, withdrawal("old", 4)])
        assert await ProjectionRunner(projection, connections).catch_up() == 1

    assert await read_counts(dsn, schema) == {"old": (4, 4)}
    assert await tracking_rows(dsn, schema) == {"old": 4}


async def test_a_batch_with_an_event_the_read_model_refuses_applies_the_rest(kafka: KafkaSettings, dsn):
    topic = f"{kafka.topic_prefix}.refused"
    await create_topics(kafka, [topic])
    refused = withdrawal("big", 2**31)  # past the read model's int4 column: the pipelined batch fails
    unstorable = withdrawal("nul\x00stream", 1)  # no stream id PostgreSQL can track: refused when parsed
    await produce(kafka.kafka_bootstrap_servers, topic, [withdrawal("a", 1), refused, unstorable, withdrawal("a", 2)])
    async with counting_runner(kafka, dsn, "bounded_refused", topic) as runner:
        assert await runner.catch_up() == 2
        assert runner.dead_letters == {"apply": 1, "parse": 1}
    assert await read_counts(dsn, "bounded_refused") == {"a": (2, 2)}
