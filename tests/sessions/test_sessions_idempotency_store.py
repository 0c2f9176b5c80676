"""Idempotency keys in PostgreSQL: remembered within their time to live, forgotten and cleared after it."""

import uuid
from datetime import timedelta

import pytest

from services.sessions.adapters.repository import claim_idempotency_key, remember_response
from services.sessions.bootstrap import MIGRATIONS
from shared.db import create_pool, migrate, migration_files

pytestmark = pytest.mark.infra
TTL = timedelta(days=7)


@pytest.fixture
async def keys_pool(dsn):
    schema = f"sessions_keys_{uuid.uuid4().hex[:8]}"
    pool = await create_pool(dsn, schema, max_size=2)
    await migrate(pool, schema, migration_files(MIGRATIONS))
    yield pool
    await pool.execute(f"DROP SCHEMA {schema} CASCADE")
    await pool.close()


async def claim_and_answer(conn, caller: str, key: str, request_hash: str, answer: dict) -> None:
    assert await claim_idempotency_key(conn, caller, key, request_hash, TTL) is None
    await remember_response(conn, caller, key, answer)


async def test_a_key_within_its_time_to_live_gives_the_first_answer_back(keys_pool):
    async with keys_pool.acquire() as conn:
        await claim_and_answer(conn, "p-1", "k", "hash-1", {"session": 1})
        assert await claim_idempotency_key(conn, "p-1", "k", "hash-1", TTL) == ("hash-1", {"session": 1})
        assert await claim_idempotency_key(conn, "p-1", "k", "hash-2", TTL) == ("hash-1", {"session": 1})


async def test_an_expired_key_is_claimed_afresh_and_expired_keys_of_others_are_cleared(keys_pool):
    async with keys_pool.acquire() as conn:
        await claim_and_answer(conn, "p-1", "k", "hash-1", {"session": 1})
        await claim_and_answer(conn, "p-2", "other", "hash-9", {"session": 9})
        await conn.execute("UPDATE idempotency_keys SET created_at = now() - interval '8 days'")
        await claim_and_answer(conn, "p-3", "fresh", "hash-3", {"session": 3})
        assert (
            await conn.fetchval("SELECT count(*) FROM idempotency_keys WHERE created_at < now() - interval '7 days'")
            == 0
        )
        # p-1's key expired: the same key now starts a new request, even a different one.
        assert await claim_idempotency_key(conn, "p-1", "k", "hash-2", TTL) is None
        assert await conn.fetchval("SELECT caller FROM idempotency_keys ORDER BY caller") == "p-1"
        assert await conn.fetchval("SELECT count(*) FROM idempotency_keys") == 2


async def test_an_expired_key_left_by_the_bounded_sweep_is_still_claimed_afresh(keys_pool, monkeypatch):
    # The sweep clears at most EXPIRED_PER_CLAIM keys; a key it did not reach must not answer from the past.
    monkeypatch.setattr("services.sessions.adapters.repository.EXPIRED_PER_CLAIM", 0)
    async with keys_pool.acquire() as conn:
        await claim_and_answer(conn, "p-1", "k", "hash-1", {"session": 1})
        await conn.execute("UPDATE idempotency_keys SET created_at = now() - interval '8 days'")
        assert await claim_idempotency_key(conn, "p-1", "k", "hash-2", TTL) is None
        assert await conn.fetchval("SELECT request_hash FROM idempotency_keys WHERE key = 'k'") == "hash-2"
        assert await conn.fetchval("SELECT response FROM idempotency_keys WHERE key = 'k'") is None
