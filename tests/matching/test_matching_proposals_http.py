"""Issue #15 over matching's HTTP API in-process (in-memory unit of work, a test clock, no servers): proposals
people accept or decline, expiry on the clock, manual pairs held to every hard rule, pins and exclusions, closed
programs, completed pairs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.matching import bootstrap
from services.matching.entrypoints import http
from services.matching.service_layer import handlers
from services.matching.service_layer.unit_of_work import InMemoryMatchingUnitOfWork, MatchingState
from shared.clock import Clock
from shared.eventstore import InMemoryEventStore
from tests.support.matching_pool import constrained_pool, launched
from tests.support.services import token

PROGRAM = "prg-accept"
ADMIN = token("program_admin")
TTL_HOURS = 24


def member(participant_id: str) -> dict[str, str]:
    return token("participant", participant_id)


class Matching:
    def __init__(self) -> None:
        self.state, self.store, self.clock = MatchingState(), InMemoryEventStore(), Clock()
        self.app = bootstrap.build()  # its lifespan never runs: no Kafka, no PostgreSQL
        self.app.dependency_overrides[http.unit_of_work] = self.uow
        self.app.dependency_overrides[http.clock] = lambda: self.clock
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://matching")

    def uow(self) -> InMemoryMatchingUnitOfWork:
        return InMemoryMatchingUnitOfWork(self.state, self.store)

    async def seed(self, **program: object) -> None:
        async with self.uow() as uow:
            await uow.programs.add(PROGRAM, launched(PROGRAM, optimize_for="participation", **program))
            for person in constrained_pool(PROGRAM):
                await uow.candidates.upsert(person)
            await uow.candidates.mark_withdrawn(PROGRAM, "p-J4")

    async def post(self, path: str, headers: dict[str, str] = ADMIN, **kwargs) -> httpx.Response:
        return await self.client.post(f"{bootstrap.SPEC.prefix}{path}", headers=headers, **kwargs)

    async def get(self, path: str, headers: dict[str, str] = ADMIN, **kwargs) -> httpx.Response:
        return await self.client.get(f"{bootstrap.SPEC.prefix}{path}", headers=headers, **kwargs)

    async def delete(self, path: str, headers: dict[str, str] = ADMIN, **kwargs) -> httpx.Response:
        return await self.client.request("DELETE", f"{bootstrap.SPEC.prefix}{path}", headers=headers, **kwargs)

    def events(self, type_suffix: str) -> list[dict]:
        return [{"data": e.data} for e in self.store.events if e.type.endswith(type_suffix)]

    def event_types(self) -> list[str]:
        return [e.type.split(".")[2] for e in self.store.events]


@pytest.fixture
async def matching() -> AsyncIterator[Matching]:
    service = Matching()
    async with service.client:
        yield service


async def commit(matching: Matching) -> list[dict]:
    committed = await matching.post(f"/programs/{PROGRAM}/rounds")
    assert committed.status_code == 201, committed.text
    return committed.json()["pairs"]


def couples(pairs: list[dict]) -> set[tuple[str, str]]:
    return {(p["mentor_id"], p["mentee_id"]) for p in pairs}


# ---------------------------------------------------------------------------------------------------- proposals


async def test_a_round_in_both_mode_proposes_pairs_that_expire_after_the_programs_ttl(matching):
    await matching.seed(acceptance_mode="both", proposal_ttl_hours=TTL_HOURS)
    before = matching.clock.now()
    pairs = await commit(matching)
    assert pairs and {p["status"] for p in pairs} == {"proposed"}
    assert "pair-formed" not in matching.event_types()
    proposed = matching.events("pair-proposed.v1")
    assert len(proposed) == len(pairs) and {p["data"]["acceptance_mode"] for p in proposed} == {"both"}
    expires = datetime.fromisoformat(proposed[0]["data"]["expires_at"])
    assert before + timedelta(hours=TTL_HOURS) <= expires <= matching.clock.now() + timedelta(hours=TTL_HOURS)
    # While proposed, the members are out of the pool: a second round has nobody new to pair.
    preview = (await matching.post(f"/programs/{PROGRAM}/rounds/preview")).json()
    assert preview["pairs"] == []


async def test_both_members_accept_then_the_pair_starts_with_when_it_was_proposed(matching):
    await matching.seed(acceptance_mode="both")
    pair = (await commit(matching))[0]
    first = await matching.post(f"/proposals/{pair['pair_id']}/accept", headers=member(pair["mentor_id"]))
    assert first.status_code == 200 and first.json()["started"] is False
    assert first.json()["pair"]["mentor_answer"] == "accepted" and first.json()["pair"]["status"] == "proposed"
    again = await matching.post(f"/proposals/{pair['pair_id']}/accept", headers=member(pair["mentor_id"]))
    assert again.status_code == 200 and len(matching.events("proposal-accepted.v1")) == 1  # idempotent
    second = await matching.post(f"/proposals/{pair['pair_id']}/accept", headers=member(pair["mentee_id"]))
    assert second.json()["started"] is True and second.json()["pair"]["status"] == "active"
    (formed,) = matching.events("pair-formed.v1")
    assert formed["data"]["pair_id"] == pair["pair_id"] and formed["data"]["origin"] == "round"
    assert formed["data"]["proposed_at"] is not None and formed["data"]["engine_version"]
    me = (await matching.get("/me", headers=member(pair["mentee_id"]))).json()
    assert [p["pair_id"] for p in me["pairs"]] == [pair["pair_id"]]


async def test_in_one_side_mode_one_acceptance_starts_the_pair(matching):
    await matching.seed(acceptance_mode="one_side")
    pair = (await commit(matching))[0]
    answered = await matching.post(f"/proposals/{pair['pair_id']}/accept", headers=member(pair["mentee_id"]))
    assert answered.json()["started"] is True and len(matching.events("pair-formed.v1")) == 1
    partner = await matching.post(f"/proposals/{pair['pair_id']}/accept", headers=member(pair["mentor_id"]))
    assert partner.status_code == 200 and len(matching.events("pair-formed.v1")) == 1


async def test_only_members_answer_a_proposal(matching):
    await matching.seed(acceptance_mode="both")
    pair = (await commit(matching))[0]
    stranger = await matching.post(f"/proposals/{pair['pair_id']}/accept", headers=member("p-M9"))
    assert stranger.status_code == 403
    admin = await matching.post(f"/proposals/{pair['pair_id']}/accept", headers=ADMIN)
    assert admin.status_code == 403
    assert (await matching.post("/proposals/pair-nope/accept", headers=member("p-M1"))).status_code == 404


async def test_a_decline_frees_both_keeps_its_words_private_and_the_couple_is_never_proposed_again(matching):
    await matching.seed(acceptance_mode="both")
    pairs = await commit(matching)
    pair = pairs[0]
    words = "I find this person hard to work with"
    declined = await matching.post(
        f"/proposals/{pair['pair_id']}/decline",
        headers=member(pair["mentee_id"]),
        json={"reason_code": "not_a_fit", "reason": words},
    )
    assert declined.status_code == 200 and declined.json()["pair"]["status"] == "declined"
    (event,) = matching.events("proposal-declined.v1")
    assert event["data"]["reason_code"] == "not_a_fit" and event["data"]["participant_id"] == pair["mentee_id"]
    assert all(words not in json.dumps([e.data, e.metadata]) for e in matching.store.events)
    assert matching.state.declines[pair["pair_id"]] == (pair["mentee_id"], "not_a_fit", words)
    again = await matching.post(
        f"/proposals/{pair['pair_id']}/decline", headers=member(pair["mentee_id"]), json={"reason_code": "other"}
    )
    assert again.status_code == 200 and len(matching.events("proposal-declined.v1")) == 1
    late = await matching.post(f"/proposals/{pair['pair_id']}/accept", headers=member(pair["mentor_id"]))
    assert late.status_code == 409
    # Both are back in the pool, but never together.
    preview = (await matching.post(f"/programs/{PROGRAM}/rounds/preview")).json()
    assert (pair["mentor_id"], pair["mentee_id"]) not in couples(preview["pairs"])
    back = {pid for p in preview["pairs"] for pid in (p["mentor_id"], p["mentee_id"])}
    assert pair["mentee_id"] in back or any(u["participant_id"] == pair["mentee_id"] for u in preview["unmatched"])


async def test_a_long_reason_is_422_naming_it(matching):
    await matching.seed(acceptance_mode="both")
    pair = (await commit(matching))[0]
    too_long = await matching.post(
        f"/proposals/{pair['pair_id']}/decline", headers=member(pair["mentee_id"]), json={"reason": "x" * 501}
    )
    assert too_long.status_code == 422 and "reason" in too_long.text


async def test_proposals_expire_on_the_clock_once_and_both_return_to_the_pool(matching):
    await matching.seed(acceptance_mode="both", proposal_ttl_hours=TTL_HOURS)
    pairs = await commit(matching)
    assert await handlers.expire_proposals(matching.uow(), matching.clock.now()) == 0
    matching.clock.advance(timedelta(hours=TTL_HOURS, seconds=1))
    late = await matching.post(f"/proposals/{pairs[0]['pair_id']}/accept", headers=member(pairs[0]["mentor_id"]))
    assert late.status_code == 409  # past expires_at, even before the schedule ran
    assert await handlers.expire_proposals(matching.uow(), matching.clock.now()) == len(pairs)
    assert await handlers.expire_proposals(matching.uow(), matching.clock.now()) == 0  # idempotent
    assert len(matching.events("proposal-expired.v1")) == len(pairs)
    listed = (await matching.get(f"/programs/{PROGRAM}/proposals")).json()
    assert {p["status"] for p in listed} == {"expired"}
    # An expired proposal is not held against the couple: the next round may propose them again.
    assert couples((await matching.post(f"/programs/{PROGRAM}/rounds/preview")).json()["pairs"]) == couples(pairs)


async def test_my_proposals_and_the_programs_proposals_show_answers(matching):
    await matching.seed(acceptance_mode="both")
    pair = (await commit(matching))[0]
    await matching.post(f"/proposals/{pair['pair_id']}/accept", headers=member(pair["mentor_id"]))
    (mine,) = (await matching.get("/me/proposals", headers=member(pair["mentee_id"]))).json()
    assert mine["pair_id"] == pair["pair_id"] and mine["my_role"] == "mentee"
    assert mine["partner_participant_id"] == pair["mentor_id"] and mine["acceptance_mode"] == "both"
    assert (mine["my_answer"], mine["partner_answer"]) == (None, "accepted") and mine["expires_at"]
    listed = {p["pair_id"]: p for p in (await matching.get(f"/programs/{PROGRAM}/proposals")).json()}
    assert listed[pair["pair_id"]]["mentor_answer"] == "accepted"
    assert (await matching.get(f"/programs/{PROGRAM}/proposals", headers=member("p-M1"))).status_code == 403
    proposed = (await matching.get(f"/programs/{PROGRAM}/pairs", params={"status": "proposed"})).json()
    assert pair["pair_id"] in {p["pair_id"] for p in proposed}


async def test_immediate_mode_forms_pairs_as_before(matching):
    await matching.seed()
    pairs = await commit(matching)
    assert {p["status"] for p in pairs} == {"active"} and not matching.events("pair-proposed.v1")
    assert len(matching.events("pair-formed.v1")) == len(pairs)


# ---------------------------------------------------------------------------------------------------- manual pairs


async def manual(matching: Matching, mentor: str, mentee: str) -> httpx.Response:
    return await matching.post(f"/programs/{PROGRAM}/pairs", json={"mentor_id": mentor, "mentee_id": mentee})


def rules_of(response: httpx.Response) -> set[str]:
    assert response.status_code == 422, response.text
    return {e["rule"] for e in response.json()["errors"]}


async def test_a_manual_pair_starts_at_once_with_its_score(matching):
    await matching.seed(acceptance_mode="both")
    made = await manual(matching, "p-J6", "p-M1")
    assert made.status_code == 201, made.text
    pair = made.json()
    assert (pair["status"], pair["origin"]) == ("active", "manual") and pair["round_id"].startswith("manual-")
    assert pair["score"] > 0 and pair["breakdown"]
    (formed,) = matching.events("pair-formed.v1")
    assert formed["data"]["origin"] == "manual" and formed["data"]["proposed_at"] is None
    assert "p-M1" not in {
        p["mentee_id"] for p in (await matching.post(f"/programs/{PROGRAM}/rounds/preview")).json()["pairs"]
    }


@pytest.mark.parametrize(
    ("mentor", "mentee", "rule"),
    [
        ("p-J1", "p-M1", "reporting_line"),
        ("p-J3", "p-M1", "language"),
        ("p-J5", "p-M1", "grade"),
        ("p-J4", "p-M1", "not_in_pool"),
        ("p-J6", "p-nobody", "not_in_pool"),
        ("p-M2", "p-M1", "role"),
        ("p-J6", "p-J6", "self"),
    ],
)
async def test_a_manual_pair_breaking_a_hard_rule_is_422_naming_the_rule_and_no_personal_data(
    matching, mentor, mentee, rule
):
    await matching.seed()
    refused = await manual(matching, mentor, mentee)
    assert rule in rules_of(refused)
    for error in refused.json()["errors"]:
        assert error["field"] in ("mentor_id", "mentee_id") and error["message"]
        assert "IT" not in error["message"] and "1970" not in error["message"]  # department, birth year
    assert matching.store.events == []


async def test_a_manual_pair_respects_places_taken_capacity_and_exclusions(matching):
    await matching.seed()
    assert (await manual(matching, "p-J6", "p-M1")).status_code == 201
    assert rules_of(await manual(matching, "p-J2", "p-M1")) == {"already_paired"}  # M1 has a mentor
    assert rules_of(await manual(matching, "p-J6", "p-M2")) == {"capacity"}  # J6 takes one mentee
    await matching.post(f"/programs/{PROGRAM}/exclusions", json={"mentor_id": "p-J2", "mentee_id": "p-M2"})
    assert rules_of(await manual(matching, "p-J2", "p-M2")) == {"excluded"}


async def test_manual_pairs_are_for_the_programs_admins(matching):
    await matching.seed()
    refused = await matching.post(
        f"/programs/{PROGRAM}/pairs", headers=member("p-J6"), json={"mentor_id": "p-J6", "mentee_id": "p-M1"}
    )
    assert refused.status_code == 403


# ---------------------------------------------------------------------------------------------------- pins, exclusions


async def test_a_pin_is_honoured_by_the_next_round_and_lifting_it_says_so(matching):
    await matching.seed()
    baseline = couples((await matching.post(f"/programs/{PROGRAM}/rounds/preview")).json()["pairs"])
    pin = ("p-J6", "p-M3") if ("p-J6", "p-M3") not in baseline else ("p-J6", "p-M2")
    body = {"mentor_id": pin[0], "mentee_id": pin[1]}
    pinned = await matching.post(f"/programs/{PROGRAM}/pins", json=body)
    assert pinned.status_code == 201 and pinned.json()["changed"] is True
    assert (await matching.post(f"/programs/{PROGRAM}/pins", json=body)).json()["changed"] is False
    assert len(matching.events("couple-pinned.v1")) == 1
    assert pin in couples((await matching.post(f"/programs/{PROGRAM}/rounds/preview")).json()["pairs"])
    lifted = await matching.delete(f"/programs/{PROGRAM}/pins/{pin[0]}/{pin[1]}")
    assert lifted.status_code == 200 and lifted.json()["changed"] is True
    (event,) = matching.events("couple-rule-lifted.v1")
    assert event["data"]["rule"] == "pin"
    assert (await matching.get(f"/programs/{PROGRAM}/couple-rules")).json() == []


async def test_an_exclusion_keeps_a_couple_apart_until_lifted(matching):
    await matching.seed()
    chosen = sorted(couples((await matching.post(f"/programs/{PROGRAM}/rounds/preview")).json()["pairs"]))[0]
    body = {"mentor_id": chosen[0], "mentee_id": chosen[1]}
    assert (await matching.post(f"/programs/{PROGRAM}/exclusions", json=body)).status_code == 201
    assert chosen not in couples((await matching.post(f"/programs/{PROGRAM}/rounds/preview")).json()["pairs"])
    assert (await matching.post(f"/programs/{PROGRAM}/pins", json=body)).status_code == 409  # lift it first
    assert (await matching.delete(f"/programs/{PROGRAM}/exclusions", json=body)).status_code == 200
    assert [e["data"]["rule"] for e in matching.events("couple-rule-lifted.v1")] == ["exclude"]


async def test_pins_need_known_participants_and_an_admin(matching):
    await matching.seed()
    unknown = await matching.post(f"/programs/{PROGRAM}/pins", json={"mentor_id": "p-J6", "mentee_id": "p-none"})
    assert unknown.status_code == 422 and "mentee_id" in unknown.text
    body = {"mentor_id": "p-J6", "mentee_id": "p-M1"}
    assert (await matching.post(f"/programs/{PROGRAM}/pins", headers=member("p-J6"), json=body)).status_code == 403


# ---------------------------------------------------------------------------------------------------- program life


async def test_a_closed_program_takes_no_round_preview_or_manual_pair(matching):
    await matching.seed()
    async with matching.uow() as uow:
        await uow.programs.close(PROGRAM, datetime.now(UTC))
    assert (await matching.post(f"/programs/{PROGRAM}/rounds/preview")).status_code == 409
    assert (await matching.post(f"/programs/{PROGRAM}/rounds")).status_code == 409
    assert (await manual(matching, "p-J6", "p-M1")).status_code == 409


async def test_changed_settings_rule_the_next_round(matching):
    await matching.seed()
    async with matching.uow() as uow:
        changed = {**launched(PROGRAM, optimize_for="participation", acceptance_mode="one_side"), "settings_version": 2}
        await uow.programs.change(PROGRAM, changed, 2)
        await uow.programs.change(PROGRAM, launched(PROGRAM), 1)  # an older change arriving late changes nothing
    assert {p["status"] for p in await commit(matching)} == {"proposed"}


async def test_a_completed_pair_frees_its_mentors_place_and_is_not_formed_again(matching):
    await matching.seed()
    made = (await manual(matching, "p-J6", "p-M1")).json()
    await handlers.complete_pair(matching.uow(), made["pair_id"])
    await handlers.complete_pair(matching.uow(), made["pair_id"])  # a redelivery changes nothing
    pair = (await matching.get(f"/pairs/{made['pair_id']}")).json()
    assert pair["status"] == "completed"
    assert (await matching.post(f"/pairs/{made['pair_id']}/dissolve", json={"reason": "x"})).status_code == 409
    assert rules_of(await manual(matching, "p-J6", "p-M1")) == {"dissolved"}
    made_again = await manual(matching, "p-J6", "p-M2")  # J6's one place is free again
    assert made_again.status_code == 201, made_again.text
