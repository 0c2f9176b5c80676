"""Write-path benchmark (issue #18, items 3 and 4).

(a) relay: committed event-store rows -> acknowledged Kafka records, against raw aiokafka produce of the very same
    records (keys, headers and values built before the clock starts, acks=all, idempotent): the ceiling;
(b) append: events/s of `PostgresEventStore.append` (one event on a new stream per call, CONCURRENCY callers at once)
    against the Python `eventsourcing` library's PostgreSQL application saving one new aggregate per call, with
    CONCURRENCY threads over a pool of the same size, on the same PostgreSQL, the same number of events;
(c) projection: the relay's events into a read model with tracking (`tandem replay`'s catch-up, from Kafka) against
    the `eventsourcing` library's `ProjectionRunner` building the same read model from its own PostgreSQL log.
Medians of REPEATS runs, alternating the two sides, because the host is shared and noisy: only ratios count.
"""

from __future__ import annotations

import asyncio
import functools
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import asyncpg

from bench.eventlog import projection_rate, raw_produce, relay_rate
from bench.report import merge_section, print_table
from shared import eventstore
from shared.db import create_pool, migrate, migration_files
from shared.settings import DatabaseSettings, KafkaSettings
from shared.topics import create_topics
from tests.support.kafka_log import withdrawal

RELAY_EVENTS = int(os.environ.get("TANDEM_BENCH_RELAY_EVENTS", "20000"))
APPENDS = int(os.environ.get("TANDEM_BENCH_APPENDS", "4000"))
CONCURRENCY = int(os.environ.get("TANDEM_BENCH_CONCURRENCY", "8"))
REPEATS = int(os.environ.get("TANDEM_BENCH_REPEATS", "3"))
STREAMS = 500
SOURCE = "/tandem/enrolment"


async def run() -> None:
    run_id = "w" + uuid.uuid4().hex[:8]
    kafka = KafkaSettings(topic_prefix=run_id)
    admin_dsn = DatabaseSettings().database_url
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f"CREATE DATABASE {run_id}")
    dsn = admin_dsn.rsplit("/", 1)[0] + f"/{run_id}"
    try:
        relay_rows, relayed_topic = await _relay_vs_produce(kafka, dsn, run_id)
        projection_rows = await _projection_vs_eventsourcing(kafka, dsn, relayed_topic)
        rows = [*relay_rows, *projection_rows, *await _append_vs_eventsourcing(dsn)]
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {run_id} WITH (FORCE)")
        await admin.close()
    print_table(f"Write path (medians of {REPEATS}; {CONCURRENCY} concurrent appenders)", rows)
    merge_section(
        "writepath",
        {
            "relay_events": RELAY_EVENTS,
            "appends": APPENDS,
            "concurrency": CONCURRENCY,
            "repeats": REPEATS,
            "rows": rows,
        },
    )


def _row(what: str, rate: float, peer: str, peer_rate: float, target: str) -> dict:
    return {
        "measure": what,
        "events/s": round(rate),
        "against": peer,
        "against events/s": round(peer_rate),
        "ratio": round(rate / peer_rate, 3),
        "target": target,
    }


# ------------------------------------------------------------------------------------------------- relay


async def _relay_vs_produce(kafka: KafkaSettings, dsn: str, run_id: str) -> tuple[list[dict], str]:
    """The relay's row, and a topic the relay filled (the projection's input)."""
    pool = await create_pool(dsn, "relay_store", max_size=4)
    await migrate(pool, "relay_store", migration_files(eventstore.MIGRATIONS))
    store = eventstore.PostgresEventStore(pool, "relay_store")
    per_stream = RELAY_EVENTS // STREAMS
    for s in range(STREAMS):
        await store.append(f"s{s}", 0, [withdrawal(f"s{s}", v).event() for v in range(1, per_stream + 1)])
    records = [e.envelope(SOURCE).kafka_record() for e in await store.read_after(0, RELAY_EVENTS)]
    relay_rates, produce_rates = [], []
    for attempt in range(REPEATS):
        topics = [f"{run_id}.relay{attempt}", f"{run_id}.raw{attempt}"]
        await create_topics(kafka, topics)
        relay_rates.append(await relay_rate(store, dsn, kafka, topics[0], RELAY_EVENTS))
        produce_rates.append(await raw_produce(kafka, topics[1], records))
    await pool.close()
    relay, produce = statistics.median(relay_rates), statistics.median(produce_rates)
    row = _row("relay: event store -> Kafka (acked)", relay, "raw aiokafka produce", produce, ">= 0.9")
    return [row], f"{run_id}.relay0"


# -------------------------------------------------------------------------------------------- projection


async def _projection_vs_eventsourcing(kafka: KafkaSettings, dsn: str, topic: str) -> list[dict]:
    """The same read model on both sides: one row per stream counting its events and keeping its last version,
    with tracking, over RELAY_EVENTS events of STREAMS streams. Ours reads them from Kafka (the relay's topic);
    the peer's `ProjectionRunner` follows its application's PostgreSQL notification log."""
    return [
        await _against_peer(
            "projection: events -> read model + tracking",
            lambda attempt: projection_rate(kafka, dsn, topic, f"projection_{attempt}", RELAY_EVENTS),
            "eventsourcing 9.5 ProjectionRunner",
            lambda attempt: _eventsourcing_projection(dsn, f"es_projection_{attempt}"),
            ">= 20",
        )
    ]


def _eventsourcing_projection(dsn: str, schema: str) -> float:
    from eventsourcing.postgres import PostgresTrackingRecorder
    from eventsourcing.projection import Projection, ProjectionRunner
    from psycopg.sql import SQL, Identifier

    Participation = _participation()
    app = _eventsourcing_application(dsn, schema)
    per_stream = RELAY_EVENTS // STREAMS
    for s in range(STREAMS):
        aggregate = Participation(program_id="prg-1", participant_id=f"s{s}", reason="moved")
        for _ in range(per_stream - 1):
            aggregate.note("moved again")
        app.save(aggregate)
    last = app.recorder.max_notification_id()
    app.close()

    class StreamCounts(PostgresTrackingRecorder):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.sql_create_statements.append(
                SQL(
                    "CREATE TABLE IF NOT EXISTS {0}.stream_counts"
                    " (stream_id text PRIMARY KEY, events int NOT NULL, last_version bigint NOT NULL)"
                ).format(Identifier(schema))
            )

        def counted(self, stream_id: str, version: int, tracking) -> None:
            with self.datastore.transaction(commit=True) as cursor:
                cursor.execute(
                    f"""INSERT INTO {schema}.stream_counts VALUES (%s, 1, %s) ON CONFLICT (stream_id) DO UPDATE
                        SET events = stream_counts.events + 1, last_version = EXCLUDED.last_version""",
                    (stream_id, version),
                )
                self._insert_tracking(cursor, tracking)

    class Counting(Projection[StreamCounts]):
        def process_event(self, domain_event, tracking) -> None:
            self.view.counted(str(domain_event.originator_id), domain_event.originator_version, tracking)

    started = time.perf_counter()
    with ProjectionRunner(
        application_class=type(app),
        projection_class=Counting,
        view_class=StreamCounts,
        env=_eventsourcing_env(dsn, schema),
    ) as runner:
        runner.wait(last, timeout=600)
        elapsed = time.perf_counter() - started
    return RELAY_EVENTS / elapsed


# ------------------------------------------------------------------------------------------------ append


async def _append_vs_eventsourcing(dsn: str) -> list[dict]:
    return [
        await _against_peer(
            "append: one event on a new stream per call",
            lambda attempt: _tandem_appends(dsn, f"append_{attempt}"),
            "eventsourcing 9.5 (PostgreSQL)",
            lambda attempt: _eventsourcing_appends(dsn, f"es_{attempt}"),
            ">= 3",
        )
    ]


async def _against_peer(
    what: str,
    ours: Callable[[int], Awaitable[float]],
    peer: str,
    theirs: Callable[[int], float],
    target: str,
) -> dict:
    """REPEATS runs of each side, alternating (the host's speed drifts), the peer's in a thread (it is
    synchronous); the row compares the medians."""
    our_rates, their_rates = [], []
    for attempt in range(REPEATS):
        our_rates.append(await ours(attempt))
        their_rates.append(await asyncio.to_thread(theirs, attempt))
    return _row(what, statistics.median(our_rates), peer, statistics.median(their_rates), target)


async def _tandem_appends(dsn: str, schema: str) -> float:
    pool = await create_pool(dsn, schema, min_size=CONCURRENCY, max_size=CONCURRENCY)
    await migrate(pool, schema, migration_files(eventstore.MIGRATIONS))
    store = eventstore.PostgresEventStore(pool, schema)
    events = [withdrawal(f"a{i}", 1).event() for i in range(APPENDS)]

    async def writer(w: int) -> None:
        for i in range(w, APPENDS, CONCURRENCY):
            await store.append(f"a{i}", 0, [events[i]])

    started = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(CONCURRENCY)))
    elapsed = time.perf_counter() - started
    await pool.close()
    return APPENDS / elapsed


@functools.cache
def _participation() -> type:
    """The peer's aggregate, defined once: eventsourcing registers each class under its topic (module and name)."""
    from eventsourcing.domain import Aggregate, event

    class Participation(Aggregate):
        @event("Withdrawn")
        def __init__(self, program_id: str, participant_id: str, reason: str):
            self.program_id, self.participant_id, self.reason = program_id, participant_id, reason

        @event("Noted")
        def note(self, reason: str) -> None:
            self.reason = reason

    return Participation


def _eventsourcing_appends(dsn: str, schema: str) -> float:
    Participation = _participation()
    app = _eventsourcing_application(dsn, schema)

    def writer(w: int) -> None:
        for i in range(w, APPENDS, CONCURRENCY):
            app.save(Participation(program_id="prg-1", participant_id=f"a{i}", reason="moved"))

    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as threads:
        list(threads.map(writer, range(CONCURRENCY)))
    elapsed = time.perf_counter() - started
    app.close()
    return APPENDS / elapsed


def _eventsourcing_application(dsn: str, schema: str):
    import psycopg
    from eventsourcing.application import Application

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")  # type: ignore[arg-type]
    return Application(env=_eventsourcing_env(dsn, schema))


def _eventsourcing_env(dsn: str, schema: str) -> dict[str, str]:
    url = urlparse(dsn)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": url.path.lstrip("/"),
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": url.username or "postgres",
        "POSTGRES_PASSWORD": url.password or "",
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_POOL_SIZE": str(CONCURRENCY),
        "CREATE_TABLE": "y",
    }
