"""Issue #15 in sessions, in-process over the in-memory unit of work: the two-way agreement (versions both members
sign), sessions that advance its goals, the pair's end (both members, an admin, the clock) with reflections, and
who sees which words. What crosses Kafka and PostgreSQL is in test_sessions_api.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI, Request

from services.sessions import bootstrap
from services.sessions.adapters.memory import SessionsState
from services.sessions.config import SessionsSettings
from services.sessions.domain.model import Pair, ProgramGuidelines
from services.sessions.entrypoints import http
from services.sessions.service_layer import handlers
from services.sessions.service_layer.unit_of_work import InMemorySessionsUnitOfWork
from shared.auth import ProgramStaff, issue_token
from shared.clock import Clock
from shared.eventstore import InMemoryEventStore
from tests.support.bodies import invalid_fields as fields
from tests.support.bodies import session
from tests.support.services import token

MENTOR, MENTEE, STRANGER = "p-mentor-1", "p-mentee-1", "p-stranger"
PAIR, PROGRAM = "pair-1", "prg-1"
CADENCE_DAYS, DURATION_WEEKS = 14, 12
ADMIN = {"Authorization": f"Bearer {issue_token('hr-1', ['program_admin'], groups=['hr'])}"}
OTHER_ADMIN = {"Authorization": f"Bearer {issue_token('hr-2', ['program_admin'], groups=['sales'])}"}
SPONSOR = {"Authorization": f"Bearer {issue_token('exec-1', ['executive_sponsor'], groups=['board'])}"}
AUDITOR = token("auditor")
WORDS = ("I want to learn prompt design", "I want to learn to read a budget")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def started(clock) -> datetime:
    """The pair started yesterday (PairFormed's time)."""
    return clock.now() - timedelta(days=1)


@pytest.fixture
def state(started) -> SessionsState:
    return SessionsState(
        pairs={PAIR: Pair(PAIR, PROGRAM, MENTOR, MENTEE, formed_at=started)},
        program_staff={PROGRAM: ProgramStaff.of(["hr"], ["board"])},
        programs={PROGRAM: ProgramGuidelines(PROGRAM, CADENCE_DAYS, DURATION_WEEKS)},
    )


@pytest.fixture
def store() -> InMemoryEventStore:
    return InMemoryEventStore()


@pytest.fixture(scope="module")
def app():
    return bootstrap.build(SessionsSettings())


@pytest.fixture
async def client(app, state, store, clock):
    app.dependency_overrides[http.unit_of_work] = lambda: InMemorySessionsUnitOfWork(state, store)
    app.dependency_overrides[http.clock] = lambda: clock
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://sessions{bootstrap.SPEC.prefix}") as client:
        yield client


def member(who: str) -> dict[str, str]:
    return token("participant", who)


def terms(**overrides) -> dict:
    return {
        "goals": [
            {"direction": "mentor_to_mentee", "text": WORDS[0]},
            {"direction": "mentee_to_mentor", "text": WORDS[1]},
        ],
        "cadence_days": 7,
        "duration_weeks": 10,
        "confidentiality": "strict",
        "confidentiality_note": "what we say about our teams stays between us",
        **overrides,
    }


async def write(client, who: str = MENTEE, **overrides) -> httpx.Response:
    return await client.put(f"/pairs/{PAIR}/agreement", json=terms(**overrides), headers=member(who))


async def sign(client, who: str, version: int = 1) -> httpx.Response:
    return await client.post(f"/pairs/{PAIR}/agreement/sign", json={"version": version}, headers=member(who))


async def agreement(client, headers: dict | None = None) -> dict:
    response = await client.get(f"/pairs/{PAIR}/agreement", headers=headers or member(MENTOR))
    assert response.status_code == 200, response.text
    return response.json()


async def in_force(client) -> dict:
    assert (await write(client)).status_code == 200
    assert (await sign(client, MENTOR)).status_code == 200
    assert (await sign(client, MENTEE)).status_code == 200
    return await agreement(client)


def events(store: InMemoryEventStore) -> list[tuple[str, dict]]:
    return [(e.type.split(".")[2], e.data) for e in store.events]


# ------------------------------------------------------------------------------------------------ the agreement


async def test_a_pair_without_an_agreement_shows_none(client):
    shown = await agreement(client)
    assert shown["status"] == "none" and shown["version"] == 0 and shown["goals"] == [] and shown["progress"] == []
    assert shown["in_force_version"] is None and shown["ends_on"] is None


async def test_a_written_agreement_awaits_both_signatures_and_its_words_stay_out_of_the_event(client, store):
    response = await write(client, MENTEE)
    assert response.status_code == 200, response.text
    shown = response.json()["agreement"]
    assert shown["version"] == 1 and shown["status"] == "awaiting_signatures" and shown["signed_by"] == []
    assert [(g["direction"], g["text"], g["written_by"]) for g in shown["goals"]] == [
        ("mentor_to_mentee", WORDS[0], MENTEE),
        ("mentee_to_mentor", WORDS[1], MENTEE),
    ]
    [(kind, data)] = events(store)
    assert kind == "agreement-proposed" and data["agreement_version"] == 1 and data["proposed_by"] == MENTEE
    assert data["goals"] == [{"goal_id": g["goal_id"], "direction": g["direction"]} for g in shown["goals"]]
    assert data["confidentiality"] == "strict"
    published = str(store.events[0].data)
    assert WORDS[0] not in published and "stays between us" not in published


async def test_both_signatures_put_the_version_in_force_and_the_pair_ends_after_the_agreed_weeks(
    client, store, started
):
    await write(client)
    first = await sign(client, MENTOR)
    assert first.status_code == 200 and first.json()["agreement"]["status"] == "awaiting_signatures"
    second = (await sign(client, MENTEE)).json()["agreement"]
    ends_on = started.date() + timedelta(weeks=10)
    assert second["status"] == "in_force" and second["in_force_version"] == 1 and second["ends_on"] == str(ends_on)
    assert sorted(second["signed_by"]) == sorted([MENTOR, MENTEE])
    kinds = [kind for kind, _ in events(store)]
    assert kinds == ["agreement-proposed", "agreement-signed", "agreement-signed", "agreement-in-force"]
    assert events(store)[-1][1] | {} == {
        "program_id": PROGRAM,
        "pair_id": PAIR,
        "agreement_version": 1,
        "cadence_days": 7,
        "duration_weeks": 10,
        "ends_on": str(ends_on),
    }


async def test_signing_twice_changes_nothing(client, store):
    await write(client)
    assert (await sign(client, MENTOR)).status_code == 200
    again = await sign(client, MENTOR)
    assert again.status_code == 200 and again.json()["event_log"] is None
    assert [kind for kind, _ in events(store)].count("agreement-signed") == 1


async def test_a_stale_or_unknown_version_is_a_conflict(client):
    assert (await sign(client, MENTOR, 1)).status_code == 409  # nothing written yet
    await write(client)
    await write(client, MENTOR)
    stale = await sign(client, MENTOR, 1)
    assert stale.status_code == 409 and "latest: 2" in stale.json()["detail"]
    assert (await sign(client, MENTOR, 3)).status_code == 409


async def test_a_change_needs_both_signatures_again_and_the_version_in_force_stays_until_then(client, store):
    first = await in_force(client)
    kept, dropped = first["goals"]
    changed = terms(
        goals=[
            {"goal_id": kept["goal_id"], "direction": kept["direction"], "text": kept["text"]},
            {"direction": "mentee_to_mentor", "text": "I want to learn to run a retrospective"},
        ],
        cadence_days=10,
    )
    response = await client.put(f"/pairs/{PAIR}/agreement", json=changed, headers=member(MENTOR))
    shown = response.json()["agreement"]
    assert shown["version"] == 2 and shown["status"] == "awaiting_signatures" and shown["signed_by"] == []
    assert shown["in_force_version"] == 1 and shown["ends_on"] == first["ends_on"]
    assert shown["goals"][0] == kept  # same words: same id, same writer
    assert shown["goals"][1]["written_by"] == MENTOR and dropped["goal_id"] not in {
        g["goal_id"] for g in shown["goals"]
    }
    await sign(client, MENTEE, 2)
    assert (await agreement(client))["in_force_version"] == 1
    await sign(client, MENTOR, 2)
    now = await agreement(client)
    assert now["status"] == "in_force" and now["in_force_version"] == 2 and now["cadence_days"] == 10


async def test_a_goal_id_must_be_one_of_the_latest_version(client):
    await write(client)
    bad = terms(goals=[{"goal_id": "gol-unknown", "direction": "mentor_to_mentee", "text": "x"}])
    response = await client.put(f"/pairs/{PAIR}/agreement", json=bad, headers=member(MENTOR))
    assert response.status_code == 422 and fields(response) == ["goals"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"cadence_days": 2 * CADENCE_DAYS + 1}, "cadence_days"),
        ({"cadence_days": 0}, "cadence_days"),
        ({"duration_weeks": DURATION_WEEKS + 1}, "duration_weeks"),
        ({"duration_weeks": 0}, "duration_weeks"),
        ({"goals": []}, "goals"),
        ({"goals": [{"direction": "mentor_to_mentee", "text": f"goal {i}"} for i in range(21)]}, "goals"),
        ({"goals": [{"direction": "mentor_to_mentee", "text": "x" * 501}]}, "goals"),
        ({"goals": [{"direction": "sideways", "text": "x"}]}, "goals"),
        ({"confidentiality": "secret"}, "confidentiality"),
        ({"confidentiality_note": "x" * 1001}, "confidentiality_note"),
    ],
)
async def test_an_agreement_outside_its_bounds_or_the_programs_guidelines_is_422_naming_the_field(
    client, store, overrides, field
):
    response = await write(client, **overrides)
    assert response.status_code == 422 and fields(response) == [field]
    assert store.events == []


async def test_the_programs_guidelines_are_the_bounds(client):
    assert (await write(client, cadence_days=2 * CADENCE_DAYS, duration_weeks=DURATION_WEEKS)).status_code == 200


async def test_an_agreement_waits_for_its_programs_guidelines(client, state):
    state.programs.clear()
    response = await write(client)
    assert response.status_code == 409 and "not known here yet" in response.json()["detail"]


async def test_only_members_write_and_sign(client, state):
    assert (await write(client, STRANGER)).status_code == 403
    for outsider in (ADMIN, AUDITOR, SPONSOR):
        assert (await client.put(f"/pairs/{PAIR}/agreement", json=terms(), headers=outsider)).status_code == 403
    await write(client)
    assert (await sign(client, STRANGER)).status_code == 403
    assert (await client.post(f"/pairs/{PAIR}/agreement/sign", json={"version": 1}, headers=ADMIN)).status_code == 403
    assert [a.signed_by for a in state.agreements.values()] == [()]


async def test_staff_of_the_program_see_status_and_counts_but_no_words(client):
    await in_force(client)
    await client.post(
        f"/pairs/{PAIR}/sessions",
        json=session(goals_advanced=[(await agreement(client))["goals"][0]["goal_id"]]),
        headers=member(MENTOR),
    )
    for staff in (ADMIN, SPONSOR, AUDITOR):
        shown = await agreement(client, staff)
        assert shown["status"] == "in_force" and len(shown["goals"]) == 2
        assert all(g["text"] is None for g in shown["goals"]) and shown["confidentiality_note"] is None
        assert sorted(p["sessions"] for p in shown["progress"]) == [0, 1]
        assert WORDS[0] not in str(shown)
    for outsider in (OTHER_ADMIN, member(STRANGER)):
        assert (await client.get(f"/pairs/{PAIR}/agreement", headers=outsider)).status_code == 403


async def test_an_ended_pair_takes_no_new_agreement(client):
    await in_force(client)
    assert (await client.post(f"/pairs/{PAIR}/completion", headers=ADMIN)).status_code == 200
    assert (await write(client)).status_code == 409
    assert (await sign(client, MENTOR, 1)).status_code == 409


# ---------------------------------------------------------------------------------------- sessions and progress


async def log(client, who: str = MENTOR, **overrides) -> httpx.Response:
    return await client.post(f"/pairs/{PAIR}/sessions", json=session(**overrides), headers=member(who))


async def test_sessions_advance_goals_of_the_agreement_in_force_and_progress_shows_both_directions(client, store):
    goals = {g["direction"]: g["goal_id"] for g in (await in_force(client))["goals"]}
    today = date.today()
    to_mentee, to_mentor = goals["mentor_to_mentee"], goals["mentee_to_mentor"]
    assert (await log(client, held_on=str(today - timedelta(days=1)), goals_advanced=[to_mentee])).status_code == 201
    both = await log(client, MENTEE, goals_advanced=[to_mentee, to_mentor, to_mentee])
    assert both.status_code == 201 and both.json()["session"]["goals_advanced"] == [to_mentee, to_mentor]
    assert store.events[-1].data["goals_advanced"] == [to_mentee, to_mentor]
    progress = {p["goal_id"]: p for p in (await agreement(client, member(MENTEE)))["progress"]}
    assert progress[to_mentee] == {
        "goal_id": to_mentee,
        "direction": "mentor_to_mentee",
        "sessions": 2,
        "last_advanced_on": str(today),
    }
    assert progress[to_mentor]["sessions"] == 1 and progress[to_mentor]["direction"] == "mentee_to_mentor"


async def test_goals_advanced_must_be_goals_of_the_agreement_in_force(client, state):
    no_agreement = await log(client, goals_advanced=["gol-anything"])
    assert no_agreement.status_code == 422 and fields(no_agreement) == ["goals_advanced"]
    await in_force(client)
    assert fields(await log(client, goals_advanced=["gol-unknown"])) == ["goals_advanced"]
    # a goal of a version still awaiting signatures is not in force yet
    latest = (await write(client, goals=[{"direction": "mentor_to_mentee", "text": "a new goal"}])).json()
    new_goal = latest["agreement"]["goals"][0]["goal_id"]
    assert fields(await log(client, goals_advanced=[new_goal])) == ["goals_advanced"]
    assert state.sessions == []


async def test_a_session_held_before_the_pair_started_is_422_naming_held_on(client, started, state):
    before = await log(client, held_on=str(started.date() - timedelta(days=1)))
    assert before.status_code == 422 and fields(before) == ["held_on"]
    assert (await log(client, held_on=str(started.date()))).status_code == 201
    assert len(state.sessions) == 1


async def test_feedback_follows_the_agreed_cadence_once_in_force(client, clock):
    await in_force(client)  # cadence 7 days instead of the program's 14
    rate = {"rating": 5, "would_continue": True}
    assert (await client.post(f"/pairs/{PAIR}/feedback", json=rate, headers=member(MENTOR))).status_code == 201
    refused = await client.post(f"/pairs/{PAIR}/feedback", json=rate, headers=member(MENTOR))
    assert refused.status_code == 409 and "every 7 days" in refused.json()["detail"]
    clock.advance(timedelta(days=7))
    assert (await client.post(f"/pairs/{PAIR}/feedback", json=rate, headers=member(MENTOR))).status_code == 201


# --------------------------------------------------------------------------------------------------------- the end


def reflection(**overrides) -> dict:
    return {"learned": "how my team reads dashboards", "changed": "I ask first", "would_recommend": True, **overrides}


async def finish(client, who: str | dict, **overrides) -> httpx.Response:
    headers = member(who) if isinstance(who, str) else who
    return await client.post(f"/pairs/{PAIR}/completion", json=reflection(**overrides), headers=headers)


async def completion(client, headers: dict) -> dict:
    response = await client.get(f"/pairs/{PAIR}/completion", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_pair_completes_when_both_members_asked_with_their_reflections(client, store, clock):
    first = await finish(client, MENTOR)
    assert first.status_code == 200, first.text
    assert first.json()["completion"]["status"] == "active" and first.json()["completion"]["requested_by"] == [MENTOR]
    assert [kind for kind, _ in events(store)] == ["completion-requested", "reflection-recorded"]
    again = await finish(client, MENTOR)
    assert again.status_code == 409
    second = (await finish(client, MENTEE, would_recommend=False)).json()["completion"]
    assert second["status"] == "completed" and second["completed_by"] == "members"
    assert second["completed_on"] == str(clock.now().date())
    kinds = [kind for kind, _ in events(store)]
    assert kinds[-3:] == ["completion-requested", "reflection-recorded", "pair-completed"]
    assert events(store)[-1][1]["completed_by"] == "members"
    assert "dashboards" not in str([e.data for e in store.events])  # the words stay in sessions' tables
    pair = (await client.get(f"/pairs/{PAIR}", headers=AUDITOR)).json()
    assert pair["status"] == "completed" and pair["completed_by"] == "members" and pair["dissolved_at"] is None
    late = await log(client)
    assert late.status_code == 409 and "completed" in late.json()["detail"]


async def test_members_see_both_reflections_and_staff_see_would_recommend_only(client):
    await finish(client, MENTOR)
    await finish(client, MENTEE, would_recommend=False, learned="budgets")
    for who in (MENTOR, MENTEE):
        shown = await completion(client, member(who))
        assert {r["participant_id"]: r["learned"] for r in shown["reflections"]} == {
            MENTOR: "how my team reads dashboards",
            MENTEE: "budgets",
        }
    for staff in (ADMIN, SPONSOR, AUDITOR):
        shown = await completion(client, staff)
        assert [(r["side"], r["would_recommend"]) for r in shown["reflections"]] == [
            ("mentor", True),
            ("mentee", False),
        ]
        assert all(r["learned"] is None and r["changed"] is None for r in shown["reflections"])
    assert (await client.get(f"/pairs/{PAIR}/completion", headers=member(STRANGER))).status_code == 403
    assert (await client.get(f"/pairs/{PAIR}/completion", headers=OTHER_ADMIN)).status_code == 403


async def test_an_admin_of_the_program_completes_the_pair_at_once_and_reflections_still_come(client, store):
    response = await client.post(f"/pairs/{PAIR}/completion", headers=ADMIN)
    assert response.status_code == 200 and response.json()["completion"]["completed_by"] == "admin"
    assert [kind for kind, _ in events(store)] == ["pair-completed"]
    assert (await client.post(f"/pairs/{PAIR}/completion", headers=ADMIN)).status_code == 409
    late = await finish(client, MENTEE)
    assert late.status_code == 200 and late.json()["completion"]["requested_by"] == []
    assert [kind for kind, _ in events(store)] == ["pair-completed", "reflection-recorded"]


async def test_an_admin_may_send_an_empty_body(client):
    response = await client.post(f"/pairs/{PAIR}/completion", json={}, headers=ADMIN)
    assert response.status_code == 200 and response.json()["completion"]["completed_by"] == "admin"


async def test_only_members_and_the_programs_admins_complete(client, state):
    assert (await client.post(f"/pairs/{PAIR}/completion", headers=OTHER_ADMIN)).status_code == 403
    assert (await finish(client, STRANGER)).status_code == 403
    assert (await client.post(f"/pairs/{PAIR}/completion", json=reflection(), headers=AUDITOR)).status_code == 403
    assert state.pair_ends == {} and state.reflections == []


async def test_a_member_completes_with_a_reflection(client):
    response = await client.post(f"/pairs/{PAIR}/completion", headers=member(MENTOR))
    assert response.status_code == 422 and fields(response) == ["would_recommend"]
    response = await client.post(f"/pairs/{PAIR}/completion", json={"learned": "x"}, headers=member(MENTOR))
    assert response.status_code == 422 and fields(response) == ["would_recommend"]
    response = await finish(client, MENTOR, would_recommend="yes")
    assert response.status_code == 422 and fields(response) == ["would_recommend"]
    response = await finish(client, MENTOR, learned="x" * 2001)
    assert response.status_code == 422 and fields(response) == ["learned"]


async def test_a_dissolved_pair_does_not_complete(client, state):
    state.pairs[PAIR] = replace(state.pairs[PAIR], status="dissolved")
    assert (await finish(client, MENTOR)).status_code == 409
    assert (await client.post(f"/pairs/{PAIR}/completion", headers=ADMIN)).status_code == 409


async def test_the_schedule_completes_a_pair_at_its_agreements_end_once(client, state, store, clock, started):
    await in_force(client)  # 10 weeks from the start
    assert (await completion(client, member(MENTOR)))["ends_on"] == str(started.date() + timedelta(weeks=10))

    def run():
        return handlers.complete_due_pairs(lambda: InMemorySessionsUnitOfWork(state, store), clock.now())

    assert await run() == 0
    clock.advance(timedelta(weeks=10))
    assert await run() == 1
    assert await run() == 0  # idempotent
    done = events(store)[-1]
    assert done == (
        "pair-completed",
        {
            "program_id": PROGRAM,
            "pair_id": PAIR,
            "completed_by": "schedule",
            "completed_on": str(started.date() + timedelta(weeks=10)),
        },
    )
    assert (await client.get(f"/pairs/{PAIR}", headers=AUDITOR)).json()["status"] == "completed"


async def test_without_an_agreement_a_pair_ends_after_the_programs_duration(client, state, store, clock, started):
    def run():
        return handlers.complete_due_pairs(lambda: InMemorySessionsUnitOfWork(state, store), clock.now())

    clock.advance(timedelta(weeks=DURATION_WEEKS) - timedelta(days=2))
    assert await run() == 0
    clock.advance(timedelta(days=2))
    assert await run() == 1
    assert state.pair_ends[PAIR] == ("schedule", started.date() + timedelta(weeks=DURATION_WEEKS))


async def test_a_pair_whose_program_is_unknown_and_unagreed_does_not_end_by_itself(state, store, clock):
    state.programs.clear()
    clock.advance(timedelta(weeks=520))
    assert await handlers.complete_due_pairs(lambda: InMemorySessionsUnitOfWork(state, store), clock.now()) == 0


async def test_the_end_day_shows_while_the_pair_runs(client, started):
    shown = await completion(client, member(MENTOR))
    assert shown["ends_on"] == str(started.date() + timedelta(weeks=DURATION_WEEKS))
    assert shown["status"] == "active" and shown["requested_by"] == [] and shown["reflections"] == []


async def test_the_spec_declares_the_pair_end_schedule():
    class Runtime:
        pool = store = None

    assert [s.name for s in bootstrap.SPEC.schedules(Runtime())] == ["pair-end"]  # type: ignore[arg-type]


async def test_clock_dependency_defaults_to_the_wall_clock():
    unbound = Request({"type": "http", "app": FastAPI()})  # an app whose composition root bound no clock
    assert abs((await http.clock(unbound)).now() - datetime.now(UTC)) < timedelta(seconds=5)
