"""The sessions unit of work's contract on PostgreSQL, and what only PostgreSQL can show: concurrent units of
work on one Idempotency-Key and on one pair's stream."""

import asyncio
import contextlib
import json
import uuid
from datetime import date, timedelta

import pytest

from services.sessions.adapters import repository
from services.sessions.bootstrap import SPEC
from services.sessions.domain.commands import LogSession, Reflect, WriteAgreement
from services.sessions.domain.model import Pair, ProgramGuidelines
from services.sessions.entrypoints.pairs_consumer import ErasureForgetsWords
from services.sessions.service_layer import handlers
from services.sessions.service_layer.unit_of_work import PostgresSessionsUnitOfWork
from shared import eventstore
from shared.db import create_pool, migrate
from shared.events import ParticipantErased
from tests.contracts.sessions_uow import FORMED, TTL, SessionsUnitOfWorkContract
from tests.support.kafka_log import envelope_of


@pytest.fixture
async def uow(dsn):
    """A sessions unit of work on a fresh schema with the service's migrations: event store, tables, pairs."""
    schema = f"sessions_uow_{uuid.uuid4().hex[:8]}"
    pool = await create_pool(dsn, schema, max_size=8)
    await migrate(pool, schema, SPEC.migration_files())
    yield PostgresSessionsUnitOfWork(pool, eventstore.PostgresEventStore(pool, schema))
    await pool.execute(f"DROP SCHEMA {schema} CASCADE")
    await pool.close()


class TestPostgresSessionsUnitOfWork(SessionsUnitOfWorkContract):
    async def given_pair(self, uow, pair: Pair) -> None:
        await repository.pair_formed(uow.pool, pair, pair.formed_at)
        if pair.status == "dissolved":
            await repository.pair_dissolved(uow.pool, pair.pair_id, pair.dissolved_at)

    async def age_keys(self, uow, by: timedelta) -> None:
        await uow.pool.execute("UPDATE idempotency_keys SET created_at = created_at - $1::interval", by)

    async def kept_keys(self, uow):
        rows = await uow.pool.fetch("SELECT caller, key, request_hash, response FROM idempotency_keys")
        return {
            (r["caller"], r["key"]): (r["request_hash"], json.loads(r["response"]) if r["response"] else None)
            for r in rows
        }

    async def kept_feedback(self, uow) -> list[str]:
        return [r["feedback_id"] for r in await uow.pool.fetch("SELECT feedback_id FROM feedback ORDER BY given_at")]

    async def kept_learned(self, uow) -> dict[str, str]:
        rows = await uow.pool.fetch("SELECT feedback_id, learned FROM feedback")
        return {r["feedback_id"]: r["learned"] for r in rows}

    async def given_program(self, uow, guidelines: ProgramGuidelines) -> None:
        await repository.program_guidelines(uow.pool, guidelines)


async def test_a_programs_newest_settings_win_whatever_order_they_arrive_in(uow):
    for version, cadence in ((2, 10), (1, 14), (3, 21), (2, 10)):
        await repository.program_guidelines(uow.pool, ProgramGuidelines("prg-1", cadence, 8, settings_version=version))
    async with uow:
        assert await uow.programs.get("prg-1") == ProgramGuidelines("prg-1", 21, 8, settings_version=3)


def another(uow: PostgresSessionsUnitOfWork) -> PostgresSessionsUnitOfWork:
    """A unit of work of its own (its own connection and transaction), as each HTTP request gets."""
    return PostgresSessionsUnitOfWork(uow.pool, uow.store)


LOG = LogSession(held_on=date(2026, 4, 2), minutes=45, learning_direction="both")


async def test_concurrent_retries_with_one_key_write_one_session_and_answer_alike(uow):
    await repository.pair_formed(uow.pool, Pair("pair-1", "prg-1", "p-mentor", "p-mentee"), FORMED)
    answers = await asyncio.gather(
        *(handlers.log_session(another(uow), "pair-1", LOG, "p-mentor", "k-concurrent", TTL) for _ in range(4))
    )
    assert len({a.model_dump_json() for a in answers}) == 1
    assert len(await uow.store.read_stream("pair-sessions-pair-1")) == 1
    assert await uow.pool.fetchval("SELECT count(*) FROM sessions") == 1


async def test_both_members_logging_at_once_land_one_after_the_other_on_the_pairs_stream(uow):
    await repository.pair_formed(uow.pool, Pair("pair-1", "prg-1", "p-mentor", "p-mentee"), FORMED)
    answers = await asyncio.gather(
        *(handlers.log_session(another(uow), "pair-1", LOG, m, None, TTL) for m in ("p-mentor", "p-mentee"))
    )
    assert sorted(a.event_log.stream_version for a in answers) == [1, 2]


async def test_two_replicas_running_the_pair_end_schedule_at_once_end_a_pair_once(uow):
    await repository.pair_formed(uow.pool, Pair("pair-1", "prg-1", "p-mentor", "p-mentee"), FORMED)
    await repository.program_guidelines(uow.pool, ProgramGuidelines("prg-1", 14, 4))
    now = FORMED + timedelta(weeks=5)
    done = await asyncio.gather(*(handlers.complete_due_pairs(lambda: another(uow), now) for _ in range(3)))
    assert sum(done) == 1
    [ended] = await uow.store.read_stream("pair-sessions-pair-1")
    assert ended.type == "tandem.sessions.pair-completed.v1" and ended.data["completed_on"] == "2026-03-29"
    assert await handlers.complete_due_pairs(lambda: another(uow), now) == 0


async def test_both_members_signing_at_once_put_the_agreement_in_force_once(uow):
    await repository.pair_formed(uow.pool, Pair("pair-1", "prg-1", "p-mentor", "p-mentee"), FORMED)
    await repository.program_guidelines(uow.pool, ProgramGuidelines("prg-1", 14, 12))
    terms = WriteAgreement(
        goals=[{"direction": "mentor_to_mentee", "text": "prompts"}],
        cadence_days=14,
        duration_weeks=8,
        confidentiality="standard",
    )
    await handlers.write_agreement(another(uow), "pair-1", terms, "p-mentee", FORMED)
    await asyncio.gather(*(handlers.sign_agreement(another(uow), "pair-1", 1, m) for m in ("p-mentor", "p-mentee")))
    kinds = [e.type.split(".")[2] for e in await uow.store.read_stream("pair-sessions-pair-1")]
    assert kinds == ["agreement-proposed", "agreement-signed", "agreement-signed", "agreement-in-force"]


async def test_both_members_asking_at_once_complete_the_pair_once(uow):
    await repository.pair_formed(uow.pool, Pair("pair-1", "prg-1", "p-mentor", "p-mentee"), FORMED)
    reflection = Reflect(would_recommend=True)

    def as_member(who: str) -> handlers.Viewer:
        return handlers.Viewer(who, lambda staff: False, is_staff=False)

    await asyncio.gather(
        *(handlers.complete(another(uow), "pair-1", reflection, as_member(m), FORMED) for m in ("p-mentor", "p-mentee"))
    )
    kinds = [e.type.split(".")[2] for e in await uow.store.read_stream("pair-sessions-pair-1")]
    assert kinds.count("pair-completed") == 1 and kinds[-1] == "pair-completed"


async def test_the_erasure_policy_blanks_the_notes_in_the_runners_transaction_and_a_rollback_keeps_them(uow):
    """The policy joins the runner's transaction (exactly once with the tracking row): rolled back with it, the
    words stay; committed, they read blank."""
    await repository.pair_formed(uow.pool, Pair("pair-1", "prg-1", "p-mentor", "p-mentee"), FORMED)
    logged = LOG.model_copy(update={"notes": "what I said"})
    await handlers.log_session(another(uow), "pair-1", logged, "p-mentee", "k-1", TTL)
    erased = ParticipantErased(program_id="prg-1", participant_id="p-mentee")
    policy = ErasureForgetsWords(lambda: another(uow))
    notes = "SELECT string_agg(notes, '|') FROM sessions"
    async with uow.pool.acquire() as conn:
        with contextlib.suppress(RuntimeError):
            async with conn.transaction():
                await policy.apply(conn, envelope_of(erased, "participant-prg-1-p-mentee", 4), erased)
                raise RuntimeError("the batch failed")
        assert await conn.fetchval(notes) == "what I said"
        async with conn.transaction():
            await policy.apply(conn, envelope_of(erased, "participant-prg-1-p-mentee", 4), erased)
    assert await uow.pool.fetchval(notes) == ""
    assert await uow.pool.fetchval("SELECT count(*) FROM idempotency_keys") == 0
    assert await uow.pool.fetchval("SELECT count(*) FROM sessions") == 1
