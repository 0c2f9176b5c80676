"""Enrolment queues a participant's contact details for the contacts topic in the transaction that changes them
(docs/adr/0008): enrolling, a profile change and an erasure each queue the person; a refused change queues nothing."""

from __future__ import annotations

import pytest

from services.enrolment.domain.commands import EnrolParticipant, LaunchProgram, UpdateProfile
from services.enrolment.service_layer import handlers
from services.enrolment.service_layer.unit_of_work import InMemoryEnrolmentUnitOfWork
from shared.errors import NotFound

KEY = "contact-outbox-pseudonym-key"
PERSON = {
    "employee_id": "E1",
    "display_name": "Someone",
    "email": "someone@example.com",
    "role": "mentor",
    "grade": 3,
    "birth_year": 1998,
    "department": "IT",
    "languages": ["en"],
    "consent": True,
}


async def test_every_change_of_a_participant_queues_its_contact_details_and_nothing_else_does():
    uow = InMemoryEnrolmentUnitOfWork()
    program, _ = await handlers.launch_program(uow, LaunchProgram(title="Contacts"))
    assert uow.state.contact_outbox == []
    participant, _, _ = await handlers.enrol_participant(
        uow, program.program_id, EnrolParticipant.model_validate(PERSON), KEY
    )
    person = participant.profile.participant_id
    assert uow.state.contact_outbox == [person]
    await handlers.update_profile(
        uow, program.program_id, person, UpdateProfile(email="moved@example.com"), KEY, by_admin=False
    )
    await handlers.erase(uow, program.program_id, person)
    assert uow.state.contact_outbox == [person, person, person]
    assert all("@" not in queued for queued in uow.state.contact_outbox)  # ids only: no details in the outbox
    with pytest.raises(NotFound):
        await handlers.erase(uow, program.program_id, "p-nobody")
    assert len(uow.state.contact_outbox) == 3  # a refused change rolled back, outbox included
