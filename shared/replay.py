"""Rebuild a service's read models from offset 0 into a fresh schema, compare them with the live ones, and
optionally swap them in (auditors, bug fixes, new projections: ARCHITECTURE §2).

A read model that allows its partitions to be applied concurrently (`Projection.parallel_replay`) may be rebuilt by
several processes, each catching up its share of the partitions into the same schema: one Python process parses
and validates records on one core, so on a machine with cores to spare this is what makes a replay faster (2
processes on 2 cores: 1.5x the events/s of one, issue #18).

A service's schema also holds its own write state (event store, command tables), so a swap moves only the
projection's tables and its tracking rows, in one transaction: the live schema keeps everything else.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from shared.connections import Connections
from shared.db import check_identifier, migrate, migration_files
from shared.projection import TRACKING_MIGRATIONS, Projection, ProjectionRunner
from shared.settings import KafkaSettings

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
    processes: int = 1,
) -> ReplayResult:
    """Rebuild `projection` from offset 0 into `<live_schema>_replay`, over the process's connections (so the
    Kafka TLS/SASL settings and the one pool serve the replay too), and compare it with the live tables. With
    `processes` above 1, and a projection that allows it, that many processes share the partitions."""
    replay_schema = check_identifier(f"{live_schema}_replay")
    pool = connections.pool
    await pool.execute(f"DROP SCHEMA IF EXISTS {replay_schema} CASCADE")
    folders = [TRACKING_MIGRATIONS] + ([projection.migrations] if projection.migrations else [])
    await migrate(pool, replay_schema, migration_files(*folders))
    started = time.perf_counter()
    if processes > 1 and projection.parallel_replay:
        share = _Share(projection, connections.database_url, connections.kafka, replay_schema, max_records)
        events = await share.in_processes(processes, on_start, on_batch)
    else:
        runner = ProjectionRunner(
            projection, connections, schema=replay_schema, on_batch=on_batch, max_records=max_records
        )
        events = await runner.catch_up(on_start=on_start)
    seconds = time.perf_counter() - started
    tables = await compare(pool, live_schema, replay_schema, projection_tables(projection))
    return ReplayResult(projection.name, replay_schema, events, seconds, tables)


@dataclass(frozen=True)
class _Share:
    """What a child process needs to catch up its share of a replay's partitions (sent to it pickled)."""

    projection: Projection
    database_url: str
    kafka: KafkaSettings
    schema: str
    max_records: int

    async def in_processes(
        self, processes: int, on_start: Callable[[int], None] | None, on_batch: Callable[[int], None] | None
    ) -> int:
        """Run `processes` children, one per share of the partitions (a process each: a pool could hand a quick
        share to a child that already finished its own); relay their progress; return the events applied."""
        context = multiprocessing.get_context("spawn")  # a fork would copy this process's loop and sockets
        progress = context.Queue()
        children = [
            context.Process(target=self.catch_up, args=((i, processes), progress), name=f"replay {i + 1}/{processes}")
            for i in range(processes)
        ]
        for child in children:
            child.start()
        totals: list[int] = []
        applied: list[int] = []
        try:
            # One queue, and each child's reports in order: once every child said "done", every report is in.
            while len(applied) < processes:
                try:
                    kind, value = await asyncio.to_thread(progress.get, True, 1.0)
                except queue.Empty:
                    if any(child.exitcode not in (None, 0) for child in children):
                        raise RuntimeError("a replay process ended without finishing its share") from None
                    continue
                if kind == "failed":
                    raise RuntimeError(f"a replay process failed: {value}")
                if kind == "done":
                    applied.append(value)
                elif kind == "start":
                    totals.append(value)
                    if on_start and len(totals) == processes:
                        on_start(sum(totals))
                elif on_batch:
                    on_batch(value)
        finally:
            for child in children:
                if child.is_alive():
                    child.terminate()  # the replay failed: the schema is dropped by the next attempt
                child.join()
        return sum(applied)

    def catch_up(self, share: tuple[int, int], progress: Any) -> None:
        """In a child process: catch up the partitions of `share` over connections of its own, reporting to
        `progress` as it goes, then how many events it applied ("done") or why it could not ("failed")."""

        async def run() -> int:
            async with Connections(self.database_url, self.kafka, self.schema, pool_size=4) as connections:
                runner = ProjectionRunner(
                    self.projection,
                    connections,
                    schema=self.schema,
                    max_records=self.max_records,
                    on_batch=lambda n: progress.put(("batch", n)),
                )
                return await runner.catch_up(on_start=lambda n: progress.put(("start", n)), share=share)

        try:
            progress.put(("done", asyncio.run(run())))
        except BaseException as error:
            progress.put(("failed", type(error).__name__))  # the name only: an error's text may quote data
            raise


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
