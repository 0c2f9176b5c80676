"""Rebuild a service's read models from offset 0 into a fresh schema, compare them with the live ones, and
optionally swap them in (auditors, bug fixes, new projections: ARCHITECTURE §2).

A service's schema also holds its own write state (event store, command tables), so a swap moves only the
projection's tables and its tracking rows, in one transaction: the live schema keeps everything else.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from shared.connections import Connections
from shared.db import check_identifier, migrate, migration_files
from shared.projection import TRACKING_MIGRATIONS, Projection, ProjectionRunner

TRACKING_TABLES = ("projection_offsets", "projection_streams")
# Records per fetch in a replay: larger than a live runner's (latency does not matter, per-batch round trips do).
REPLAY_BATCH = 5000


@dataclass(frozen=True)
class Comparison:
    table: str
    live_rows: int
    replayed_rows: int
    identical: bool


@dataclass(frozen=True)
class ReplayResult:
    projection: str
    schema: str
    events: int
    seconds: float
    tables: list[Comparison]

    @property
    def identical(self) -> bool:
        return all(t.identical for t in self.tables)


def projection_tables(projection: Projection) -> list[str]:
    """The tables a projection's migrations create, in order."""
    if projection.migrations is None:
        return []
    sql = "\n".join(f.read_text() for f in sorted(projection.migrations.glob("*.sql")))
    return re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", sql, flags=re.IGNORECASE)


async def replay(
    projection: Projection,
    connections: Connections,
    *,
    live_schema: str,
    on_batch: Callable[[int], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    max_records: int = REPLAY_BATCH,
) -> ReplayResult:
    """Rebuild `projection` from offset 0 into `<live_schema>_replay`, over the process's connections (so the
    Kafka TLS/SASL settings and the one pool serve the replay too), and compare it with the live tables."""
    replay_schema = check_identifier(f"{live_schema}_replay")
    pool = connections.pool
    await pool.execute(f"DROP SCHEMA IF EXISTS {replay_schema} CASCADE")
    folders = [TRACKING_MIGRATIONS] + ([projection.migrations] if projection.migrations else [])
    await migrate(pool, replay_schema, migration_files(*folders))
    runner = ProjectionRunner(projection, connections, schema=replay_schema, on_batch=on_batch, max_records=max_records)
    started = time.perf_counter()
    events = await runner.catch_up(on_start=on_start)
    seconds = time.perf_counter() - started
    tables = await compare(pool, live_schema, replay_schema, projection_tables(projection))
    return ReplayResult(projection.name, replay_schema, events, seconds, tables)


async def compare(pool: asyncpg.Pool, live: str, replayed: str, tables: list[str]) -> list[Comparison]:
    async with pool.acquire() as conn:
        comparisons = []
        for table in tables:
            (live_rows, live_digest), (replayed_rows, replayed_digest) = [
                await _digest(conn, schema, table) for schema in (live, replayed)
            ]
            comparisons.append(Comparison(table, live_rows, replayed_rows, live_digest == replayed_digest))
        return comparisons


async def _digest(conn: asyncpg.Connection, schema: str, table: str) -> tuple[int, str]:
    row = await conn.fetchrow(
        f"SELECT count(*) AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS digest"
        f" FROM {schema}.{table} t"
    )
    return row["n"], row["digest"]


async def swap(pool: asyncpg.Pool, projection: Projection, live: str, replayed: str) -> None:
    """Put the replayed tables and tracking rows in place of the live ones; the old tables are dropped."""
    async with pool.acquire() as conn:
        async with conn.transaction():
            for table in projection_tables(projection):
                await conn.execute(f"DROP TABLE {live}.{table} CASCADE")
                await conn.execute(f"ALTER TABLE {replayed}.{table} SET SCHEMA {live}")
            for table in TRACKING_TABLES:
                await conn.execute(f"DELETE FROM {live}.{table} WHERE projection = $1", projection.name)
                await conn.execute(
                    f"INSERT INTO {live}.{table} SELECT * FROM {replayed}.{table} WHERE projection = $1",
                    projection.name,
                )
