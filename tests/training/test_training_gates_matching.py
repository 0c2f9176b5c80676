"""Issue #16 item 1 in matching, server-free over the in-memory unit of work: a program's `required_modules` keep
the candidates who have not completed them out of rounds (unmatched, `training incomplete: <module ids>`), out of
manual pairs, and counted as `awaiting_training` in the pool; completing the modules (any version) lets them in."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from services.matching import bootstrap
from services.matching.domain import rounds
from services.matching.entrypoints import http
from services.matching.service_layer.unit_of_work import InMemoryMatchingUnitOfWork, MatchingState
from shared.eventstore import InMemoryEventStore
from tests.support.matching_pool import launched, profile
from tests.support.services import token

PROGRAM = "prg-training"
ADMIN = token("program_admin")
REQUIRED = ["mentor-feedback-upward", "two-way-partnership"]


class Matching:
    def __init__(self) -> None:
        self.state, self.store = MatchingState(), InMemoryEventStore()
        self.app = bootstrap.build()
        self.app.dependency_overrides[http.unit_of_work] = self.uow
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://matching")

    def uow(self) -> InMemoryMatchingUnitOfWork:
        return InMemoryMatchingUnitOfWork(self.state, self.store)

    async def post(self, path: str, **kwargs) -> httpx.Response:
        return await self.client.post(f"{bootstrap.SPEC.prefix}{path}", headers=ADMIN, **kwargs)

    async def get(self, path: str) -> httpx.Response:
        return await self.client.get(f"{bootstrap.SPEC.prefix}{path}", headers=ADMIN)

    async def complete(self, participant_id: str, *modules: str, version: int = 1) -> None:
        """What the pool projection does with a TrainingCompleted."""
        async with self.uow() as uow:
            for module_id in modules:
                await uow.candidates.record_training(PROGRAM, participant_id, module_id, version)


@pytest.fixture
async def matching() -> AsyncIterator[Matching]:
    service = Matching()
    async with service.uow() as uow:
        await uow.programs.add(PROGRAM, launched(PROGRAM, required_modules=REQUIRED))
        for person in (
            profile(PROGRAM, "p-M1", "mentee", 8),
            profile(PROGRAM, "p-M2", "mentee", 8),
            profile(PROGRAM, "p-J1", "mentor", 2),
            profile(PROGRAM, "p-J2", "mentor", 2),
        ):
            await uow.candidates.upsert(person)
    async with service.client:
        yield service


def unmatched(round_: dict) -> dict[str, tuple[str, str]]:
    return {u["participant_id"]: (u["reason"], u["detail"]) for u in round_["unmatched"]}


async def test_nobody_is_matched_before_completing_the_required_modules(matching):
    await matching.complete("p-J1", "mentor-feedback-upward")  # one of the two
    preview = await matching.post(f"/programs/{PROGRAM}/rounds/preview")
    assert preview.status_code == 200, preview.text
    assert preview.json()["pairs"] == []
    assert unmatched(preview.json()) == {
        "p-J1": ("training_incomplete", "training incomplete: two-way-partnership"),
        "p-J2": ("training_incomplete", "training incomplete: mentor-feedback-upward, two-way-partnership"),
        "p-M1": ("training_incomplete", "training incomplete: mentor-feedback-upward, two-way-partnership"),
        "p-M2": ("training_incomplete", "training incomplete: mentor-feedback-upward, two-way-partnership"),
    }
    pool = (await matching.get(f"/programs/{PROGRAM}/pool")).json()
    assert (pool["active"], pool["awaiting_training"]) == (4, 4)


async def test_completing_the_required_modules_in_any_version_enters_the_pool(matching):
    await matching.complete("p-J1", *REQUIRED)
    await matching.complete("p-M1", "mentor-feedback-upward", version=3)
    await matching.complete("p-M1", "two-way-partnership", version=2)
    committed = await matching.post(f"/programs/{PROGRAM}/rounds")
    assert committed.status_code == 201, committed.text
    assert [(p["mentor_id"], p["mentee_id"]) for p in committed.json()["pairs"]] == [("p-J1", "p-M1")]
    reasons = unmatched(committed.json())
    assert {pid: reason for pid, (reason, _) in reasons.items()} == {
        "p-J2": "training_incomplete",
        "p-M2": "training_incomplete",
    }
    pool = (await matching.get(f"/programs/{PROGRAM}/pool")).json()
    assert pool["awaiting_training"] == 2
    # The pair formed holds: adding a requirement later does not count its members as awaiting.
    async with matching.uow() as uow:
        await uow.programs.change(PROGRAM, launched(PROGRAM, required_modules=[*REQUIRED, "extra"]), 2)
    assert (await matching.get(f"/programs/{PROGRAM}/pool")).json()["awaiting_training"] == 2


async def test_a_manual_pair_with_a_member_in_training_breaks_the_training_rule(matching):
    await matching.complete("p-J1", *REQUIRED)
    refused = await matching.post(f"/programs/{PROGRAM}/pairs", json={"mentor_id": "p-J1", "mentee_id": "p-M1"})
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert (error["field"], error["rule"]) == ("mentee_id", "training")
    assert error["message"] == "training incomplete: mentor-feedback-upward, two-way-partnership"
    await matching.complete("p-M1", *REQUIRED)
    formed = await matching.post(f"/programs/{PROGRAM}/pairs", json={"mentor_id": "p-J1", "mentee_id": "p-M1"})
    assert formed.status_code == 201, formed.text


async def test_a_program_without_required_modules_matches_everyone():
    candidates = [profile("prg", "p-M1", "mentee", 8), profile("prg", "p-J1", "mentor", 2)]
    assert rounds.awaiting_training(launched("prg"), candidates, {}) == {}
    proposal = rounds.propose(launched("prg"), candidates, [], [], awaiting={})
    assert len(proposal.pairs) == 1 and proposal.unmatched == []
