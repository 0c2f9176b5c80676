"""Issue #14 in enrolment, in-process over the in-memory unit of work: a person opts in themselves with recorded
consent (HR's fields from the roster), withdraws it, is invited, sees themselves in `/me` and their partner in
`/me/partners`; program admins act only on the programs of their groups, get names for pseudonyms, and can no
longer enrol anyone; auditors see pseudonyms only."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from services.enrolment.domain.commands import DEFAULT_CONSENT_TEXT
from services.enrolment.domain.model import Partnership
from services.enrolment.domain.roster import RosterEntry
from shared.auth import AuthSettings, issue_token
from shared.pseudonyms import legacy_pseudonym, pseudonym
from tests.support.bodies import person
from tests.support.enrolment_app import InProcessEnrolment, roster_entry

KEY = "self-service-pseudonym-key-of-32-bytes"
AUTH = AuthSettings(pseudonym_key=KEY)
WORDING = "I choose to take part, and my partner sees my name."


def bearer(subject: str, roles: list[str], **claims) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(subject, roles, settings=AUTH, **claims)}"}


def signed_in(employee_id: str) -> dict[str, str]:
    """A person signed in with a provider's token: the employee-id claim, the participant role."""
    return bearer("person", ["participant"], employee_id=employee_id)


ADMIN = bearer("hr", ["program_admin"], groups=["hr-programs"])
OTHER_ADMIN = bearer("bu", ["program_admin"], groups=["digital-bu-admins"])
AUDITOR = bearer("audit", ["auditor"])
SPONSOR = bearer("exec", ["executive_sponsor"], groups=["executive-sponsors"])


def entry(employee_id: str, **overrides) -> RosterEntry:
    """Two languages and two managers up the line: what opt-in copies from HR's roster."""
    return roster_entry(employee_id, **{"languages": ("en", "fr"), "reporting_chain": ("M1", "M0"), **overrides})


@pytest.fixture
def enrolment() -> InProcessEnrolment:
    return InProcessEnrolment(KEY, [entry(e) for e in ("E1", "E2", "E3")])


@pytest.fixture
async def client(enrolment: InProcessEnrolment):
    async with enrolment.client() as client:
        yield client


@pytest.fixture
async def program_id(client) -> str:
    body = {"title": "Digital leaders", "consent_text": WORDING, "admin_groups": ["hr-programs"]}
    response = await client.post("/programs", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()["program"]["program_id"]


def opt_in_body(**overrides) -> dict:
    return {
        "consent_sha256": hashlib.sha256(WORDING.encode()).hexdigest(),
        "role": "mentee",
        "skills_wanted": ["tiktok"],
        "goals": "learn short video",
        "share_goals": True,
        **overrides,
    }


async def opt_in(client, program_id: str, employee_id: str, **overrides) -> dict:
    response = await client.post(
        f"/programs/{program_id}/enrolments", json=opt_in_body(**overrides), headers=signed_in(employee_id)
    )
    assert response.status_code == 201, response.text
    return response.json()


# --------------------------------------------------------------------------------------------- consent, opt-in


async def test_the_consent_wording_is_read_with_its_version_and_hash(client, program_id):
    response = await client.get(f"/programs/{program_id}/consent", headers=signed_in("E1"))
    assert response.json() == {
        "program_id": program_id,
        "version": 1,
        "text": WORDING,
        "sha256": hashlib.sha256(WORDING.encode("utf-8")).hexdigest(),
    }
    assert (await client.get("/programs/prg-nope/consent", headers=AUDITOR)).status_code == 404


async def test_a_program_launched_without_a_wording_asks_for_the_default_one(client):
    launched = await client.post("/programs", json={"title": "Plain"}, headers=ADMIN)
    wording = (await client.get(f"/programs/{launched.json()['program']['program_id']}/consent", headers=ADMIN)).json()
    assert wording["text"] == DEFAULT_CONSENT_TEXT


async def test_a_person_opts_in_with_hr_fields_from_the_roster_and_the_consent_recorded(client, enrolment, program_id):
    created = await opt_in(client, program_id, "E1")
    participant, consent = created["participant"], created["consent"]
    assert participant["participant_id"] == pseudonym(KEY, program_id, "E1")
    assert (participant["display_name"], participant["email"], participant["employee_id"]) == (
        "Name of E1",
        "e1@corp.example",
        "E1",
    )
    profile = participant["profile"]
    assert (profile["department"], profile["grade"], profile["languages"], profile["time_zone"]) == (
        "Finance",
        7,
        ["en", "fr"],
        "Europe/Paris",
    )
    assert profile["reporting_chain"] == [pseudonym(KEY, program_id, "M1"), pseudonym(KEY, program_id, "M0")]
    assert consent["version"] == 1 and consent["sha256"] == hashlib.sha256(WORDING.encode()).hexdigest()
    assert consent["withdrawn_at"] is None
    # Both facts in the participant's stream, appended together.
    assert created["event_log"]["stream_version"] == 2
    enrolled, given = await enrolment.store.read_stream(created["event_log"]["stream_id"])
    assert (enrolled.type, given.type) == (
        "tandem.enrolment.participant-enrolled.v1",
        "tandem.enrolment.consent-given.v1",
    )
    assert given.data["wording_sha256"] == consent["sha256"] and given.data["wording_version"] == 1
    for personal in ("E1", "Name of", "corp.example", "short video", "M1"):
        assert personal not in str(enrolled.data) + str(given.data)


async def test_opting_in_takes_languages_and_time_zone_from_the_body_when_given(client, program_id):
    created = await opt_in(client, program_id, "E1", languages=["de"], time_zone="Asia/Tokyo", capacity=2)
    profile = created["participant"]["profile"]
    assert (profile["languages"], profile["time_zone"], profile["capacity"]) == (["de"], "Asia/Tokyo", 2)


async def test_a_stale_consent_hash_is_422_naming_it_and_stores_nothing(client, enrolment, program_id):
    stale = hashlib.sha256(b"an older wording").hexdigest()
    response = await client.post(
        f"/programs/{program_id}/enrolments", json=opt_in_body(consent_sha256=stale), headers=signed_in("E1")
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["consent_sha256"]
    assert enrolment.state.participants == {} and enrolment.state.consents == {}


async def test_someone_not_in_the_roster_cannot_opt_in(client, enrolment, program_id):
    enrolment.state.roster["E3"] = entry("E3", active=False)
    for employee_id in ("E9", "E3"):
        url = f"/programs/{program_id}/enrolments"
        response = await client.post(url, json=opt_in_body(), headers=signed_in(employee_id))
        assert response.status_code == 403 and "not in the roster of eligible people" in response.text
    assert enrolment.state.participants == {}


async def test_opting_in_twice_is_a_conflict(client, enrolment, program_id):
    await opt_in(client, program_id, "E1")
    again = await client.post(f"/programs/{program_id}/enrolments", json=opt_in_body(), headers=signed_in("E1"))
    assert again.status_code == 409 and "E1" not in again.text
    assert enrolment.types().count("consent-given") == 1


async def test_opting_in_needs_a_token_naming_the_person(client, program_id):
    url = f"/programs/{program_id}/enrolments"
    without_claim = bearer(pseudonym(KEY, program_id, "E1"), ["participant"])
    assert (await client.post(url, json=opt_in_body(), headers=without_claim)).status_code == 403
    assert (await client.post(url, json=opt_in_body(), headers=ADMIN)).status_code == 403


async def test_an_admin_cannot_enrol_a_person_but_the_person_can_and_that_records_consent(
    client, enrolment, program_id
):
    url = f"/programs/{program_id}/participants"
    refused = await client.post(url, json=person("E2"), headers=ADMIN)
    assert refused.status_code == 403 and refused.json()["detail"].startswith("consent:")
    itself = await client.post(url, json=person("E2"), headers=signed_in("E2"))
    assert itself.status_code == 201, itself.text
    assert enrolment.types()[-2:] == ["participant-enrolled", "consent-given"]
    me = (await client.get("/me", headers=signed_in("E2"))).json()
    assert me["enrolments"][0]["consent"]["version"] == 1


async def test_withdrawing_consent_withdraws_the_person_once_and_only_they_can(client, enrolment, program_id):
    created = await opt_in(client, program_id, "E1")
    pid = created["participant"]["participant_id"]
    url = f"/programs/{program_id}/participants/{pid}/consent/withdraw"
    assert (await client.post(url, headers=ADMIN)).status_code == 403
    assert (await client.post(url, headers=signed_in("E2"))).status_code == 403
    first = await client.post(url, headers=signed_in("E1"))
    assert first.status_code == 200, first.text
    assert first.json()["participant"]["status"] == "withdrawn" and first.json()["consent"]["withdrawn_at"]
    assert first.json()["event_log"]["stream_version"] == 4
    assert enrolment.types()[-2:] == ["participant-withdrawn", "consent-withdrawn"]
    second = await client.post(url, headers=signed_in("E1"))
    assert second.json()["event_log"] is None and len(enrolment.store.events) == 5
    [mine] = (await client.get("/me", headers=signed_in("E1"))).json()["enrolments"]
    assert mine["status"] == "withdrawn" and mine["consent"]["withdrawn_at"] is not None


# --------------------------------------------------------------------------------------------- /me, invitations


async def test_me_shows_the_person_their_enrolments_consents_and_open_invitations(client, program_id):
    other = (await client.post("/programs", json={"title": "Second"}, headers=ADMIN)).json()["program"]["program_id"]
    invited = await client.post(f"/programs/{other}/invitations", json={"employee_ids": ["E1"]}, headers=ADMIN)
    assert invited.json() == {"invited": 1, "not_in_roster": []}
    created = await opt_in(client, program_id, "E1")
    me = (await client.get("/me", headers=signed_in("E1"))).json()
    # Outside any program the caller is its legacy id; in each enrolment, its id in that program (ADR 0011).
    assert me["participant_id"] == legacy_pseudonym(KEY, "E1") and me["employee_id"] == "E1"
    assert me["roles"] == ["participant"] and me["in_roster"] is True
    [enrolled] = me["enrolments"]
    assert (enrolled["program_id"], enrolled["title"], enrolled["status"]) == (program_id, "Digital leaders", "active")
    assert enrolled["participant_id"] == pseudonym(KEY, program_id, "E1")
    assert enrolled["consent"] == created["consent"]
    assert [(i["program_id"], i["title"]) for i in me["invitations"]] == [(other, "Second")]


async def test_me_for_an_admin_without_an_employee_id(client):
    me = (await client.get("/me", headers=ADMIN)).json()
    assert me == {
        "participant_id": None,
        "employee_id": None,
        "roles": ["program_admin"],
        "in_roster": False,
        "enrolments": [],
        "invitations": [],
    }


async def test_an_invitation_is_recorded_once_and_accepted_by_the_persons_own_enrolment(client, enrolment, program_id):
    body = {"employee_ids": ["E1", "E404", "E2", "E1"]}
    first = await client.post(f"/programs/{program_id}/invitations", json=body, headers=ADMIN)
    assert first.json() == {"invited": 3, "not_in_roster": [1]}
    assert enrolment.types().count("participant-invited") == 2
    again = await client.post(f"/programs/{program_id}/invitations", json={"employee_ids": ["E1"]}, headers=ADMIN)
    assert again.json()["invited"] == 1 and enrolment.types().count("participant-invited") == 2
    invitation = next(e for e in enrolment.store.events if e.type.endswith("participant-invited.v1"))
    assert invitation.data == {"program_id": program_id, "participant_id": pseudonym(KEY, program_id, "E1")}
    assert enrolment.state.participants == {}  # nobody is enrolled by an invitation
    assert len((await client.get("/me", headers=signed_in("E1"))).json()["invitations"]) == 1
    await opt_in(client, program_id, "E1")
    assert (await client.get("/me", headers=signed_in("E1"))).json()["invitations"] == []


@pytest.mark.parametrize("caller", [OTHER_ADMIN, AUDITOR, SPONSOR, signed_in("E1")])
async def test_only_the_programs_admins_invite(client, enrolment, program_id, caller):
    response = await client.post(f"/programs/{program_id}/invitations", json={"employee_ids": ["E2"]}, headers=caller)
    assert response.status_code == 403 and enrolment.state.invitations == {}


async def test_invitations_are_bounded(client, program_id):
    response = await client.post(
        f"/programs/{program_id}/invitations", json={"employee_ids": ["E1"] * 1001}, headers=ADMIN
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "employee_ids"


# ------------------------------------------------------------------------------------------------ the pair


async def test_partners_see_each_others_card_and_goals_only_when_shared(client, enrolment, program_id):
    mentee = (await opt_in(client, program_id, "E1", share_goals=True))["participant"]["participant_id"]
    mentor = (await opt_in(client, program_id, "E2", role="mentor", goals="private", share_goals=False))["participant"][
        "participant_id"
    ]
    formed = datetime(2026, 3, 1, tzinfo=UTC)
    enrolment.state.partnerships["pair-1"] = Partnership(program_id, "pair-1", mentor, mentee, formed)
    enrolment.state.partnerships["pair-0"] = Partnership(program_id, "pair-0", mentor, mentee, formed, active=False)

    [card] = (await client.get("/me/partners", headers=signed_in("E2"))).json()
    assert (card["pair_id"], card["my_participant_id"], card["program_id"]) == ("pair-1", mentor, program_id)
    assert card["partner"] == {
        "participant_id": mentee,
        "display_name": "Name of E1",
        "email": "e1@corp.example",
        "department": "Finance",
        "time_zone": "Europe/Paris",
        "goals": "learn short video",
    }
    [card] = (await client.get("/me/partners", headers=signed_in("E1"))).json()
    assert card["partner"]["display_name"] == "Name of E2" and card["partner"]["goals"] is None
    assert (await client.get("/me/partners", headers=signed_in("E3"))).json() == []
    assert (await client.get("/me/partners", headers=ADMIN)).status_code == 403


# ------------------------------------------------------------------------------------------ admins, auditors


async def test_the_programs_admins_get_names_for_pseudonyms_and_nobody_else(client, enrolment, program_id):
    one = (await opt_in(client, program_id, "E1"))["participant"]["participant_id"]
    two = (await opt_in(client, program_id, "E2"))["participant"]["participant_id"]
    await client.post(f"/programs/{program_id}/participants/{two}/erase", headers=ADMIN)
    url = f"/programs/{program_id}/participants/names"
    body = {"participant_ids": [one, two, "p-unknown"]}
    assert (await client.post(url, json=body, headers=ADMIN)).json() == {"names": {one: "Name of E1"}}
    for caller in (AUDITOR, SPONSOR, OTHER_ADMIN, signed_in("E1")):
        assert (await client.post(url, json=body, headers=caller)).status_code == 403
    too_many = await client.post(url, json={"participant_ids": ["p"] * 501}, headers=ADMIN)
    assert too_many.status_code == 422


async def test_an_admin_of_other_groups_gets_403_on_every_people_endpoint(client, enrolment, program_id):
    pid = (await opt_in(client, program_id, "E1"))["participant"]["participant_id"]
    base = f"/programs/{program_id}/participants"
    before = len(enrolment.store.events)
    assert (await client.get(base, headers=OTHER_ADMIN)).status_code == 403
    assert (await client.get(f"{base}/{pid}", headers=OTHER_ADMIN)).status_code == 403
    assert (await client.patch(f"{base}/{pid}", json={"grade": 9}, headers=OTHER_ADMIN)).status_code == 403
    assert (await client.post(f"{base}/{pid}/withdraw", headers=OTHER_ADMIN)).status_code == 403
    assert (await client.post(f"{base}/{pid}/erase", headers=OTHER_ADMIN)).status_code == 403
    assert len(enrolment.store.events) == before
    # The program's own admin does all of it; a program naming no admin group is every admin's.
    assert (await client.get(f"{base}/{pid}", headers=ADMIN)).json()["display_name"] == "Name of E1"
    assert (await client.patch(f"{base}/{pid}", json={"grade": 9}, headers=ADMIN)).status_code == 200
    open_to_all = (await client.post("/programs", json={"title": "Open"}, headers=ADMIN)).json()["program"]
    assert (
        await client.get(f"/programs/{open_to_all['program_id']}/participants", headers=OTHER_ADMIN)
    ).status_code == 200


async def test_auditors_read_participants_as_pseudonyms_only(client, program_id):
    pid = (await opt_in(client, program_id, "E1"))["participant"]["participant_id"]
    listed = (await client.get(f"/programs/{program_id}/participants", headers=AUDITOR)).json()["items"]
    read = (await client.get(f"/programs/{program_id}/participants/{pid}", headers=AUDITOR)).json()
    for view in (*listed, read):
        assert view["participant_id"] == pid and view["profile"]["department"] == "Finance"
        assert (view["employee_id"], view["display_name"], view["email"], view["goals"]) == (None, None, None, None)
    assert "Name of E1" not in str(listed) + str(read) and "corp.example" not in str(listed) + str(read)
    own = (await client.get(f"/programs/{program_id}/participants/{pid}", headers=signed_in("E1"))).json()
    assert own["display_name"] == "Name of E1" and own["goals"] == "learn short video"
    stranger = await client.get(f"/programs/{program_id}/participants/{pid}", headers=signed_in("E2"))
    assert stranger.status_code == 403 and "Name of E1" not in stranger.text


async def test_a_participant_chooses_whether_to_share_goals(client, program_id):
    pid = (await opt_in(client, program_id, "E1", share_goals=False))["participant"]["participant_id"]
    url = f"/programs/{program_id}/participants/{pid}"
    changed = await client.patch(url, json={"share_goals": True}, headers=signed_in("E1"))
    assert changed.status_code == 200 and changed.json()["participant"]["share_goals"] is True
    assert changed.json()["event_log"] is None  # kept in enrolment only, never in events
