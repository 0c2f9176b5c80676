"""Enrolment's use cases: load, let the domain decide, store the state and its events in one unit of work."""

from __future__ import annotations

from dataclasses import replace

from services.enrolment.domain import model
from services.enrolment.domain.commands import (
    EnrolParticipant,
    LaunchProgram,
    UpdateProfile,
    WithdrawParticipant,
)
from services.enrolment.service_layer.unit_of_work import EnrolmentUnitOfWork
from shared.errors import Conflict, NotFound
from shared.events import Event, ProgramLaunched
from shared.eventstore import AppendResult

Changed = tuple[model.Participant, AppendResult | None]


async def launch_program(uow: EnrolmentUnitOfWork, command: LaunchProgram) -> tuple[ProgramLaunched, AppendResult]:
    program = model.launch(command)
    async with uow:
        await uow.programs.add(program)
        result = await uow.append(model.stream_of_program(program.program_id), 0, [program])
    return program, result


async def enrol_participant(
    uow: EnrolmentUnitOfWork, program_id: str, command: EnrolParticipant, pseudonym_key: str
) -> tuple[model.Participant, AppendResult]:
    async with uow:
        participant = model.enrol(await _program(uow, program_id), command, pseudonym_key)
        if not await uow.participants.add(participant):
            raise Conflict(f"participant {participant.profile.participant_id} is already enrolled in {program_id}")
        result = await uow.append(participant.stream_id, 0, [participant.profile])
    return participant, result


async def update_profile(
    uow: EnrolmentUnitOfWork,
    program_id: str,
    participant_id: str,
    command: UpdateProfile,
    pseudonym_key: str,
    *,
    by_admin: bool,
) -> Changed:
    async with uow:
        participant = await _participant_for_update(uow, program_id, participant_id)
        updated, event = participant.update(command, pseudonym_key, by_admin=by_admin)
        return await _store(uow, participant, updated, event)


async def withdraw(
    uow: EnrolmentUnitOfWork, program_id: str, participant_id: str, command: WithdrawParticipant
) -> Changed:
    async with uow:
        participant = await _participant_for_update(uow, program_id, participant_id)
        updated, event = participant.withdraw(command.reason)
        return await _store(uow, participant, updated, event)


async def erase(uow: EnrolmentUnitOfWork, program_id: str, participant_id: str) -> Changed:
    """Withdraw (if still active) and erase personal details, in one transaction."""
    async with uow:
        participant = await _participant_for_update(uow, program_id, participant_id)
        withdrawn, withdrawal = participant.withdraw("personal data erased on request")
        erased, erasure = withdrawn.erase()
        return await _store(uow, participant, erased, withdrawal, erasure)


# ------------------------------------------------------------------------------------------------------ reads


async def programs(uow: EnrolmentUnitOfWork, offset: int, limit: int) -> tuple[list[ProgramLaunched], int]:
    async with uow:
        return await uow.programs.list(offset, limit)


async def program(uow: EnrolmentUnitOfWork, program_id: str) -> ProgramLaunched:
    async with uow:
        return await _program(uow, program_id)


async def participant(uow: EnrolmentUnitOfWork, program_id: str, participant_id: str) -> model.Participant:
    async with uow:
        found = await uow.participants.get(program_id, participant_id)
    if found is None:
        raise NotFound(f"no participant {participant_id} in program {program_id}")
    return found


async def participants(
    uow: EnrolmentUnitOfWork, program_id: str, offset: int, limit: int
) -> tuple[list[model.Participant], int]:
    """A page of the program's participants and their total; 404 for an unknown program."""
    async with uow:
        await _program(uow, program_id)
        return await uow.participants.page(program_id, offset, limit)


# ---------------------------------------------------------------------------------------------------- helpers


async def _store(
    uow: EnrolmentUnitOfWork, before: model.Participant, after: model.Participant, *events: Event | None
) -> Changed:
    result = None
    changes = [e for e in events if e is not None]
    if changes:
        result = await uow.append(before.stream_id, before.version, changes)
        after = replace(after, version=result.version)
    await uow.participants.save(after)
    return after, result


async def _program(uow: EnrolmentUnitOfWork, program_id: str) -> ProgramLaunched:
    found = await uow.programs.get(program_id)
    if found is None:
        raise NotFound(f"no program {program_id}")
    return found


async def _participant_for_update(uow: EnrolmentUnitOfWork, program_id: str, participant_id: str) -> model.Participant:
    found = await uow.participants.get_for_update(program_id, participant_id)
    if found is None:
        raise NotFound(f"no participant {participant_id} in program {program_id}")
    return found
