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

from shared.db import check_identifier
from shared.projection import Projection, ProjectionRunner

TRACKING_TABLES = ("projection_offsets", "projection_applied_events")


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
    *,
    dsn: str,
    live_schema: str,
    bootstrap_servers: str,
    dead_letter_topic: str,
    on_batch: Callable[[int], None] | None = None,
) -> ReplayResult:
    replay_schema = check_identifier(f"{live_schema}_replay")
    await _drop_schema(dsn, replay_schema)
    runner = ProjectionRunner(
        projection,
        dsn=dsn,
        schema=replay_schema,
        bootstrap_servers=bootstrap_servers,
        dead_letter_topic=dead_letter_topic,
        on_batch=on_batch,
    )
    await runner.setup()
    started = time.perf_counter()
    try:
        events = await runner.catch_up()
    finally:
        await runner.close()
    seconds = time.perf_counter() - started
    tables = await compare(dsn, live_schema, replay_schema, projection_tables(projection))
    return ReplayResult(projection.name, replay_schema, events, seconds, tables)


async def compare(dsn: str, live: str, replayed: str, tables: list[str]) -> list[Comparison]:
    conn = await asyncpg.connect(dsn)
    try:
        comparisons = []
        for table in tables:
            (live_rows, live_digest), (replayed_rows, replayed_digest) = [
                await _digest(conn, schema, table) for schema in (live, replayed)
            ]
            comparisons.append(Comparison(table, live_rows, replayed_rows, live_digest == replayed_digest))
        return comparisons
    finally:
        await conn.close()


async def _digest(conn: asyncpg.Connection, schema: str, table: str) -> tuple[int, str]:
    row = await conn.fetchrow(
        f"SELECT count(*) AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS digest"
        f" FROM {schema}.{table} t"
    )
    return row["n"], row["digest"]


async def swap(dsn: str, projection: Projection, live: str, replayed: str) -> None:
    """Put the replayed tables and tracking rows in place of the live ones; the old tables are dropped."""
    conn = await asyncpg.connect(dsn)
    try:
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
    finally:
        await conn.close()


async def _drop_schema(dsn: str, schema: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await conn.close()
