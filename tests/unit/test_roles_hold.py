"""A write is authorised by the role that permits it: every write endpoint of every service, in-process over the
in-memory unit of work, with a token that holds `participant` plus another role that is not `program_admin`.

The second role (auditor: reads everything) must never widen what the participant may change: such a caller
writes only for itself and its own pairs, exactly as a plain participant does. Only `program_admin` acts for
anyone, and a token with only `auditor` writes nothing.
"""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from services.enrolment import bootstrap as enrolment_bootstrap
from services.enrolment.config import EnrolmentSettings
from services.enrolment.entrypoints import http as enrolment_http
from services.enrolment.service_layer.unit_of_work import EnrolmentState, InMemoryEnrolmentUnitOfWork
from services.matching import bootstrap as matching_bootstrap
from services.matching.entrypoints import http as matching_http
from services.matching.service_layer.unit_of_work import InMemoryMatchingUnitOfWork, MatchingState
from services.sessions import bootstrap as sessions_bootstrap
from services.sessions.adapters.memory import SessionsState
from services.sessions.config import SessionsSettings
from services.sessions.domain.model import Pair
from services.sessions.entrypoints import http as sessions_http
from services.sessions.service_layer.unit_of_work import InMemorySessionsUnitOfWork
from shared.auth import Principal, ProgramStaff, issue_token
from shared.eventstore import InMemoryEventStore
from shared.pseudonyms import pseudonym
from tests.support.matching_pool import constrained_pool, seed

KEY = "roles-test-pseudonym-key"
STRANGER = "p-stranger"
# Every role combination that includes participant but not program_admin.
WIDENED = [["participant", "auditor"], ["auditor", "participant"], ["participant", "auditor", "janitor"]]


def bearer(subject: str, roles: list[str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(subject, roles)}"}


ADMIN = bearer("hr-admin", ["program_admin"])


def client_of(app, prefix: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://tandem.test{prefix}")


# -------------------------------------------------------------------------------------------------- the rule


@pytest.mark.parametrize("roles", WIDENED)
def test_a_second_role_other_than_admin_never_widens_a_participants_writes(roles):
    caller = Principal("p-me", frozenset(roles))
    assert caller.may_act_for("prg-1", "p-me") and not caller.may_act_for("prg-1", "p-other")
    assert not caller.acts_as_admin and caller.reads_everything


def test_only_program_admin_acts_for_anyone_and_an_auditor_never_writes():
    assert Principal("hr", frozenset({"program_admin"})).may_act_for("prg-1", "p-anyone")
    assert Principal("hr", frozenset({"program_admin", "participant"})).may_act_for("prg-1", "p-anyone")
    assert not Principal("p-me", frozenset({"auditor"})).may_act_for("prg-1", "p-me")
    assert Principal("p-me", frozenset({"participant"})).may_act_for("prg-1", "p-me")


# ---------------------------------------------------------------------------------------------------- matching


@pytest.fixture
async def matching():
    state, store = MatchingState(), InMemoryEventStore()
    app = matching_bootstrap.build()
    app.dependency_overrides[matching_http.unit_of_work] = lambda: InMemoryMatchingUnitOfWork(state, store)
    await seed(InMemoryMatchingUnitOfWork(state, store), "prg-r", constrained_pool("prg-r"))
    async with client_of(app, matching_bootstrap.SPEC.prefix) as client:
        formed = await client.post("/programs/prg-r/rounds", headers=ADMIN)
        assert formed.status_code == 201, formed.text
        yield client, formed.json()["pairs"][0], store


@pytest.mark.parametrize("roles", WIDENED)
async def test_matching_a_participant_auditor_cannot_dissolve_a_pair_it_is_not_in(matching, roles):
    client, pair, store = matching
    before = len(store.events)
    refused = await client.post(
        f"/pairs/{pair['pair_id']}/dissolve", json={"reason": "x"}, headers=bearer(STRANGER, roles)
    )
    assert refused.status_code == 403 and len(store.events) == before
    own = await client.post(
        f"/pairs/{pair['pair_id']}/dissolve", json={"reason": "moved"}, headers=bearer(pair["mentor_id"], roles)
    )
    assert own.status_code == 200 and own.json()["status"] == "dissolved"


@pytest.mark.parametrize("path", ["/programs/prg-r/rounds", "/programs/prg-r/rounds/preview"])
@pytest.mark.parametrize("roles", WIDENED)
async def test_matching_rounds_stay_with_admins(matching, roles, path):
    client, _, _ = matching
    assert (await client.post(path, headers=bearer(STRANGER, roles))).status_code == 403


async def test_matching_an_auditor_still_reads_any_pair(matching):
    client, pair, _ = matching
    assert (await client.get(f"/pairs/{pair['pair_id']}", headers=bearer(STRANGER, ["auditor"]))).status_code == 200
    assert (
        await client.get(f"/pairs/{pair['pair_id']}", headers=bearer(STRANGER, ["participant", "auditor"]))
    ).status_code == 200


# ---------------------------------------------------------------------------------------------------- sessions

MENTOR, MENTEE = "p-mentor", "p-mentee"
SESSION = {"held_on": str(date.today()), "minutes": 30, "topics": ["ai"], "learning_direction": "mentor_to_mentee"}
FEEDBACK = {"rating": 4, "learned": "x", "would_continue": True}


@pytest.fixture
async def sessions():
    state = SessionsState(
        pairs={"pair-r": Pair("pair-r", "prg-r", MENTOR, MENTEE)}, program_staff={"prg-r": ProgramStaff()}
    )
    store = InMemoryEventStore()
    app = sessions_bootstrap.build(SessionsSettings())
    app.dependency_overrides[sessions_http.unit_of_work] = lambda: InMemorySessionsUnitOfWork(state, store)
    async with client_of(app, sessions_bootstrap.SPEC.prefix) as client:
        yield client, store


@pytest.mark.parametrize("roles", WIDENED)
@pytest.mark.parametrize("action, body", [("sessions", SESSION), ("feedback", FEEDBACK)])
async def test_sessions_a_participant_auditor_writes_only_in_its_own_pairs(sessions, roles, action, body):
    client, store = sessions
    refused = await client.post(f"/pairs/pair-r/{action}", json=body, headers=bearer(STRANGER, roles))
    assert refused.status_code == 403 and store.events == []
    own = await client.post(f"/pairs/pair-r/{action}", json=body, headers=bearer(MENTEE, roles))
    assert own.status_code == 201, own.text
    assert len(store.events) == 1


async def test_sessions_an_auditor_alone_writes_nothing_and_an_admin_logs_for_any_pair(sessions):
    client, store = sessions
    for action, body in (("sessions", SESSION), ("feedback", FEEDBACK)):
        refused = await client.post(f"/pairs/pair-r/{action}", json=body, headers=bearer(MENTOR, ["auditor"]))
        assert refused.status_code == 403
    assert store.events == []
    assert (await client.post("/pairs/pair-r/sessions", json=SESSION, headers=ADMIN)).status_code == 201


# --------------------------------------------------------------------------------------------------- enrolment


def person(employee_id: str) -> dict:
    return {
        "employee_id": employee_id,
        "display_name": "Someone",
        "email": "someone@example.com",
        "role": "mentor",
        "grade": 3,
        "birth_year": 1998,
        "department": "IT",
        "languages": ["en"],
        "consent": True,
    }


@pytest.fixture
async def enrolment():
    state, store = EnrolmentState(), InMemoryEventStore()
    app = enrolment_bootstrap.build(EnrolmentSettings(pseudonym_key=KEY))
    app.dependency_overrides[enrolment_http.unit_of_work] = lambda: InMemoryEnrolmentUnitOfWork(state, store)
    async with client_of(app, enrolment_bootstrap.SPEC.prefix) as client:
        launched = await client.post("/programs", json={"title": "Roles"}, headers=ADMIN)
        program_id = launched.json()["program"]["program_id"]
        itself = bearer(
            pseudonym(KEY, program_id, "E1"), ["participant"]
        )  # only a person enrols, consenting for themselves
        enrolled = await client.post(f"/programs/{program_id}/participants", json=person("E1"), headers=itself)
        assert enrolled.status_code == 201, enrolled.text
        yield client, program_id, enrolled.json()["participant"]["participant_id"], store


@pytest.mark.parametrize("roles", WIDENED)
async def test_enrolment_a_participant_auditor_changes_no_one_else(enrolment, roles):
    client, program_id, victim, store = enrolment
    before = len(store.events)
    stranger = bearer(pseudonym(KEY, program_id, "E2"), roles)
    url = f"/programs/{program_id}/participants/{victim}"
    assert (await client.post("/programs", json={"title": "x"}, headers=stranger)).status_code == 403
    someone = await client.post(f"/programs/{program_id}/participants", json=person("E3"), headers=stranger)
    assert someone.status_code == 403
    assert (await client.patch(url, json={"skills_offered": ["x"]}, headers=stranger)).status_code == 403
    assert (await client.post(f"{url}/withdraw", headers=stranger)).status_code == 403
    assert (await client.post(f"{url}/erase", headers=stranger)).status_code == 403
    assert len(store.events) == before
    itself = await client.post(f"/programs/{program_id}/participants", json=person("E2"), headers=stranger)
    assert itself.status_code == 201, itself.text


def test_a_program_admin_runs_only_the_programs_of_its_groups():
    from shared.auth import ProgramStaff

    digital = ProgramStaff.of(admin_groups=["digital-bu-admins"], sponsor_groups=["executive-sponsors"])
    everyone = ProgramStaff.of()
    bu_admin = Principal("bu", frozenset({"program_admin"}), groups=frozenset({"digital-bu-admins"}))
    hr_admin = Principal("hr", frozenset({"program_admin"}), groups=frozenset({"hr-programs"}))
    sponsor = Principal("es", frozenset({"executive_sponsor"}), groups=frozenset({"executive-sponsors"}))
    auditor = Principal("au", frozenset({"auditor"}))
    assert bu_admin.administers(digital) and not hr_admin.administers(digital)
    assert bu_admin.administers(everyone) and hr_admin.administers(everyone)
    assert sponsor.sponsors(digital) and not sponsor.administers(digital) and not sponsor.sponsors(everyone)
    assert [p.oversees(digital) for p in (bu_admin, hr_admin, sponsor, auditor)] == [True, False, True, True]
    # A participant in the admin group is no admin: the right comes from the role.
    member = Principal("p-me", frozenset({"participant"}), groups=frozenset({"digital-bu-admins"}))
    assert not member.administers(digital) and not member.oversees(digital)
