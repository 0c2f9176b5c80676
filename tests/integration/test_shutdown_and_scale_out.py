"""Graceful SIGTERM and scale-out of one projection across processes, against the real broker (issue #6)."""

import signal
import time

from shared.settings import KafkaSettings
from shared.topics import create_topics
from tests.integration.test_projection import start_worker, total
from tests.support.counting import read_counts
from tests.support.kafka_log import produce, wait_until, withdrawal

GRACE_S = 20


async def test_sigterm_mid_stream_exits_in_time_and_loses_or_doubles_nothing(kafka: KafkaSettings, dsn, child_env):
    topic = f"{kafka.topic_prefix}.sigterm"
    await create_topics(kafka, [topic])
    await produce(
        kafka.kafka_bootstrap_servers, topic, [withdrawal(f"s{s}", v) for v in range(1, 41) for s in range(50)]
    )

    worker = start_worker(child_env, "sigterm_rm", topic)
    await wait_until(lambda: _counted(dsn, "sigterm_rm", 200), 60, 0.05, "progress")
    signalled = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(GRACE_S) == 0, "a SIGTERM'd worker exits cleanly"
    assert time.monotonic() - signalled < GRACE_S
    assert total(await read_counts(dsn, "sigterm_rm")) < 2000, "the stop must land mid-stream"

    worker = start_worker(child_env, "sigterm_rm", topic)
    try:
        await wait_until(lambda: _counted(dsn, "sigterm_rm", 2000), 120, 0.2, "the rest after restart")
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(GRACE_S) == 0
    assert await read_counts(dsn, "sigterm_rm") == {f"s{s}": (40, 40) for s in range(50)}


async def test_two_instances_share_partitions_through_rebalances_and_apply_each_event_once(
    kafka: KafkaSettings, dsn, child_env
):
    topic = f"{kafka.topic_prefix}.scaleout"
    await create_topics(kafka, [topic])
    first_half = [withdrawal(f"s{s}", v) for v in range(1, 21) for s in range(60)]
    second_half = [withdrawal(f"s{s}", v) for v in range(21, 41) for s in range(60)]
    await produce(kafka.kafka_bootstrap_servers, topic, first_half)

    a = start_worker(child_env, "scaleout_rm", topic)
    b = None
    try:
        await wait_until(lambda: _counted(dsn, "scaleout_rm", 300), 60, 0.05, "instance A to make progress")
        b = start_worker(child_env, "scaleout_rm", topic)  # joins the group: partitions are reassigned
        await produce(kafka.kafka_bootstrap_servers, topic, second_half)
        await wait_until(lambda: _counted(dsn, "scaleout_rm", 1500), 60, 0.05, "both instances at work")
        a.send_signal(signal.SIGTERM)  # leaves the group mid-stream: B takes over A's partitions
        assert a.wait(GRACE_S) == 0
        await wait_until(lambda: _counted(dsn, "scaleout_rm", 2400), 120, 0.2, "instance B to finish")
    finally:
        for worker in (a, b):
            if worker and worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                worker.wait(GRACE_S)
    assert await read_counts(dsn, "scaleout_rm") == {f"s{s}": (40, 40) for s in range(60)}


async def _counted(dsn: str, schema: str, n: int) -> bool:
    return total(await read_counts(dsn, schema)) >= n
