"""HR-owned fields (`reporting_chain`, `grade`, `role`, `capacity`) are changed by admins only: a participant that
could empty its reporting chain or raise its grade would defeat the two rules matching cares most about (never
paired with someone who decides your promotion; the mentor is the junior one)."""

from __future__ import annotations

import httpx
import pytest

from services.enrolment import bootstrap
from services.enrolment.config import EnrolmentSettings
from services.enrolment.domain import model
from services.enrolment.domain.commands import EnrolParticipant, LaunchProgram, UpdateProfile
from services.enrolment.entrypoints import http
from services.enrolment.service_layer.unit_of_work import EnrolmentState, InMemoryEnrolmentUnitOfWork
from shared.auth import issue_token
from shared.errors import Forbidden
from shared.eventstore import InMemoryEventStore
from tests.support.services import as_person

KEY = "hr-fields-pseudonym-key"
HR_CHANGES = {"reporting_chain": [], "grade": 9, "role": "mentee", "capacity": 5}
PERSON = {
    "employee_id": "E1",
    "display_name": "Someone",
    "email": "someone@example.com",
    "role": "mentor",
    "grade": 3,
    "birth_year": 1998,
    "department": "IT",
    "languages": ["en"],
    "reporting_chain": ["M1"],
    "consent": True,
}


def enrolled() -> model.Participant:
    return model.enrol(model.launch(LaunchProgram(title="HR")), EnrolParticipant.model_validate(PERSON), KEY)


# ------------------------------------------------------------------------------------------------------ domain


@pytest.mark.parametrize("field, value", HR_CHANGES.items())
def test_a_participant_may_not_change_an_hr_owned_field(field, value):
    with pytest.raises(Forbidden, match=field):
        enrolled().update(UpdateProfile.model_validate({field: value}), KEY, by_admin=False)


@pytest.mark.parametrize("field, value", HR_CHANGES.items())
def test_an_admin_may_change_an_hr_owned_field(field, value):
    updated, event = enrolled().update(UpdateProfile.model_validate({field: value}), KEY, by_admin=True)
    assert event is not None and getattr(updated.profile, field) == (tuple(value) if isinstance(value, list) else value)


def test_a_participant_still_changes_its_own_fields():
    updated, event = enrolled().update(UpdateProfile(skills_offered=["python"], goals="x"), KEY, by_admin=False)
    assert event is not None and updated.profile.skills_offered == ("python",) and updated.goals == "x"


# -------------------------------------------------------------------------------------------------------- http


@pytest.fixture
async def enrolment():
    state, store = EnrolmentState(), InMemoryEventStore()
    app = bootstrap.build(EnrolmentSettings(pseudonym_key=KEY))
    app.dependency_overrides[http.unit_of_work] = lambda: InMemoryEnrolmentUnitOfWork(state, store)
    admin = {"Authorization": f"Bearer {issue_token('hr', ['program_admin'])}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://e{bootstrap.SPEC.prefix}") as client:
        program_id = (await client.post("/programs", json={"title": "HR"}, headers=admin)).json()["program"][
            "program_id"
        ]
        created = await client.post(f"/programs/{program_id}/participants", json=PERSON, headers=as_person("E1", KEY))
        participant_id = created.json()["participant"]["participant_id"]
        yield client, f"/programs/{program_id}/participants/{participant_id}", participant_id, admin, store


@pytest.mark.parametrize("field, value", HR_CHANGES.items())
async def test_a_participants_patch_of_an_hr_owned_field_is_403_naming_it_and_stores_nothing(enrolment, field, value):
    client, url, participant_id, _, store = enrolment
    before = len(store.events)
    itself = {"Authorization": f"Bearer {issue_token(participant_id, ['participant'])}"}
    refused = await client.patch(url, json={field: value, "skills_offered": ["x"]}, headers=itself)
    assert refused.status_code == 403 and field in refused.text
    assert len(store.events) == before
    assert (await client.get(url, headers=itself)).json()["profile"]["skills_offered"] == []


@pytest.mark.parametrize("field, value", HR_CHANGES.items())
async def test_an_admins_patch_of_an_hr_owned_field_is_published(enrolment, field, value):
    client, url, _, admin, store = enrolment
    changed = await client.patch(url, json={field: value}, headers=admin)
    assert changed.status_code == 200, changed.text
    assert store.events[-1].type == "tandem.enrolment.participant-profile-updated.v1"
    assert store.events[-1].data[field] == value or (field == "reporting_chain" and store.events[-1].data[field] == [])
