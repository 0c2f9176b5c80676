"""SIGTERM to a real service process (insights) while it applies a stream: it exits cleanly within the grace
period, and after a restart every event has taken effect exactly once (issue #6)."""

import asyncio
import signal
import time
import uuid

import asyncpg

from shared.envelope import Envelope
from shared.events import ParticipantEnrolled
from shared.settings import KafkaSettings
from shared.topics import create_topics, events_topic, platform_topics
from tests.support.kafka_log import envelope_of, produce
from tests.support.services import ServiceProcess, eventually, service_env

EVENTS, GRACE_S = 12000, 20


def enrolments(program: str) -> list[Envelope]:
    return [
        envelope_of(
            ParticipantEnrolled(
                program_id=program,
                participant_id=f"p{i}",
                role="mentor",
                grade=2,
                birth_year=2000,
                department="IT",
                time_zone="UTC",
                languages=("en",),
            ),
            f"enrolment-{program}-p{i}",
        )
        for i in range(EVENTS)
    ]


async def applied(dsn: str, schema: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        # Each enrolment is its own stream (version 1): one tracking row per stream applied.
        if not await conn.fetchval("SELECT to_regclass($1)", f"{schema}.projection_streams"):
            return 0
        return await conn.fetchval(f"SELECT count(*) FROM {schema}.projection_streams WHERE projection = 'facts'")
    finally:
        await conn.close()


def test_a_service_stopped_mid_stream_finishes_cleanly_and_resumes_exactly_once(kafka, dsn, child_env):
    schema, prefix = "insights_sigterm", f"{kafka.topic_prefix}sig"  # topics of its own: only its events count
    own = KafkaSettings(kafka_bootstrap_servers=kafka.kafka_bootstrap_servers, topic_prefix=prefix)
    asyncio.run(create_topics(own, platform_topics(prefix)))
    # Ready at once (not only when caught up), so the stop can land while most of the stream is still ahead.
    env = service_env(
        child_env,
        TANDEM_SCHEMA_NAME=schema,
        TANDEM_SHUTDOWN_GRACE_S=str(GRACE_S),
        TANDEM_TOPIC_PREFIX=prefix,
        TANDEM_READY_MAX_LAG=str(10 * EVENTS),
    )
    asyncio.run(
        produce(
            kafka.kafka_bootstrap_servers,
            events_topic("enrolment", prefix),
            enrolments(f"prg-{uuid.uuid4().hex[:6]}"),
        )
    )
    service = ServiceProcess("insights", env).start()
    try:
        eventually(lambda: asyncio.run(applied(dsn, schema)) > 100, 60, "insights to start applying")
    except AssertionError:
        service.stop()
        raise
    stopped_at = time.monotonic()
    assert service.stop(signal.SIGTERM, timeout_s=GRACE_S) == 0
    assert time.monotonic() - stopped_at < GRACE_S
    assert asyncio.run(applied(dsn, schema)) < EVENTS, "the stop must land mid-stream"

    service = ServiceProcess("insights", env).start()
    try:
        eventually(lambda: asyncio.run(applied(dsn, schema)) >= EVENTS, 120, "the rest after the restart")
    finally:
        assert service.stop() == 0
    assert asyncio.run(applied(dsn, schema)) == EVENTS
