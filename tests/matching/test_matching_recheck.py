"""Matching re-checks a participant's active pairs when their profile changes (issue #14): a pair that now breaks
a hard rule is flagged or dissolved as its program says, with a fixed reason naming the rule."""

from __future__ import annotations

import httpx
import pytest

from services.matching import bootstrap
from services.matching.domain.pairs import RECHECKED_RULES, rules_broken
from services.matching.entrypoints import http
from services.matching.service_layer import handlers
from services.matching.service_layer.unit_of_work import InMemoryMatchingUnitOfWork, MatchingState
from shared.eventstore import InMemoryEventStore
from tests.support.matching_pool import launched, profile
from tests.support.services import token

PROGRAM = "prg-recheck"


class Matching:
    def __init__(self) -> None:
        self.state, self.store = MatchingState(), InMemoryEventStore()

    def uow(self) -> InMemoryMatchingUnitOfWork:
        return InMemoryMatchingUnitOfWork(self.state, self.store)

    async def launch(self, on_reporting_conflict: str) -> None:
        async with self.uow() as uow:
            await uow.programs.add(PROGRAM, launched(PROGRAM, on_reporting_conflict=on_reporting_conflict))
            await uow.candidates.upsert(profile(PROGRAM, "p-mentor", "mentor", 2))
            await uow.candidates.upsert(profile(PROGRAM, "p-mentee", "mentee", 8))
        [self.pair] = (await handlers.commit_round(self.uow(), PROGRAM)).pairs

    async def update(self, changed: dict) -> list:
        """As the policy does: re-check, then the pool records the update."""
        results = await handlers.recheck_pairs_of_updated(self.uow(), changed)
        async with self.uow() as uow:
            await uow.candidates.upsert(changed)
        return results

    async def pair_view(self) -> dict:
        app = bootstrap.build()
        app.dependency_overrides[http.unit_of_work] = self.uow
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://m") as client:
            response = await client.get(
                f"{bootstrap.SPEC.prefix}/pairs/{self.pair.pair_id}", headers=token("program_admin")
            )
        assert response.status_code == 200, response.text
        return response.json()


def test_rules_broken_reads_both_lines_and_grades():
    mentor, mentee = profile(PROGRAM, "a", "mentor", 2), profile(PROGRAM, "b", "mentee", 8)
    assert rules_broken(mentor, mentee) == []
    assert rules_broken({**mentor, "reporting_chain": ["b"]}, mentee) == ["reporting_line"]
    assert rules_broken(mentor, {**mentee, "reporting_chain": ["x", "a"]}) == ["reporting_line"]
    assert rules_broken({**mentor, "grade": 8}, mentee) == ["grade"]


async def test_a_pair_moved_into_one_line_is_flagged_once_in_a_flagging_program():
    matching = Matching()
    await matching.launch("flag")
    moved = profile(PROGRAM, "p-mentee", "mentee", 8, reporting_chain=["p-boss", "p-mentor"])
    assert len(await matching.update(moved)) == 1
    assert await matching.update(moved) == []  # flagged already: nothing new
    events = [e for e in matching.store.events if e.type == "tandem.matching.pair-flagged.v1"]
    assert [e.data for e in events] == [
        {
            "program_id": PROGRAM,
            "pair_id": matching.pair.pair_id,
            "rule": "reporting_line",
            "reason": RECHECKED_RULES["reporting_line"],
        }
    ]
    view = await matching.pair_view()
    assert view["status"] == "active"
    assert [(f["rule"], f["reason"]) for f in view["flags"]] == [("reporting_line", RECHECKED_RULES["reporting_line"])]


async def test_a_pair_moved_into_one_line_dissolves_in_a_dissolving_program():
    matching = Matching()
    await matching.launch("dissolve")
    await matching.update(profile(PROGRAM, "p-mentor", "mentor", 2, reporting_chain=["p-mentee"]))
    view = await matching.pair_view()
    assert view["status"] == "dissolved" and view["dissolve_reason"] == RECHECKED_RULES["reporting_line"]
    assert view["flags"] == []


@pytest.mark.parametrize("conflict", ["flag", "dissolve"])
async def test_a_change_that_breaks_no_rule_leaves_the_pair_alone(conflict):
    matching = Matching()
    await matching.launch(conflict)
    assert await matching.update(profile(PROGRAM, "p-mentor", "mentor", 3, department="Data")) == []
    view = await matching.pair_view()
    assert view["status"] == "active" and view["flags"] == []


async def test_a_mentor_promoted_above_the_mentee_is_flagged_under_the_grade_rule():
    matching = Matching()
    await matching.launch("flag")
    await matching.update(profile(PROGRAM, "p-mentor", "mentor", 9))
    assert [f["rule"] for f in (await matching.pair_view())["flags"]] == ["grade"]
