"""Per-person keys in the real PostgreSQL (issue #19 item 1): a key made once per subject however many transactions
ask at once, destroyed for good by an erasure, and the master key rotated by `tandem keys rotate` without a sealed
byte changing: after the old master key is dropped, everything still opens."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from shared import eventstore, sealing
from shared.db import create_pool, migrate, migration_files
from shared.events import ParticipantWithdrawn
from shared.keys import MasterKeys, PostgresKeyStore, subject_of

K1 = "k1:" + base64.urlsafe_b64encode(b"1" * 32).decode()
K2 = "k2:" + base64.urlsafe_b64encode(b"2" * 32).decode()


@pytest.fixture
async def own_dsn(dsn):
    """A database of its own: a rotation rewraps every key of its database, and the run's other tests (and their
    services, configured with the development master key) share theirs."""
    name = f"keys_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(dsn)
    await admin.execute(f"CREATE DATABASE {name}")
    yield urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))
    await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await admin.close()


@pytest.fixture
async def pool(own_dsn):
    """The event store's migrations create the database's one keys table."""
    pool = await create_pool(own_dsn, "store", max_size=6)
    await migrate(pool, "store", migration_files(eventstore.MIGRATIONS))
    yield pool
    await pool.close()


def tandem_keys(dsn: str, master_keys: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": dsn, "TANDEM_MASTER_KEYS": master_keys}
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "keys", *args], env=env, capture_output=True, text=True, timeout=120
    )


async def test_concurrent_transactions_asking_for_a_new_subjects_key_all_get_the_same_one(pool):
    store = PostgresKeyStore(MasterKeys(K1))
    subject = subject_of("prg-race", f"p-{uuid.uuid4().hex[:8]}")

    async def ask() -> bytes | None:
        async with pool.acquire() as conn, conn.transaction():
            return (await store.keys(conn, [subject], create=True)).get(subject)

    keys = await asyncio.gather(*(ask() for _ in range(5)))
    assert len(set(keys)) == 1 and keys[0] is not None and len(keys[0]) == 32


async def test_rotation_rewraps_every_live_key_and_the_old_master_key_can_then_go(pool, own_dsn):
    program = f"prg-{uuid.uuid4().hex[:8]}"
    people = [f"p-{n}" for n in range(3)]
    old = PostgresKeyStore(MasterKeys(K1))
    ring = await old.keys(pool, [subject_of(program, p) for p in people], create=True)
    bodies = [
        sealing.seal(ParticipantWithdrawn.type_name, {"program_id": program, "participant_id": p, "reason": p}, ring)
        for p in people
    ]
    assert await old.destroy(pool, [subject_of(program, people[0])]) == 1
    assert await old.destroy(pool, [subject_of(program, people[0])]) == 0, "destroyed once"

    rotated = tandem_keys(own_dsn, f"{K2},{K1}", "rotate", "--batch-size", "1")
    assert rotated.returncode == 0, rotated.stderr
    assert "under master key 'k2'" in rotated.stdout
    assert K1.partition(":")[2] not in rotated.stdout + rotated.stderr
    assert await _masters(own_dsn) == {"k2": 2, None: 1}

    new_only = PostgresKeyStore(MasterKeys(K2))  # k1 dropped from the configuration
    ring = await new_only.keys(pool, [subject_of(program, p) for p in people], create=False)
    reasons = [sealing.unseal(ParticipantWithdrawn.type_name, b, ring)["reason"] for b in bodies]
    assert reasons == ["", "p-1", "p-2"], "the erased one stays unreadable; the others open with the same data keys"
    status = tandem_keys(own_dsn, K2, "status")
    assert status.returncode == 0 and "k2:" in status.stdout and "destroyed:" in status.stdout


async def _masters(dsn: str) -> dict[str | None, int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT master_key_id, count(*) AS n FROM keys.subject_keys GROUP BY 1")
        return {r["master_key_id"]: r["n"] for r in rows}
    finally:
        await conn.close()
