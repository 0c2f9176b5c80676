"""A minimal read model for runtime tests: how many events each stream had, and its last version."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from shared.connections import Connections
from shared.db import migrate, migration_files
from shared.envelope import Envelope
from shared.events import EVENT_TYPES, Event
from shared.projection import TRACKING_MIGRATIONS, Projection, ProjectionRunner
from shared.settings import KafkaSettings


class CountingProjection(Projection):
    name = "counting"
    migrations = Path(__file__).with_name("counting_sql")
    handles = frozenset(EVENT_TYPES)
    parallel_replay = True  # one row per stream, one upsert per event

    def __init__(self, topics: list[str], delay_per_event_s: float = 0.0):
        self.counted_topics = topics
        self.delay_per_event_s = delay_per_event_s

    def topics(self, prefix: str) -> list[str]:
        return self.counted_topics

    async def apply(self, conn: asyncpg.Connection, envelope: Envelope, event: Event) -> None:
        if self.delay_per_event_s:
            await asyncio.sleep(self.delay_per_event_s)
        await conn.execute(
            """INSERT INTO stream_counts (stream_id, events, last_version) VALUES ($1, 1, $2)
               ON CONFLICT (stream_id) DO UPDATE
               SET events = stream_counts.events + 1, last_version = EXCLUDED.last_version""",
            envelope.stream_id,
            envelope.stream_version,
        )


class ProcessCountingProjection(CountingProjection):
    """Also counts, under the stream id `pid:<process id>`, the events each process applied (replays by several)."""

    async def apply(self, conn: asyncpg.Connection, envelope: Envelope, event: Event) -> None:
        await super().apply(conn, envelope, event)
        await conn.execute(
            """INSERT INTO stream_counts (stream_id, events, last_version) VALUES ($1, 1, 0)
               ON CONFLICT (stream_id) DO UPDATE SET events = stream_counts.events + 1""",
            f"pid:{os.getpid()}",
        )


async def read_counts(dsn: str, schema: str) -> dict[str, tuple[int, int]]:
    conn = await asyncpg.connect(dsn)
    try:
        exists = await conn.fetchval("SELECT to_regclass($1)", f"{schema}.stream_counts")
        if not exists:
            return {}
        rows = await conn.fetch(f"SELECT stream_id, events, last_version FROM {schema}.stream_counts")
        return {r["stream_id"]: (r["events"], r["last_version"]) for r in rows}
    finally:
        await conn.close()


@asynccontextmanager
async def counting_runner(kafka: KafkaSettings, dsn: str, schema: str, topic: str) -> AsyncIterator[ProjectionRunner]:
    """A runner of the counting projection on `topic` into `schema`, over connections of its own (a process's)."""
    projection = CountingProjection([topic])
    async with Connections(dsn, kafka, schema, pool_size=4) as connections:
        await migrate(connections.pool, schema, migration_files(TRACKING_MIGRATIONS, projection.migrations))
        yield ProjectionRunner(projection, connections)
