"""How many PostgreSQL round trips one command costs (issue #18): counted on the connection, so a change that adds
one shows here. Before issue #18: an enrolment 11, a session log 9 (12 with an Idempotency-Key)."""

from __future__ import annotations

import uuid
from contextlib import asynccontextmanager

from services.enrolment.bootstrap import SPEC as ENROLMENT
from services.enrolment.domain.commands import EnrolParticipant, LaunchProgram
from services.enrolment.service_layer import handlers as enrolment
from services.enrolment.service_layer.unit_of_work import PostgresEnrolmentUnitOfWork
from services.sessions.adapters import repository
from services.sessions.bootstrap import SPEC as SESSIONS
from services.sessions.domain.model import Pair
from services.sessions.service_layer import handlers as sessions
from services.sessions.service_layer.unit_of_work import PostgresSessionsUnitOfWork
from shared import eventstore
from shared.db import create_pool, migrate
from tests.contracts.enrolment import KEY
from tests.contracts.sessions_uow import FORMED, TTL
from tests.sessions.test_sessions_uow_postgres import LOG

PROFILE = {
    "employee_id": "E1",
    "display_name": "Person E1",
    "email": "e1@example.com",
    "role": "mentee",
    "grade": 2,
    "birth_year": 1999,
    "department": "Sales",
    "languages": ["en"],
    "reporting_chain": ["M1"],
    "skills_offered": ["x"],
    "goals": "lead",
    "consent": True,
}


@asynccontextmanager
async def one_connection(dsn, spec):
    """A pool of one connection on a fresh schema, and a list that receives every statement sent on it."""
    schema = f"rt_{uuid.uuid4().hex[:8]}"
    pool = await create_pool(dsn, schema, min_size=1, max_size=1)
    await migrate(pool, schema, spec.migration_files())
    sent: list[str] = []
    async with pool.acquire() as conn:
        conn.add_query_logger(lambda query: sent.append(query.query))
    try:
        yield pool, eventstore.PostgresEventStore(pool, schema), sent
    finally:
        await pool.execute(f"DROP SCHEMA {schema} CASCADE")
        await pool.close()


def requests_own(sent: list[str]) -> list[str]:
    """asyncpg introspects a type once per connection on first use: not a cost of every request."""
    return [q for q in sent if "typeinfo_tree" not in q and "'jit'" not in q]


async def test_an_enrolment_costs_seven_round_trips(dsn):
    async with one_connection(dsn, ENROLMENT) as (pool, store, sent):
        uow = PostgresEnrolmentUnitOfWork(pool, store)
        program, _ = await enrolment.launch_program(uow, LaunchProgram(title="T", focus_areas=["ai"]))
        sent.clear()
        await enrolment.enrol_participant(uow, program.program_id, EnrolParticipant.model_validate(PROFILE), KEY)
        # BEGIN, the program, the participant with its contact outbox row (one statement), its consent, the
        # person's key (created in the append's transaction, issue #19), the append, COMMIT.
        assert len(requests_own(sent)) == 7, sent


async def test_a_session_log_costs_seven_round_trips_and_ten_with_an_idempotency_key(dsn):
    async with one_connection(dsn, SESSIONS) as (pool, store, sent):
        uow = PostgresSessionsUnitOfWork(pool, store)
        await repository.pair_formed(pool, Pair("pair-1", "prg-1", "p-mentor", "p-mentee"), FORMED)
        sent.clear()
        await sessions.log_session(uow, "pair-1", LOG, "p-mentor", None, TTL)
        # BEGIN, the pair, the session, the pair stream's queue (expected version None), the pair's key (its topics
        # are sealed under it, issue #19), the append, COMMIT.
        assert len(requests_own(sent)) == 7, sent
        sent.clear()
        await sessions.log_session(uow, "pair-1", LOG, "p-mentor", "k-1", TTL)
        assert len(requests_own(sent)) == 10, sent  # + expired keys swept, the key claimed, the answer kept
