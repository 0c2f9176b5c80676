import asyncio
import os
import subprocess
import sys

import asyncpg


async def tables_in(dsn: str, schema: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return {
            r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema)
        }
    finally:
        await conn.close()


def test_tandem_migrate_creates_a_service_schema_once(dsn):
    env = {**os.environ, "DATABASE_URL": dsn, "TANDEM_SCHEMA_NAME": "migrated_sessions"}
    run = [sys.executable, "-m", "shared.cli", "migrate", "--service", "sessions"]
    first = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60)
    second = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0 and "4 migrations applied" in first.stdout, first.stdout + first.stderr
    assert "0 migrations applied" in second.stdout
    tables = asyncio.run(tables_in(dsn, "migrated_sessions"))
    assert {"events", "relay_cursor", "sessions", "pairs", "projection_offsets"} <= tables
