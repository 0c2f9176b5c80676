"""PostgreSQL plumbing every service shares: a connection pool bound to one schema, and migrations.

Migrations are plain numbered SQL files applied in order by a runner of ~40 lines. We chose that over
Alembic because Tandem has no ORM (asyncpg and SQL only) and each migration set is small; the runner keeps
what matters: ordered, transactional, recorded in `schema_migrations`, safe under concurrent starts
(an advisory lock serialises replicas that start together).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)

SHARED_SQL = Path(__file__).with_name("sql")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_identifier(name: str) -> str:
    """Schema names end up in SQL text; only plain lower-case identifiers are allowed."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a valid PostgreSQL schema name: {name!r}")
    return name


def advisory_key(text: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock derived from a name."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


async def create_pool(dsn: str, schema: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """A pool whose connections see `schema` first, so service SQL uses unqualified table names."""
    check_identifier(schema)
    await ensure_schema(dsn, schema)
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={"search_path": f"{schema},public"},
        reset=end_transaction_only,
    )


async def end_transaction_only(conn: asyncpg.Connection) -> None:
    """What a pooled connection needs on release. asyncpg's default reset sends `pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL` on every release: one more round trip per request (issue #18). Pooled connections never
    take session-level locks, LISTEN, keep cursors past a transaction or SET outside a transaction (LISTEN and the
    relay's session lock live on connections of their own), so ending a transaction left open is all there is to do."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def ensure_schema(dsn: str, schema: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {check_identifier(schema)}")
    finally:
        await conn.close()


def migration_files(*folders: Path) -> list[Path]:
    """Files named NNN_title.sql from the given folders, in the order given then by number."""
    return [f for folder in folders for f in sorted(folder.glob("[0-9][0-9][0-9]_*.sql"))]


async def migrate(pool: asyncpg.Pool, schema: str, files: Iterable[Path]) -> list[str]:
    """Apply the files not yet recorded in `<schema>.schema_migrations`; return the names applied."""
    applied: list[str] = []
    async with pool.acquire() as conn:
        async with conn.transaction():
            # Under the lock: replicas starting together must not race to create the bookkeeping table either.
            await conn.execute("SELECT pg_advisory_xact_lock($1)", advisory_key(f"migrate:{schema}"))
            # The pool may serve several schemas (a replay beside the live one): migrate the one named.
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {check_identifier(schema)}")
            await conn.execute(f"SET LOCAL search_path TO {check_identifier(schema)}, public")
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
            for file in files:
                name = f"{file.parent.name}/{file.name}"
                if name in done:
                    continue
                await conn.execute(file.read_text())
                await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
                applied.append(name)
                log.info("schema %s: applied migration %s", schema, name)
    return applied
