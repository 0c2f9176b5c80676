"""Rebuilding a read model from offset 0 beside a live one, comparing, and swapping it in."""

import os

import asyncpg

from shared.connections import Connections
from shared.replay import replay, swap
from shared.settings import KafkaSettings
from shared.topics import create_topics
from tests.support.counting import CountingProjection, ProcessCountingProjection, counting_runner, read_counts
from tests.support.kafka_log import produce, withdrawal


async def test_a_replay_equals_the_live_read_model_and_a_swap_repairs_a_damaged_one(kafka: KafkaSettings, dsn):
    topic = f"{kafka.topic_prefix}.replayed"
    await create_topics(kafka, [topic])
    await produce(
        kafka.kafka_bootstrap_servers, topic, [withdrawal(f"s{s}", v) for v in range(1, 11) for s in range(30)]
    )
    projection = CountingProjection([topic])
    async with counting_runner(kafka, dsn, "replay_live", topic) as live:
        await live.catch_up()
    conn = await asyncpg.connect(dsn)
    await conn.execute("CREATE TABLE replay_live.service_state (id int)")  # the service's own, not the projection's

    async with Connections(dsn, kafka, "replay_live", pool_size=4) as connections:
        clean = await replay(projection, connections, live_schema="replay_live")
        assert clean.events == 300 and clean.identical

        await conn.execute("UPDATE replay_live.stream_counts SET events = events + 1 WHERE stream_id = 's7'")  # a bug
        damaged = await replay(projection, connections, live_schema="replay_live")
        assert not damaged.identical
        await swap(connections.pool, projection, "replay_live", damaged.schema)
    assert await read_counts(dsn, "replay_live") == {f"s{s}": (10, 10) for s in range(30)}
    assert await conn.fetchval("SELECT to_regclass('replay_live.service_state') IS NOT NULL")
    await conn.close()


async def test_a_replay_shared_by_two_processes_equals_the_live_read_model(kafka: KafkaSettings, dsn):
    """Each child process catches up every second partition into the same schema; progress reaches the parent."""

    topic = f"{kafka.topic_prefix}.replayed_by_two"
    await create_topics(kafka, [topic])
    await produce(
        kafka.kafka_bootstrap_servers, topic, [withdrawal(f"s{s}", v) for v in range(1, 21) for s in range(40)]
    )
    async with counting_runner(kafka, dsn, "replay_two_live", topic) as live:
        await live.catch_up()
    totals: list[int] = []
    batches: list[int] = []
    async with Connections(dsn, kafka, "replay_two_live", pool_size=4) as connections:
        result = await replay(
            ProcessCountingProjection([topic]),
            connections,
            live_schema="replay_two_live",
            on_start=totals.append,
            on_batch=batches.append,
            max_records=50,
            processes=2,
        )
    assert result.events == 800 and totals == [800] and sum(batches) == 800
    counts = await read_counts(dsn, result.schema)
    by_process = {stream: events for stream, (events, _) in counts.items() if stream.startswith("pid:")}
    assert len(by_process) == 2 and f"pid:{os.getpid()}" not in by_process and sum(by_process.values()) == 800
    assert {k: v for k, v in counts.items() if k not in by_process} == {f"s{s}": (20, 20) for s in range(40)}
