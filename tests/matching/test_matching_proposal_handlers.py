"""Proposals at the handler level over the in-memory unit of work: a withdrawal lapses open proposals, answers and
expiry append one event each and commit with the pair's state, and the life of a pair in the domain."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.matching.domain.pairs import Pair
from services.matching.service_layer import handlers
from services.matching.service_layer.unit_of_work import InMemoryMatchingUnitOfWork, MatchingState
from shared.errors import Conflict, Forbidden
from shared.eventstore import InMemoryEventStore
from tests.support.matching_pool import constrained_pool, launched

PROGRAM = "prg-handlers"
NOW = datetime(2027, 5, 3, 9, tzinfo=UTC)


@pytest.fixture
async def uow() -> InMemoryMatchingUnitOfWork:
    unit = InMemoryMatchingUnitOfWork(MatchingState(), InMemoryEventStore())
    async with unit:
        await unit.programs.add(PROGRAM, launched(PROGRAM, optimize_for="participation", acceptance_mode="both"))
        for person in constrained_pool(PROGRAM):
            await unit.candidates.upsert(person)
        await unit.candidates.mark_withdrawn(PROGRAM, "p-J4")
    return unit


def types(uow: InMemoryMatchingUnitOfWork) -> list[str]:
    return [e.type.split(".")[2] for e in uow.store.events]


async def test_a_withdrawal_lapses_the_participants_open_proposals(uow):
    committed = await handlers.commit_round(uow, PROGRAM, NOW)
    pair = committed.pairs[0]
    await handlers.dissolve_pairs_of_withdrawn(uow, PROGRAM, pair.mentee_id)
    assert (await handlers.get_pair(uow, pair.pair_id)).status == "expired"
    assert types(uow).count("proposal-expired") == 1 and "pair-dissolved" not in types(uow)
    others = [p for p in committed.pairs if not p.has_member(pair.mentee_id)]
    assert others and [(await handlers.get_pair(uow, p.pair_id)).status for p in others] == ["proposed"] * len(others)


async def test_the_events_of_an_answer_carry_the_pairs_versions_in_order(uow):
    pair = (await handlers.commit_round(uow, PROGRAM, NOW)).pairs[0]
    await handlers.accept_proposal(uow, pair.pair_id, pair.mentor_id, NOW)
    started = await handlers.accept_proposal(uow, pair.pair_id, pair.mentee_id, NOW + timedelta(hours=1))
    stream = [e for e in uow.store.events if e.stream_id == pair.stream_id]
    assert [(e.version, e.type.split(".")[2]) for e in stream] == [
        (1, "pair-proposed"),
        (2, "proposal-accepted"),
        (3, "proposal-accepted"),
        (4, "pair-formed"),
    ]
    assert started.version == 4 and started.status == "active"
    assert datetime.fromisoformat(stream[-1].data["proposed_at"]) == NOW


async def test_expiry_only_touches_proposals_due(uow):
    pairs = (await handlers.commit_round(uow, PROGRAM, NOW)).pairs
    await handlers.accept_proposal(uow, pairs[0].pair_id, pairs[0].mentor_id, NOW)
    await handlers.accept_proposal(uow, pairs[0].pair_id, pairs[0].mentee_id, NOW)
    assert await handlers.expire_proposals(uow, NOW + timedelta(hours=167)) == 0
    assert await handlers.expire_proposals(uow, NOW + timedelta(hours=168)) == len(pairs) - 1
    assert (await handlers.get_pair(uow, pairs[0].pair_id)).status == "active"


def a_proposal(**overrides) -> Pair:
    fields = {
        "status": "proposed",
        "acceptance_mode": "both",
        "proposed_at": NOW,
        "expires_at": NOW + timedelta(hours=1),
        **overrides,
    }
    return replace(Pair("pair-1", PROGRAM, "rnd-1", "p-J1", "p-M1", 0.5, {}), **fields)


def test_a_stranger_never_answers_and_a_late_answer_is_a_conflict():
    with pytest.raises(Forbidden):
        a_proposal().accept("p-X", NOW)
    with pytest.raises(Conflict):
        a_proposal().accept("p-J1", NOW + timedelta(hours=1))
    with pytest.raises(Conflict):
        a_proposal().decline("p-M1", "no_time", NOW + timedelta(hours=2))


def test_a_proposal_expires_once_and_only_when_due():
    assert a_proposal().expire(NOW)[1] is None
    expired, event = a_proposal().expire(NOW + timedelta(hours=1))
    assert expired.status == "expired" and event is not None
    assert expired.expire(NOW + timedelta(hours=5))[1] is None


def test_only_an_active_pair_dissolves_and_a_completed_one_stays_completed():
    with pytest.raises(Conflict):
        a_proposal().dissolve("changed my mind")
    completed = a_proposal(status="active").complete()
    assert completed.status == "completed" and completed.complete() == completed
    with pytest.raises(Conflict):
        completed.dissolve("late")
