"""Self-service opt-in against the real Keycloak, Kafka and PostgreSQL (issue #14): demo employees signed in with
the realm's tokens read the consent wording, enrol themselves and see their consent; after a matching round each
sees the partner's name; a third employee cannot read a stranger; the auditor's reads hold no name, e-mail or
employee id; another business unit's admin gets 403 on the program; no admin enrols anyone."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from demo.keycloak_realm import username
from demo.organisation import Person, organisation
from tests.support.keycloak import Keycloak
from tests.support.roster import put_in_roster
from tests.support.services import ServiceProcess, eventually, running, service_env

PEOPLE = organisation()  # the realm's demo employees (demo/keycloak_realm.py)


def pick_pair() -> tuple[Person, Person, Person]:
    """A junior mentor and a senior mentee outside each other's reporting line, with a common language, and a
    third employee who is neither."""
    mentor = min(PEOPLE, key=lambda p: (p.grade, p.employee_id))
    mentee = next(
        p
        for p in sorted(PEOPLE, key=lambda p: (-p.grade, p.employee_id))
        if p.grade > mentor.grade
        and mentor.employee_id not in p.chain
        and p.employee_id not in mentor.chain
        and set(p.languages) & set(mentor.languages)
    )
    stranger = next(p for p in PEOPLE if p not in (mentor, mentee))
    return mentor, mentee, stranger


MENTOR, MENTEE, STRANGER = pick_pair()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def matching(keycloak: Keycloak, child_env_module: dict[str, str]):
    yield from running("matching", service_env(child_env_module, **keycloak.service_env()))


@pytest.fixture(scope="module")
def opted_in(keycloak: Keycloak, enrolment: ServiceProcess, matching: ServiceProcess, dsn: str) -> dict:
    """A program of hr.admin's groups, and the mentor and the mentee enrolled by themselves."""
    asyncio.run(put_in_roster(dsn, [MENTOR, MENTEE, STRANGER]))
    admin = bearer(keycloak.password_token("hr.admin"))
    body = {"title": "Opt-in", "languages": ["en"], "admin_groups": ["hr-programs"], "optimize_for": "participation"}
    launched = httpx.post(f"{enrolment.url}/programs", json=body, headers=admin)
    assert launched.status_code == 201, launched.text
    program_id = launched.json()["program"]["program_id"]
    enrolled = {}
    for person, role in ((MENTOR, "mentor"), (MENTEE, "mentee")):
        me = bearer(keycloak.password_token(username(person)))
        wording = httpx.get(f"{enrolment.url}/programs/{program_id}/consent", headers=me).json()
        assert wording["version"] == 1 and "withdraw" in wording["text"]
        body = {"consent_sha256": wording["sha256"], "role": role, "goals": f"goals of {role}", "share_goals": True}
        reply = httpx.post(f"{enrolment.url}/programs/{program_id}/enrolments", json=body, headers=me)
        assert reply.status_code == 201, reply.text
        enrolled[role] = reply.json()
    return {"program_id": program_id, "enrolled": enrolled, "wording": wording}


def test_a_signed_in_employee_enrols_themselves_and_sees_the_consent_they_gave(keycloak, enrolment, opted_in):
    created = opted_in["enrolled"]["mentee"]
    assert created["participant"]["display_name"] == MENTEE.display_name  # from the roster, not the body
    assert created["participant"]["profile"]["grade"] == MENTEE.grade
    me = httpx.get(f"{enrolment.url}/me", headers=bearer(keycloak.password_token(username(MENTEE)))).json()
    assert me["employee_id"] == MENTEE.employee_id and me["in_roster"] is True
    # The realm's demo employees take part in other tests' programs of this run too: this program's enrolment.
    [enrolment_] = [e for e in me["enrolments"] if e["program_id"] == opted_in["program_id"]]
    assert enrolment_["program_id"] == opted_in["program_id"] and enrolment_["status"] == "active"
    assert enrolment_["consent"]["sha256"] == opted_in["wording"]["sha256"]
    assert enrolment_["consent"]["version"] == 1 and enrolment_["consent"]["withdrawn_at"] is None


def test_after_a_round_each_member_sees_the_partners_name(keycloak, enrolment, matching, opted_in):
    program_id = opted_in["program_id"]
    admin = bearer(keycloak.password_token("hr.admin"))
    pool = f"{matching.url}/programs/{program_id}/pool"
    eventually(lambda: httpx.get(pool, headers=admin).json().get("active") == 2, 60, what="matching's pool")
    round_ = httpx.post(f"{matching.url}/programs/{program_id}/rounds", headers=admin)
    assert round_.status_code == 201, round_.text
    [pair] = round_.json()["pairs"]

    for person, partner in ((MENTOR, MENTEE), (MENTEE, MENTOR)):
        me = bearer(keycloak.password_token(username(person)))

        def introduced(me=me) -> list | None:
            cards = httpx.get(f"{enrolment.url}/me/partners", headers=me).json()
            return [c for c in cards if c["program_id"] == program_id] or None

        [card] = eventually(introduced, 60, what="the pair's introduction")
        assert card["pair_id"] == pair["pair_id"] and card["program_id"] == program_id
        assert (card["partner"]["display_name"], card["partner"]["email"]) == (partner.display_name, partner.email)
        assert card["partner"]["department"] == partner.department and card["partner"]["goals"]


def test_a_third_employee_cannot_read_a_stranger(keycloak, enrolment, opted_in):
    mentee_id = opted_in["enrolled"]["mentee"]["participant"]["participant_id"]
    url = f"{enrolment.url}/programs/{opted_in['program_id']}/participants/{mentee_id}"
    reply = httpx.get(url, headers=bearer(keycloak.password_token(username(STRANGER))))
    assert reply.status_code == 403
    assert MENTEE.display_name not in reply.text and MENTEE.email not in reply.text


def test_the_auditor_reads_pseudonyms_only(keycloak, enrolment, opted_in):
    auditor = bearer(keycloak.password_token("auditor"))
    program_id = opted_in["program_id"]
    listed = httpx.get(f"{enrolment.url}/programs/{program_id}/participants", headers=auditor)
    mentee_id = opted_in["enrolled"]["mentee"]["participant"]["participant_id"]
    read = httpx.get(f"{enrolment.url}/programs/{program_id}/participants/{mentee_id}", headers=auditor)
    assert listed.status_code == read.status_code == 200
    assert listed.json()["total"] == 2
    for person in (MENTOR, MENTEE):
        for personal in (person.display_name, person.email, person.employee_id):
            assert personal not in listed.text and personal not in read.text
    names = httpx.post(
        f"{enrolment.url}/programs/{program_id}/participants/names",
        json={"participant_ids": [mentee_id]},
        headers=auditor,
    )
    assert names.status_code == 403


def test_admins_act_only_on_their_programs_and_enrol_nobody(keycloak, enrolment, opted_in):
    program_id = opted_in["program_id"]
    mentee_id = opted_in["enrolled"]["mentee"]["participant"]["participant_id"]
    other_unit = bearer(keycloak.password_token("bu.admin"))
    assert httpx.get(f"{enrolment.url}/programs/{program_id}/participants", headers=other_unit).status_code == 403
    names_url = f"{enrolment.url}/programs/{program_id}/participants/names"
    assert httpx.post(names_url, json={"participant_ids": [mentee_id]}, headers=other_unit).status_code == 403
    admin = bearer(keycloak.password_token("hr.admin"))
    named = httpx.post(names_url, json={"participant_ids": [mentee_id]}, headers=admin)
    assert named.json() == {"names": {mentee_id: MENTEE.display_name}}
    refused = httpx.post(
        f"{enrolment.url}/programs/{program_id}/participants", json=STRANGER.enrolment(), headers=admin
    )
    assert refused.status_code == 403 and "consent" in refused.json()["detail"]
