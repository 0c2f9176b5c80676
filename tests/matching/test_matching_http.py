"""Matching's HTTP API in-process, over the in-memory unit of work (no servers): roles, validation, the rules of
rounds and dissolutions. tests/matching_api keeps what crosses processes and the broker."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from services.matching import bootstrap
from services.matching.entrypoints import http
from services.matching.service_layer.unit_of_work import InMemoryMatchingUnitOfWork, MatchingState
from shared.eventstore import InMemoryEventStore
from tests.support.matching_pool import constrained_pool, profile, seed
from tests.support.services import token

PROGRAM = "prg-http"
ADMIN = token("program_admin")
AUDITOR = token("auditor")


class Matching:
    """The app and the state behind it, so a test can seed the pool and read the event store."""

    def __init__(self) -> None:
        self.state, self.store = MatchingState(), InMemoryEventStore()
        self.app = bootstrap.build()  # its lifespan never runs: no Kafka, no PostgreSQL
        self.app.dependency_overrides[http.unit_of_work] = self.uow
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://matching")

    def uow(self) -> InMemoryMatchingUnitOfWork:
        return InMemoryMatchingUnitOfWork(self.state, self.store)

    async def post(self, path: str, headers: dict[str, str] = ADMIN, **kwargs) -> httpx.Response:
        return await self.client.post(f"{bootstrap.SPEC.prefix}{path}", headers=headers, **kwargs)

    async def get(self, path: str, headers: dict[str, str] = ADMIN, **kwargs) -> httpx.Response:
        return await self.client.get(f"{bootstrap.SPEC.prefix}{path}", headers=headers, **kwargs)

    def event_types(self) -> list[str]:
        return [e.type for e in self.store.events]


@pytest.fixture
async def matching() -> AsyncIterator[Matching]:
    service = Matching()
    await seed(service.uow(), PROGRAM, constrained_pool(PROGRAM), withdrawn=("p-J4",))
    async with service.client:
        yield service


@pytest.fixture
async def round_(matching: Matching) -> dict:
    committed = await matching.post(f"/programs/{PROGRAM}/rounds")
    assert committed.status_code == 201, committed.text
    return committed.json()


def couples(round_json: dict) -> set[tuple[str, str]]:
    return {(p["mentor_id"], p["mentee_id"]) for p in round_json["pairs"]}


# ---------------------------------------------------------------------------------------------------- rounds


async def test_preview_proposes_what_commit_forms_and_commits_nothing(matching):
    preview = (await matching.post(f"/programs/{PROGRAM}/rounds/preview")).json()
    assert (await matching.get(f"/programs/{PROGRAM}/pairs")).json() == []
    assert matching.store.events == []
    committed = (await matching.post(f"/programs/{PROGRAM}/rounds")).json()
    assert couples(preview) == couples(committed) and preview["inputs_hash"] == committed["inputs_hash"]


async def test_no_pair_crosses_a_reporting_line(round_):
    assert ("p-J1", "p-M1") not in couples(round_)


async def test_no_mentor_is_senior_to_the_mentee_and_no_language_is_missing(round_):
    mentors = {m for m, _ in couples(round_)}
    assert "p-J5" not in mentors and "p-J3" not in mentors


async def test_a_withdrawn_participant_is_never_matched(round_):
    assert all("p-J4" not in pair for pair in couples(round_))


async def test_capacity_is_respected_and_used(round_):
    mentors = [m for m, _ in couples(round_)]
    assert mentors.count("p-J2") == 2 and all(mentors.count(m) == 1 for m in set(mentors) - {"p-J2"})


async def test_every_mentee_is_matched_when_participation_comes_first(round_):
    assert {e for _, e in couples(round_)} == {"p-M1", "p-M2", "p-M3", "p-M4"}


async def test_every_pair_carries_its_score_and_breakdown(round_):
    for pair in round_["pairs"]:
        assert pair["score"] == pytest.approx(sum(pair["breakdown"].values()))
    assert round_["total_score"] == pytest.approx(sum(p["score"] for p in round_["pairs"]))


async def test_unmatched_participants_come_with_a_reason(round_):
    reasons = {u["participant_id"]: u["reason"] for u in round_["unmatched"]}
    assert reasons["p-J5"] == "no_eligible_partner" and reasons["p-J3"] == "no_eligible_partner"


async def test_a_round_appends_its_commitment_then_one_pair_formed_per_pair_and_says_where_the_last_landed(
    matching, round_
):
    committed, *formed = matching.store.events
    assert matching.event_types() == ["tandem.matching.round-committed.v1"] + ["tandem.matching.pair-formed.v1"] * len(
        round_["pairs"]
    )
    assert round_["last_position"] == formed[-1].position
    assert {e.stream_id for e in formed} == {f"pair-{p['pair_id']}" for p in round_["pairs"]}
    assert committed.stream_id == f"round-{round_['round_id']}"
    assert committed.data == {
        "program_id": PROGRAM,
        "round_id": round_["round_id"],
        "pairs_formed": len(round_["pairs"]),
        "unmatched": len(round_["unmatched"]),
        "total_score": round_["total_score"],
        "engine_version": committed.data["engine_version"],
        "inputs_hash": committed.data["inputs_hash"],
    }


async def test_a_second_round_keeps_the_pairs_and_matches_only_newcomers(matching, round_):
    async with matching.uow() as uow:
        await uow.candidates.upsert(profile(PROGRAM, "p-M5", "mentee", 8))
        await uow.candidates.upsert(profile(PROGRAM, "p-J7", "mentor", 3))
    second = await matching.post(f"/programs/{PROGRAM}/rounds")
    assert second.status_code == 201 and couples(second.json()) == {("p-J7", "p-M5")}
    listed = (await matching.get(f"/programs/{PROGRAM}/pairs")).json()
    assert [p["pair_id"] for p in listed][: len(round_["pairs"])] == sorted(p["pair_id"] for p in round_["pairs"])


async def test_a_dissolved_couple_is_not_formed_again(matching, round_):
    pair = next(p for p in round_["pairs"] if p["mentee_id"] == "p-M3")
    await matching.post(f"/pairs/{pair['pair_id']}/dissolve", json={"reason": "no chemistry"})
    again = (await matching.post(f"/programs/{PROGRAM}/rounds")).json()
    # the freed mentor is the only free slot left, so the mentee stays unmatched, told why
    unmatched = {u["participant_id"]: u["detail"] for u in again["unmatched"]}
    assert couples(again) == set() and "dissolved 1" in unmatched["p-M3"]


async def test_a_round_of_an_unknown_program_is_404_and_of_an_empty_pool_409(matching):
    for path in ("/programs/prg-unknown/rounds/preview", "/programs/prg-unknown/rounds"):
        response = await matching.post(path)
        assert response.status_code == 404 and "prg-unknown" in response.json()["detail"]
    async with matching.uow() as uow:
        await uow.programs.add("prg-empty", {"program_id": "prg-empty"})
    response = await matching.post("/programs/prg-empty/rounds")
    assert response.status_code == 409 and "no active candidates" in response.json()["detail"]
    assert matching.state.rounds == {}


# ---------------------------------------------------------------------------------------------------- reading


async def test_the_pool_counts_active_and_withdrawn_candidates(matching):
    response = await matching.get(f"/programs/{PROGRAM}/pool", headers=AUDITOR)
    assert response.json() == {"program_id": PROGRAM, "active": 9, "withdrawn": 1, "awaiting_training": 0}
    assert (await matching.get("/programs/prg-unknown/pool")).status_code == 404


async def test_pairs_list_by_status(matching, round_):
    dissolved = round_["pairs"][0]["pair_id"]
    await matching.post(f"/pairs/{dissolved}/dissolve", json={"reason": "moved team"})
    active = (await matching.get(f"/programs/{PROGRAM}/pairs", params={"status": "active"})).json()
    gone = (await matching.get(f"/programs/{PROGRAM}/pairs", params={"status": "dissolved"})).json()
    assert dissolved not in {p["pair_id"] for p in active} and len(active) == len(round_["pairs"]) - 1
    assert [(p["pair_id"], p["dissolve_reason"]) for p in gone] == [(dissolved, "moved team")]
    # The reason is someone's words: auditors (and sponsors) see that the pair dissolved, not why (issue #19).
    audited = (await matching.get(f"/programs/{PROGRAM}/pairs", params={"status": "dissolved"}, headers=AUDITOR)).json()
    assert [(p["pair_id"], p["status"], p["dissolve_reason"]) for p in audited] == [(dissolved, "dissolved", None)]
    assert (await matching.get(f"/pairs/{dissolved}", headers=AUDITOR)).json()["dissolve_reason"] is None
    # A program matching has not heard of has no staff to check the caller against (issue #14): 404, not [].
    assert (await matching.get("/programs/prg-unknown/pairs")).status_code == 404


async def test_an_unknown_pair_status_is_422_naming_the_query_field(matching):
    response = await matching.get(f"/programs/{PROGRAM}/pairs", params={"status": "paused"})
    assert response.status_code == 422 and response.json()["errors"][0]["loc"] == ["query", "status"]


async def test_a_pair_reads_with_what_each_criterion_measures(matching, round_):
    pair = round_["pairs"][0]
    body = (await matching.get(f"/pairs/{pair['pair_id']}", headers=AUDITOR)).json()
    assert body["breakdown"] == pair["breakdown"] and set(body["criteria"]) >= set(pair["breakdown"])
    assert (await matching.get("/pairs/pair-unknown")).status_code == 404


async def test_a_member_sees_its_pair_but_not_others(matching, round_):
    pair = round_["pairs"][0]
    assert (await matching.get(f"/pairs/{pair['pair_id']}", headers=token("participant", pair["mentor_id"]))).is_success
    assert (await matching.get(f"/pairs/{pair['pair_id']}", headers=token("participant", pair["mentee_id"]))).is_success
    other = await matching.get(f"/pairs/{pair['pair_id']}", headers=token("participant", "p-someone-else"))
    assert other.status_code == 403


# ---------------------------------------------------------------------------------------------------- dissolving


async def test_a_pair_is_dissolved_with_a_reason_once(matching, round_):
    url = f"/pairs/{round_['pairs'][0]['pair_id']}/dissolve"
    first = await matching.post(url, json={"reason": "schedules never matched"})
    second = await matching.post(url, json={"reason": "again"})
    assert first.json()["status"] == "dissolved" and second.json()["dissolve_reason"] == "schedules never matched"
    assert matching.event_types().count("tandem.matching.pair-dissolved.v1") == 1


async def test_a_member_may_dissolve_its_own_pair_and_no_one_elses(matching, round_):
    pair, other = round_["pairs"][0], round_["pairs"][1]
    mentee = token("participant", pair["mentee_id"])
    refused = await matching.post(f"/pairs/{other['pair_id']}/dissolve", headers=mentee, json={"reason": "x"})
    assert refused.status_code == 403
    assert (await matching.get(f"/pairs/{other['pair_id']}")).json()["status"] == "active"
    own = await matching.post(f"/pairs/{pair['pair_id']}/dissolve", headers=mentee, json={"reason": "moved"})
    assert own.status_code == 200 and own.json()["status"] == "dissolved"


async def test_dissolving_an_unknown_pair_is_404(matching):
    response = await matching.post("/pairs/pair-unknown/dissolve", json={"reason": "x"})
    assert response.status_code == 404 and matching.store.events == []


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "x" * 501}])
async def test_a_dissolution_needs_a_reason_of_1_to_500_characters(matching, round_, body):
    response = await matching.post(f"/pairs/{round_['pairs'][0]['pair_id']}/dissolve", json=body)
    assert response.status_code == 422 and response.json()["errors"][0]["loc"] == ["body", "reason"]
    assert "tandem.matching.pair-dissolved.v1" not in matching.event_types()


# ---------------------------------------------------------------------------------------------------- roles


@pytest.mark.parametrize(
    ("method", "path", "role"),
    [
        ("post", f"/programs/{PROGRAM}/rounds/preview", "auditor"),
        ("post", f"/programs/{PROGRAM}/rounds", "auditor"),
        ("post", f"/programs/{PROGRAM}/rounds", "participant"),
        ("get", f"/programs/{PROGRAM}/pool", "participant"),
        ("get", f"/programs/{PROGRAM}/pairs", "participant"),
    ],
)
async def test_a_role_that_may_not_do_it_gets_403(matching, method, path, role):
    response = await getattr(matching, method)(path, headers=token(role, "p-M1"))
    assert response.status_code == 403
    assert matching.state.rounds == {}


async def test_an_auditor_may_not_dissolve(matching, round_):
    response = await matching.post(
        f"/pairs/{round_['pairs'][0]['pair_id']}/dissolve", headers=AUDITOR, json={"reason": "x"}
    )
    assert response.status_code == 403


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token"}])
async def test_no_valid_token_is_401(matching, headers):
    assert (await matching.get(f"/programs/{PROGRAM}/pool", headers=headers)).status_code == 401


# ------------------------------------------------------------------------------- bounds (issue #13)
# Issue #13's bad inputs against matching, in-process: 422 naming the field, nothing dissolved.


@pytest.mark.parametrize("reason", ["moved\x00team", "moved \ud800", True])
async def test_a_dissolution_reason_out_of_bounds_is_422(matching, round_, reason):
    response = await matching.post(
        f"/pairs/{round_['pairs'][0]['pair_id']}/dissolve",
        content=json.dumps({"reason": reason}),  # ASCII escapes carry a lone surrogate as JSON allows
        headers={**ADMIN, "content-type": "application/json"},
    )
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["reason"]
    assert "tandem.matching.pair-dissolved.v1" not in matching.event_types()


async def test_a_program_id_with_nul_is_422(matching):
    response = await matching.get("/programs/prg%00x/pool")
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "program_id"
