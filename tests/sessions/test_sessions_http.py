"""Sessions' HTTP API in-process over the in-memory unit of work: the app `bootstrap.build()` makes, its lifespan
not started, so no database and no broker. What crosses a process or Kafka stays in test_sessions_api.py."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from services.sessions import bootstrap
from services.sessions.adapters.memory import SessionsState
from services.sessions.config import SessionsSettings
from services.sessions.domain.model import Pair, ProgramGuidelines, feedback_period
from services.sessions.entrypoints import http
from services.sessions.service_layer.unit_of_work import InMemorySessionsUnitOfWork
from shared.auth import ProgramStaff, issue_token
from shared.clock import Clock
from shared.events import BreakGlassUsed
from shared.eventstore import InMemoryEventStore
from tests.support.bodies import invalid_fields as fields
from tests.support.bodies import session
from tests.support.services import token

ADMIN, AUDITOR = token("program_admin"), token("auditor")
MENTOR, MENTEE, STRANGER = "p-mentor-1", "p-mentee-1", "p-stranger"
PAIR = "pair-1"
KEY_TTL_HOURS = 24.0
FORMED = datetime(2026, 3, 1, 9, tzinfo=UTC)
CADENCE_DAYS, DURATION_WEEKS = 14, 12


@pytest.fixture
def state() -> SessionsState:
    """The service's state; pair-1 has been announced, as the pairs projection would have recorded it, and its
    program launched with no admin group (every program admin runs it), as the program-staff projection would."""
    return SessionsState(
        pairs={PAIR: Pair(PAIR, "prg-1", MENTOR, MENTEE, formed_at=FORMED)},
        program_staff={"prg-1": ProgramStaff()},
        programs={"prg-1": ProgramGuidelines("prg-1", CADENCE_DAYS, DURATION_WEEKS)},
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store() -> InMemoryEventStore:
    return InMemoryEventStore()


@pytest.fixture(scope="module")
def app():
    return bootstrap.build(SessionsSettings(idempotency_key_ttl_hours=KEY_TTL_HOURS))


@pytest.fixture
async def client(app, state, store, clock):
    # Each request gets its own unit of work over the shared state, as each gets its own connection in production.
    app.dependency_overrides[http.unit_of_work] = lambda: InMemorySessionsUnitOfWork(state, store)
    app.dependency_overrides[http.clock] = lambda: clock
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://sessions{bootstrap.SPEC.prefix}") as client:
        yield client


def as_member(who: str = MENTOR, key: str | None = None) -> dict[str, str]:
    return {**token("participant", who), **({"Idempotency-Key": key} if key else {})}


def rating(**overrides) -> dict:
    return {"rating": 4, "learned": "short video", "would_continue": True, **overrides}


async def log(client, body: dict | None = None, who: str = MENTOR, key: str | None = None, pair: str = PAIR):
    return await client.post(f"/pairs/{pair}/sessions", json=body or session(), headers=as_member(who, key))


async def feedback(client, who: str = MENTEE, key: str | None = None, pair: str = PAIR, **overrides):
    return await client.post(f"/pairs/{pair}/feedback", json=rating(**overrides), headers=as_member(who, key))


def dissolve(state: SessionsState, pair_id: str = PAIR) -> None:
    state.pairs[pair_id] = replace(state.pairs[pair_id], status="dissolved", dissolved_at=FORMED + timedelta(days=9))


def age_keys(state: SessionsState, by: timedelta) -> None:
    for k, stored in state.idempotency_keys.items():
        state.idempotency_keys[k] = replace(stored, created_at=stored.created_at - by)


# ------------------------------------------------------------------------------------------------ logging sessions


async def test_a_logged_session_is_answered_with_its_notes_and_appended_without_them(client, store):
    response = await log(client, session(notes="tiktok basics"))
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["session"]["notes"] == "tiktok basics" and answer["session"]["logged_by"] == MENTOR
    [event] = await store.read_stream(f"pair-sessions-{PAIR}")
    assert event.type == "tandem.sessions.session-held.v1" and "notes" not in event.data
    assert event.data["session_id"] == answer["session"]["session_id"] and event.data["program_id"] == "prg-1"
    assert answer["event_log"] == {"stream_id": f"pair-sessions-{PAIR}", "stream_version": 1, "position": 1}


async def test_an_admin_logs_on_behalf_of_the_pair_under_its_own_name(client):
    response = await client.post(f"/pairs/{PAIR}/sessions", json=session(), headers=token("program_admin", "hr-1"))
    assert response.status_code == 201 and response.json()["session"]["logged_by"] == "admin:hr-1"


async def test_outsiders_and_auditors_cannot_log(client, state):
    assert (await log(client, who=STRANGER)).status_code == 403
    assert (await client.post(f"/pairs/{PAIR}/sessions", json=session(), headers=AUDITOR)).status_code == 403
    assert state.sessions == []


async def test_a_session_for_an_unknown_pair_is_404(client):
    assert (await log(client, pair="pair-unknown")).status_code == 404
    assert (await client.post("/pairs/pair-unknown/sessions", json=session(), headers=ADMIN)).status_code == 404


async def test_a_dissolved_pair_takes_no_more_sessions(client, state, store):
    dissolve(state)
    response = await log(client)
    assert response.status_code == 409 and "dissolved" in response.json()["detail"]
    assert state.sessions == [] and store.events == []


async def test_both_members_logging_land_one_after_the_other_on_the_pairs_stream(client):
    versions = [(await log(client, who=who)).json()["event_log"]["stream_version"] for who in (MENTOR, MENTEE)]
    assert versions == [1, 2]


async def test_repeated_topics_are_kept_once(client):
    response = await log(client, session(topics=["ai", "tiktok", "ai"]))
    assert response.json()["session"]["topics"] == ["ai", "tiktok"]


# --------------------------------------------------------------------------------------------------- validation


async def test_a_session_in_the_future_is_422_naming_held_on(client):
    response = await log(client, session(held_on=str(date.today() + timedelta(days=5))))
    assert response.status_code == 422 and response.json()["errors"][0]["loc"][-1] == "held_on"


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"minutes": 0}, "minutes"),
        ({"minutes": 601}, "minutes"),
        ({"learning_direction": "sideways"}, "learning_direction"),
        ({"topics": ["x" * 101]}, 0),
        ({"notes": "x" * 5001}, "notes"),
        ({"mood": "great"}, "mood"),
    ],
)
async def test_a_bad_session_field_is_422_naming_it(client, state, overrides, field):
    response = await log(client, session(**overrides))
    assert response.status_code == 422 and response.json()["errors"][0]["loc"][-1] == field
    assert state.sessions == []


async def test_a_session_without_held_on_is_422_naming_it(client):
    body = session()
    del body["held_on"]
    response = await log(client, body)
    assert response.status_code == 422 and response.json()["errors"][0]["loc"] == ["body", "held_on"]


@pytest.mark.parametrize("value, field", [({"rating": 6}, "rating"), ({"rating": 0}, "rating")])
async def test_a_rating_outside_one_to_five_is_422(client, value, field):
    response = await feedback(client, **value)
    assert response.status_code == 422 and response.json()["errors"][0]["loc"][-1] == field


async def test_an_idempotency_key_longer_than_200_characters_is_422_naming_the_header(client):
    response = await log(client, key="k" * 201)
    assert response.status_code == 422 and response.json()["errors"][0]["loc"] == ["header", "idempotency-key"]


# ----------------------------------------------------------------------------------------------------- feedback


async def test_feedback_records_the_side_of_the_member_who_gave_it(client, store):
    response = await feedback(client, MENTEE)
    assert response.status_code == 201 and response.json()["feedback"]["side"] == "mentee"
    [event] = await store.read_stream(f"pair-sessions-{PAIR}")
    assert event.type == "tandem.sessions.feedback-given.v1" and event.data["side"] == "mentee"


async def test_only_members_give_feedback(client, state):
    assert (await feedback(client, STRANGER)).status_code == 403
    for outsider in (ADMIN, AUDITOR):
        assert (await client.post(f"/pairs/{PAIR}/feedback", json=rating(), headers=outsider)).status_code == 403
    assert state.feedback == []


async def test_a_dissolved_pair_still_takes_feedback(client, state):
    dissolve(state)
    assert (await feedback(client, MENTEE)).status_code == 201


async def test_a_member_gives_one_feedback_per_cadence_period_and_the_other_member_too(client, state, clock):
    assert (await feedback(client, MENTEE)).status_code == 201
    again = await feedback(client, MENTEE, rating=1)
    _, next_due = feedback_period(state.pairs[PAIR], CADENCE_DAYS, clock.now())
    assert again.status_code == 409 and f"the next is due on {next_due}" in again.json()["detail"]
    assert (await feedback(client, MENTOR)).status_code == 201
    assert (await log(client)).status_code == 201  # a session no longer opens a feedback
    assert (await feedback(client, MENTEE)).status_code == 409
    clock.advance(timedelta(days=CADENCE_DAYS))
    assert (await feedback(client, MENTEE)).status_code == 201
    assert [f.given_by for f in state.feedback].count(MENTEE) == 2


async def test_feedback_for_an_unknown_pair_is_404(client):
    assert (await feedback(client, pair="pair-unknown")).status_code == 404


# -------------------------------------------------------------------------------------------- Idempotency-Key


async def test_a_retry_with_the_same_idempotency_key_creates_one_session(client, state, store):
    first, retry = [await log(client, key="k-1") for _ in range(2)]
    assert first.status_code == retry.status_code == 201 and first.json() == retry.json()
    assert len(state.sessions) == 1 and len(store.events) == 1


async def test_the_same_idempotency_key_with_another_body_is_a_conflict(client, state):
    assert (await log(client, key="k-2")).status_code == 201
    response = await log(client, session(minutes=90), key="k-2")
    assert response.status_code == 409 and "Idempotency-Key" in response.json()["detail"]
    assert len(state.sessions) == 1


async def test_the_same_idempotency_key_for_another_pair_is_a_conflict(client, state):
    state.pairs["pair-2"] = Pair("pair-2", "prg-1", MENTOR, "p-mentee-2", formed_at=FORMED)
    assert (await log(client, key="k-3")).status_code == 201
    assert (await log(client, key="k-3", pair="pair-2")).status_code == 409


async def test_an_idempotency_key_belongs_to_its_caller(client, state):
    assert (await log(client, who=MENTOR, key="shared")).status_code == 201
    assert (await log(client, who=MENTEE, key="shared")).status_code == 201
    assert len(state.sessions) == 2


async def test_a_session_key_reused_for_feedback_is_a_conflict(client, state):
    assert (await log(client, who=MENTOR, key="k-both")).status_code == 201
    assert (await feedback(client, MENTOR, key="k-both")).status_code == 409
    assert state.feedback == []


async def test_a_retried_feedback_with_its_idempotency_key_is_recorded_once(client, state, store):
    first, retry = [await feedback(client, MENTEE, key="fb-1") for _ in range(2)]
    assert first.status_code == retry.status_code == 201 and first.json() == retry.json()
    assert len(state.feedback) == 1 and len(store.events) == 1
    assert (await feedback(client, MENTEE, key="fb-1", rating=1)).status_code == 409


async def test_without_an_idempotency_key_each_request_is_a_new_session(client, state):
    for _ in range(2):
        assert (await log(client)).status_code == 201
    assert len(state.sessions) == 2 and state.idempotency_keys == {}


async def test_a_key_within_its_time_to_live_gives_the_first_answer_back(client, state):
    first = await log(client, key="k-ttl")
    age_keys(state, timedelta(hours=KEY_TTL_HOURS - 1))
    assert (await log(client, key="k-ttl")).json() == first.json()
    assert len(state.sessions) == 1


async def test_after_its_time_to_live_a_key_starts_a_new_request(client, state):
    first = await log(client, key="k-ttl")
    age_keys(state, timedelta(hours=KEY_TTL_HOURS + 1))
    again = await log(client, session(minutes=90), key="k-ttl")
    assert again.status_code == 201 and again.json()["session"]["session_id"] != first.json()["session"]["session_id"]
    assert len(state.sessions) == 2


async def test_a_rolled_back_attempt_leaves_no_key_behind(client, state):
    # The key is claimed before the pair is looked up: the 404 rolls the claim back, so the retry is new.
    assert (await log(client, key="k-early", pair="pair-late")).status_code == 404
    assert state.idempotency_keys == {}
    state.pairs["pair-late"] = Pair("pair-late", "prg-1", MENTOR, MENTEE, formed_at=FORMED)
    assert (await log(client, key="k-early", pair="pair-late")).status_code == 201


async def test_a_refused_session_leaves_no_key_behind(client, state):
    dissolve(state)
    assert (await log(client, key="k-refused")).status_code == 409
    assert (await feedback(client, MENTOR, key="k-refused")).status_code == 201


# -------------------------------------------------------------------------------------------------------- reads


async def test_members_admins_and_auditors_read_a_pair_and_outsiders_do_not(client):
    for reader in (token("participant", MENTOR), token("participant", MENTEE), ADMIN, AUDITOR):
        assert (await client.get(f"/pairs/{PAIR}", headers=reader)).status_code == 200
        assert (await client.get(f"/pairs/{PAIR}/sessions", headers=reader)).status_code == 200
    assert (await client.get(f"/pairs/{PAIR}", headers=as_member(STRANGER))).status_code == 403
    assert (await client.get(f"/pairs/{PAIR}/sessions", headers=as_member(STRANGER))).status_code == 403


async def test_a_pair_shows_its_status_and_when_it_was_formed_and_dissolved(client, state):
    shown = (await client.get(f"/pairs/{PAIR}", headers=AUDITOR)).json()
    assert shown == {
        "pair_id": PAIR,
        "program_id": "prg-1",
        "mentor_id": MENTOR,
        "mentee_id": MENTEE,
        "status": "active",
        "formed_at": "2026-03-01T09:00:00Z",
        "dissolved_at": None,
        "completed_by": None,
        "completed_on": None,
    }
    dissolve(state)
    shown = (await client.get(f"/pairs/{PAIR}", headers=AUDITOR)).json()
    assert shown["status"] == "dissolved" and shown["dissolved_at"] == "2026-03-10T09:00:00Z"


async def test_an_unknown_pair_and_its_sessions_are_404(client):
    assert (await client.get("/pairs/pair-unknown", headers=ADMIN)).status_code == 404
    assert (await client.get("/pairs/pair-unknown/sessions", headers=ADMIN)).status_code == 404


async def test_the_session_list_shows_what_was_logged_by_the_day_held_with_notes(client):
    later = (await log(client, session(notes="tiktok basics"))).json()["session"]
    earlier = (await log(client, session(held_on=str(date.today() - timedelta(days=3)), notes=""))).json()["session"]
    listed = (await client.get(f"/pairs/{PAIR}/sessions", headers=as_member(MENTEE))).json()
    assert listed == [earlier, later]


async def test_a_participant_lists_only_its_own_pairs_oldest_first(client, state):
    state.pairs["pair-0"] = Pair("pair-0", "prg-1", "p-mentor-2", MENTEE, formed_at=FORMED - timedelta(days=1))
    state.pairs["pair-9"] = Pair("pair-9", "prg-1", "p-mentor-2", "p-mentee-2", formed_at=FORMED)
    mine = await client.get(f"/participants/{MENTEE}/pairs", headers=as_member(MENTEE))
    assert [p["pair_id"] for p in mine.json()] == ["pair-0", PAIR]
    assert (await client.get(f"/participants/{MENTEE}/pairs", headers=as_member(MENTOR))).status_code == 403
    for reader in (ADMIN, AUDITOR):
        assert len((await client.get(f"/participants/{MENTEE}/pairs", headers=reader)).json()) == 2
    assert (await client.get("/participants/p-nobody/pairs", headers=ADMIN)).json() == []


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/pairs/pair-x"),
        ("GET", "/pairs/pair-x/sessions"),
        ("POST", "/pairs/pair-x/sessions"),
        ("POST", "/pairs/pair-x/feedback"),
        ("GET", "/participants/p-x/pairs"),
    ],
)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token"}], ids=["none", "invalid"])
async def test_every_endpoint_needs_a_valid_bearer_token(client, method, path, headers):
    body = session() if path.endswith("sessions") else rating()
    response = await client.request(method, path, headers=headers, json=body if method == "POST" else None)
    assert response.status_code == 401


# ------------------------------------------------------------------------------- bounds (issue #13)
# Issue #13's bad inputs against sessions, in-process: 422 naming the field, nothing recorded.


@pytest.mark.parametrize(
    "field, value",
    [
        ("held_on", "0001-01-01"),
        ("held_on", "1999-12-31"),
        ("held_on", "9999-12-31"),
        ("minutes", True),
        ("minutes", "45"),
        ("topics", ["a\x00b"]),
        ("topics", ["social \ud800"]),
        ("topics", ["x"] * 21),
        ("notes", "private\x00"),
    ],
)
async def test_a_session_out_of_bounds_is_422_naming_the_field(client, store, field, value):
    body = json.dumps(session(**{field: value}))  # ASCII escapes carry a lone surrogate as JSON allows
    response = await client.post(
        f"/pairs/{PAIR}/sessions", content=body, headers={**as_member(), "content-type": "application/json"}
    )
    assert fields(response) == [field]
    assert store.events == []


@pytest.mark.parametrize(
    "field, value",
    [
        ("rating", True),
        ("rating", "5"),
        ("rating", 4.0),
        ("would_continue", 1),
        ("would_continue", "yes"),
        ("learned", "x\x00"),
    ],
)
async def test_feedback_out_of_bounds_is_422_naming_the_field(client, store, field, value):
    assert fields(await feedback(client, **{field: value})) == [field]
    assert store.events == []


async def test_a_pair_id_with_nul_is_422(client):
    response = await client.get("/pairs/pair%001", headers=ADMIN)
    assert fields(response) == ["pair_id"]


# ----------------------------------------------------------------------------------------- need to know (#19)

BREAK_GLASS = {"Authorization": f"Bearer {issue_token('auditor-7', ['auditor', 'break_glass'])}"}


async def test_admins_and_auditors_see_that_notes_exist_not_what_they_say(client):
    await log(client, session(notes="she struggles with her manager"))
    members = (await client.get(f"/pairs/{PAIR}/sessions", headers=as_member(MENTOR))).json()
    assert [(s["notes"], s["has_notes"]) for s in members] == [("she struggles with her manager", True)]
    for reader in (ADMIN, AUDITOR, BREAK_GLASS):  # break_glass without a ticket is an auditor like the others
        shown = (await client.get(f"/pairs/{PAIR}/sessions", headers=reader)).json()
        assert [(s["notes"], s["has_notes"]) for s in shown] == [(None, True)]
        assert "struggles" not in json.dumps(shown)


async def test_break_glass_needs_the_role_and_a_ticket_and_is_logged_as_an_event(client, store):
    await log(client, session(notes="private words"))
    ticket = {"Tandem-Break-Glass": "HR-1234"}
    for reader in (ADMIN, AUDITOR):
        refused = await client.get(f"/pairs/{PAIR}/sessions", headers={**reader, **ticket})
        assert refused.status_code == 403 and "break_glass" in refused.text
    malformed = await client.get(f"/pairs/{PAIR}/sessions", headers={**BREAK_GLASS, "Tandem-Break-Glass": "see me"})
    assert malformed.status_code == 422 and "Tandem-Break-Glass" in malformed.text
    assert not [e for e in await store.read_after(0) if e.type == BreakGlassUsed.type_name]

    read = await client.get(f"/pairs/{PAIR}/sessions", headers={**BREAK_GLASS, **ticket})
    assert [s["notes"] for s in read.json()] == ["private words"]
    agreement = await client.get(f"/pairs/{PAIR}/agreement", headers={**BREAK_GLASS, **ticket})
    assert agreement.status_code == 200
    used = [
        BreakGlassUsed.model_validate(e.data) for e in await store.read_after(0) if e.type == BreakGlassUsed.type_name
    ]
    assert [(u.pair_id, u.record, u.ticket, u.reader_id) for u in used] == [
        (PAIR, "sessions", "HR-1234", "auditor-7"),
        (PAIR, "agreement", "HR-1234", "auditor-7"),
    ]
