import asyncio
import os
import subprocess
import sys

import asyncpg

from services.sessions.bootstrap import SPEC as SESSIONS


async def names_in(dsn: str, catalog_query: str, schema: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return {r[0] for r in await conn.fetch(catalog_query, schema)}
    finally:
        await conn.close()


TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = $1"
INDEXES = "SELECT indexname FROM pg_indexes WHERE schemaname = $1"


def test_tandem_migrate_creates_a_service_schema_once(dsn):
    env = {**os.environ, "DATABASE_URL": dsn, "TANDEM_SCHEMA_NAME": "migrated_sessions"}
    run = [sys.executable, "-m", "services.cli", "migrate", "--service", "sessions"]
    first = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60)
    second = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60)
    expected = len(SESSIONS.migration_files())  # event store, sessions' own, tracking, the pairs projection's
    assert first.returncode == 0 and f"{expected} migrations applied" in first.stdout, first.stdout + first.stderr
    assert "0 migrations applied" in second.stdout
    tables = asyncio.run(names_in(dsn, TABLES, "migrated_sessions"))
    assert {
        "events",
        "relay_cursor",
        "parked_events",
        "sessions",
        "pairs",
        "projection_offsets",
        "idempotency_keys",
    } <= tables
    assert "idempotency_keys_created_at" in asyncio.run(names_in(dsn, INDEXES, "migrated_sessions"))
