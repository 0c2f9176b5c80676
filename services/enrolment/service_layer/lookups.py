"""What every enrolment use case loads first, inside its open unit of work: a program or a participant, or a 404."""

from __future__ import annotations

from services.enrolment.domain import model
from services.enrolment.service_layer.unit_of_work import EnrolmentUnitOfWork
from shared.errors import NotFound


async def program(uow: EnrolmentUnitOfWork, program_id: str) -> model.Program:
    return _program_or_404(await uow.programs.get(program_id), program_id)


async def program_for_update(uow: EnrolmentUnitOfWork, program_id: str) -> model.Program:
    """As `program`, and no other unit of work changes it until this one ends."""
    return _program_or_404(await uow.programs.get_for_update(program_id), program_id)


async def participant(uow: EnrolmentUnitOfWork, program_id: str, participant_id: str) -> model.Participant:
    return _participant_or_404(await uow.participants.get(program_id, participant_id), program_id, participant_id)


async def participant_for_update(uow: EnrolmentUnitOfWork, program_id: str, participant_id: str) -> model.Participant:
    """As `participant`, and no other unit of work changes them until this one ends."""
    found = await uow.participants.get_for_update(program_id, participant_id)
    return _participant_or_404(found, program_id, participant_id)


def _program_or_404(found: model.Program | None, program_id: str) -> model.Program:
    if found is None:
        raise NotFound(f"no program {program_id}")
    return found


def _participant_or_404(found: model.Participant | None, program_id: str, participant_id: str) -> model.Participant:
    if found is None:
        raise NotFound(f"no participant {participant_id} in program {program_id}")
    return found
