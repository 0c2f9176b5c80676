"""Matching's PostgreSQL unit of work held to the contract its in-memory twin keeps, plus what only a server shows:
the round lock between transactions and a unit of work joined to someone else's transaction."""

import asyncio
import itertools

import pytest

from services.matching import bootstrap
from services.matching.entrypoints.pool_consumer import PoolProjection, WithdrawalDissolvesPairs
from services.matching.service_layer import handlers
from services.matching.service_layer.unit_of_work import PostgresMatchingUnitOfWork
from shared import eventstore
from shared.db import create_pool, migrate
from shared.events import ParticipantWithdrawn
from tests.contracts.matching_unit_of_work import PROGRAM, MatchingUnitOfWorkContract
from tests.support.kafka_log import envelope_of
from tests.support.matching_pool import constrained_pool, seed

schemas = itertools.count(1)


@pytest.fixture
async def uow(dsn):
    """A unit of work over a fresh schema of this run's database, migrated as the service migrates its own."""
    schema = f"matching_uow_{next(schemas)}"
    pool = await create_pool(dsn, schema, max_size=4)
    await migrate(pool, schema, bootstrap.SPEC.migration_files())
    yield PostgresMatchingUnitOfWork(pool, eventstore.PostgresEventStore(pool, schema))
    await pool.close()


class TestPostgresMatchingUnitOfWork(MatchingUnitOfWorkContract):
    pass


async def test_a_withdrawal_waits_for_the_round_in_flight_and_dissolves_what_it_formed(uow):
    await seed(uow, PROGRAM, constrained_pool(PROGRAM), withdrawn=("p-J4",))
    round_holder = PostgresMatchingUnitOfWork(uow.pool, uow.store)
    async with round_holder:
        await round_holder.rounds.lock(PROGRAM)
        withdrawal = asyncio.create_task(handlers.dissolve_pairs_of_withdrawn(uow, PROGRAM, "p-J2"))
        await _until_a_lock_is_awaited(uow)
        assert not withdrawal.done()
        # the round in flight forms J2's pairs while the withdrawal waits
        committed = await handlers.commit_round(uow.joining(round_holder.conn), PROGRAM)
    results = await asyncio.wait_for(withdrawal, 10)
    formed_with_j2 = {p.stream_id for p in committed.pairs if p.has_member("p-J2")}
    assert formed_with_j2 and {r.stream_id for r in results} == formed_with_j2


async def test_a_joined_unit_of_work_commits_and_rolls_back_with_its_owners_transaction(uow):
    await seed(uow, PROGRAM, constrained_pool(PROGRAM))
    async with uow.pool.acquire() as conn:
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                await handlers.commit_round(uow.joining(conn), PROGRAM)
                raise RuntimeError("the policy's tracking record failed")
    assert await handlers.pairs_of_program(uow, PROGRAM) == []
    assert await uow.store.read_after(0) == []


async def test_the_withdrawal_policy_and_the_pool_record_a_withdrawal_in_one_transaction(uow):
    await seed(uow, PROGRAM, constrained_pool(PROGRAM))
    committed = await handlers.commit_round(uow, PROGRAM)
    withdrawn = ParticipantWithdrawn(program_id=PROGRAM, participant_id="p-M3")
    envelope = envelope_of(withdrawn, f"enrolment-{PROGRAM}-p-M3", 2)
    policy = WithdrawalDissolvesPairs(lambda: PostgresMatchingUnitOfWork(uow.pool, uow.store))
    async with uow.pool.acquire() as conn, conn.transaction():
        for reaction in (policy, PoolProjection()):  # as the runner applies them: policies first
            await reaction.apply(conn, envelope, withdrawn)
    (pair,) = [p for p in committed.pairs if p.has_member("p-M3")]
    assert (await handlers.get_pair(uow, pair.pair_id)).dissolve_reason == "participant withdrew"
    assert await handlers.pool_counts(uow, PROGRAM) == {"active": 9, "withdrawn": 1, "awaiting_training": 0}


async def _until_a_lock_is_awaited(uow: PostgresMatchingUnitOfWork, timeout_s: float = 10) -> None:
    waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = ("
    waiting += "SELECT oid FROM pg_database WHERE datname = current_database())"
    async with asyncio.timeout(timeout_s):
        while True:  # another session's wait for a lock: only pg_locks shows it
            if await uow.pool.fetchval(waiting):
                return
            await asyncio.sleep(0.02)
