"""Stories (issue #16) without servers: a member of a completed pair opts in to share its reflection (and may
withdraw), a pair's story is told only when both members share, what leaders changed is shown without ids and only
from five leaders up, and only the program's admins read either. The app `bootstrap.build()` makes, over the
in-memory unit of work."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
import pytest

from services.sessions import bootstrap
from services.sessions.adapters.memory import SessionsState
from services.sessions.config import SessionsSettings
from services.sessions.domain import model
from services.sessions.entrypoints import http
from services.sessions.service_layer.unit_of_work import InMemorySessionsUnitOfWork
from shared.auth import ProgramStaff, issue_token
from shared.errors import Conflict
from shared.events import StoryShared, StoryWithdrawn
from shared.eventstore import InMemoryEventStore
from tests.support.services import token

PROGRAM, OTHER_PROGRAM = "prg-1", "prg-2"
FORMED = datetime(2026, 3, 1, 9, tzinfo=UTC)
NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)
ADMIN = {"Authorization": f"Bearer {issue_token('hr', ['program_admin'], groups=['hr-1'])}"}
OTHER_ADMIN = {"Authorization": f"Bearer {issue_token('ops', ['program_admin'], groups=['ops'])}"}
SPONSOR = {"Authorization": f"Bearer {issue_token('exec', ['executive_sponsor'], groups=['board'])}"}


def member(who: str) -> dict[str, str]:
    return token("participant", who)


def pair_id(n: int) -> str:
    return f"pair-{n}"


def mentor(n: int) -> str:
    return f"p-mentor-{n}"


def mentee(n: int) -> str:
    return f"p-mentee-{n}"


@pytest.fixture
def state() -> SessionsState:
    """Seven pairs of prg-1 (run by group hr-1, sponsored by board) announced; pair-7 still runs."""
    return SessionsState(
        pairs={pair_id(n): model.Pair(pair_id(n), PROGRAM, mentor(n), mentee(n), formed_at=FORMED) for n in range(1, 8)}
        | {"pair-x": model.Pair("pair-x", OTHER_PROGRAM, "p-mentor-x", "p-mentee-x", formed_at=FORMED)},
        program_staff={
            PROGRAM: ProgramStaff.of(["hr-1"], ["board"]),
            OTHER_PROGRAM: ProgramStaff.of(["hr-1"]),
        },
        programs={
            PROGRAM: model.ProgramGuidelines(PROGRAM, 14, 12),
            OTHER_PROGRAM: model.ProgramGuidelines(PROGRAM, 14, 12),
        },
    )


@pytest.fixture
def store() -> InMemoryEventStore:
    return InMemoryEventStore()


@pytest.fixture(scope="module")
def app():
    return bootstrap.build(SessionsSettings())


@pytest.fixture
async def client(app, state, store):
    app.dependency_overrides[http.unit_of_work] = lambda: InMemorySessionsUnitOfWork(state, store)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://sessions{bootstrap.SPEC.prefix}") as client:
        yield client


async def complete(client, n: int | str) -> None:
    """An admin completes the pair at once; both members then reflect."""
    pid = pair_id(n)
    assert (await client.post(f"/pairs/{pid}/completion", headers=ADMIN)).status_code == 200
    for who, side in ((mentor(n), "mentor"), (mentee(n), "mentee")):
        body = {"learned": f"{side} {n} learned", "changed": f"{side} {n} changed", "would_recommend": True}
        response = await client.post(f"/pairs/{pid}/completion", json=body, headers=member(who))
        assert response.status_code == 200, response.text


async def share(client, n: int, who: str, share: bool = True) -> httpx.Response:
    return await client.post(f"/pairs/{pair_id(n)}/story", json={"share": share}, headers=member(who))


async def test_a_story_is_told_only_when_both_members_shared(client, store):
    for n in (1, 2, 3):
        await complete(client, n)
    for who in (mentor(1), mentee(1), mentor(2)):  # pair-2's mentee does not share
        response = await share(client, int(who[-1]), who)
        assert response.status_code == 200, response.text
        assert response.json()["event_log"] is not None

    stories = (await client.get(f"/programs/{PROGRAM}/stories", headers=ADMIN)).json()
    assert stories == [
        {
            "pair_id": "pair-1",
            "mentor": {
                "participant_id": mentor(1),
                "side": "mentor",
                "learned": "mentor 1 learned",
                "changed": "mentor 1 changed",
            },
            "mentee": {
                "participant_id": mentee(1),
                "side": "mentee",
                "learned": "mentee 1 learned",
                "changed": "mentee 1 changed",
            },
        }
    ]
    published = [e.data for e in await store.read_after(0) if e.type == StoryShared.type_name]
    assert sorted(e["participant_id"] for e in published) == sorted([mentor(1), mentee(1), mentor(2)])
    assert all(set(e) == {"program_id", "pair_id", "participant_id"} for e in published), "no words in the event"


async def test_a_withdrawn_opt_in_takes_the_pairs_story_out_and_is_published(client, store):
    await complete(client, 1)
    for who in (mentor(1), mentee(1)):
        await share(client, 1, who)
    withdrawn = await share(client, 1, mentee(1), share=False)
    assert withdrawn.status_code == 200 and withdrawn.json()["share"] is False
    assert withdrawn.json()["event_log"] is not None, "insights stops counting the story: the withdrawal is an event"
    taken_back = [e.data for e in await store.read_after(0) if e.type == StoryWithdrawn.type_name]
    assert taken_back == [{"program_id": PROGRAM, "pair_id": "pair-1", "participant_id": mentee(1)}]
    assert (await share(client, 1, mentee(1), share=False)).json()["event_log"] is None, "withdrawing twice: once"
    assert (await client.get(f"/programs/{PROGRAM}/stories", headers=ADMIN)).json() == []
    again = await share(client, 1, mentee(1))
    assert again.json()["event_log"] is not None, "sharing again after a withdrawal is news again"
    assert [s["pair_id"] for s in (await client.get(f"/programs/{PROGRAM}/stories", headers=ADMIN)).json()] == [
        "pair-1"
    ]
    repeated = await share(client, 1, mentee(1))
    assert repeated.json()["event_log"] is None, "sharing twice publishes once"


async def test_only_members_of_a_completed_pair_who_reflected_share(client):
    running = await share(client, 7, mentor(7))
    assert running.status_code == 409 and "completed" in running.json()["detail"]
    assert (await client.post(f"/pairs/{pair_id(1)}/completion", headers=ADMIN)).status_code == 200
    unreflected = await share(client, 1, mentor(1))
    assert unreflected.status_code == 409 and "reflection" in unreflected.json()["detail"]
    await complete(client, 2)
    stranger = await client.post(f"/pairs/{pair_id(2)}/story", json={"share": True}, headers=member(mentor(1)))
    assert stranger.status_code == 403
    admin = await client.post(f"/pairs/{pair_id(2)}/story", json={"share": True}, headers=ADMIN)
    assert admin.status_code == 403, "an admin cannot share someone's reflection for them"
    assert (
        await client.post(f"/pairs/{pair_id(2)}/story", json={"share": "yes"}, headers=member(mentor(2)))
    ).status_code == 422
    missing = await client.post(f"/pairs/{pair_id(2)}/story", json={}, headers=member(mentor(2)))
    assert missing.status_code == 422 and "share" in missing.text


@pytest.mark.parametrize("path", ["stories", "leaders-changed"])
async def test_only_the_programs_admins_read_stories_and_what_leaders_changed(client, path):
    await complete(client, 1)
    url = f"/programs/{PROGRAM}/{path}"
    assert (await client.get(url, headers=ADMIN)).status_code == 200
    for refused in (OTHER_ADMIN, SPONSOR, member(mentor(1)), token("auditor")):
        assert (await client.get(url, headers=refused)).status_code == 403
    assert (await client.get(f"/programs/prg-unknown/{path}", headers=ADMIN)).status_code == 404


async def test_stories_stay_within_their_program(client):
    await complete(client, "x")
    for who in ("p-mentor-x", "p-mentee-x"):
        assert (await client.post("/pairs/pair-x/story", json={"share": True}, headers=member(who))).status_code == 200
    assert (await client.get(f"/programs/{PROGRAM}/stories", headers=ADMIN)).json() == []
    assert [s["pair_id"] for s in (await client.get(f"/programs/{OTHER_PROGRAM}/stories", headers=ADMIN)).json()] == [
        "pair-x"
    ]


async def test_what_leaders_changed_needs_five_leaders_who_shared_and_names_no_one(client):
    for n in range(1, 7):
        await complete(client, n)
    for n in range(1, 5):  # four leaders share; a mentor's words never count as a leader's
        await share(client, n, mentee(n))
    await share(client, 5, mentor(5))
    await share(client, 6, mentee(6))
    await share(client, 6, mentee(6), share=False)
    url = f"/programs/{PROGRAM}/leaders-changed"
    assert (await client.get(url, headers=ADMIN)).json() == {
        "program_id": PROGRAM,
        "suppressed": True,
        "small_group": 5,
        "changed": [],
    }
    await share(client, 5, mentee(5))
    shown = (await client.get(url, headers=ADMIN)).json()
    assert shown["suppressed"] is False
    assert sorted(shown["changed"]) == [f"mentee {n} changed" for n in range(1, 6)]
    assert "p-" not in str(shown), "no participant id"


def reflection(pair: str, who: str, side: str, changed: str = "more listening") -> model.Reflection:
    return model.Reflection(pair, who, side, "learned", changed, True, NOW)  # type: ignore[arg-type]


def test_the_rules_without_http():
    done = model.Pair("p1", PROGRAM, "m", "l", status="completed", completed_by="admin", completed_on=date(2026, 6, 1))
    choice, event = model.opt_into_story(done, "m", True, reflection("p1", "m", "mentor"), None, NOW)
    assert choice.share and event == StoryShared(program_id=PROGRAM, pair_id="p1", participant_id="m")
    assert model.opt_into_story(done, "m", False, None, choice, NOW)[1] == StoryWithdrawn(
        program_id=PROGRAM, pair_id="p1", participant_id="m"
    )
    assert model.opt_into_story(done, "m", False, None, None, NOW)[1] is None, "nothing shared, nothing to take back"
    with pytest.raises(Conflict):
        model.opt_into_story(done, "m", True, None, None, NOW)
    # One member shared: no story; both: the story, mentor and mentee in their places.
    assert model.stories([done], [reflection("p1", "m", "mentor")]) == []
    told = model.stories([done], [reflection("p1", "l", "mentee"), reflection("p1", "m", "mentor")])
    assert [(s.mentor.participant_id, s.mentee.participant_id) for s in told] == [("m", "l")]
    # Five leaders with something to say; an empty "changed" does not count.
    leaders = [reflection(f"p{n}", f"l{n}", "mentee", f"change {n}") for n in range(4)]
    assert model.leaders_changed([*leaders, reflection("p9", "l9", "mentee", "")]) is None
    assert model.leaders_changed([*leaders, reflection("p5", "l5", "mentee", "a")]) == [
        "a",
        "change 0",
        "change 1",
        "change 2",
        "change 3",
    ]
