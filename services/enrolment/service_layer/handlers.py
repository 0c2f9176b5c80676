"""Enrolment's use cases: load, let the domain decide, store the state and its events in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, replace

import asyncpg

from services.enrolment.adapters import repository
from services.enrolment.domain import model
from services.enrolment.domain.commands import (
    EnrolParticipant,
    LaunchProgram,
    UpdateProfile,
    WithdrawParticipant,
)
from shared.errors import Conflict, NotFound
from shared.events import ProgramLaunched
from shared.eventstore import AppendResult
from shared.uow import PooledTransactions


@dataclass(frozen=True)
class Enrolment(PooledTransactions):
    pseudonym_key: str


async def launch_program(svc: Enrolment, command: LaunchProgram) -> tuple[ProgramLaunched, AppendResult]:
    program = model.launch(command)
    async with svc.transaction() as conn:
        await repository.add_program(conn, program)
        result = await svc.store.append(model.stream_of_program(program.program_id), 0, [program], conn=conn)
    return program, result


async def enrol_participant(
    svc: Enrolment, program_id: str, command: EnrolParticipant
) -> tuple[model.Participant, AppendResult]:
    async with svc.transaction() as conn:
        program = await _program(conn, program_id)
        participant = model.enrol(program, command, svc.pseudonym_key)
        if not await repository.add_participant(conn, participant):
            raise Conflict(f"employee {command.employee_id} is already enrolled in program {program_id}")
        result = await svc.store.append(participant.stream_id, 0, [participant.profile], conn=conn)
    return participant, result


async def update_profile(
    svc: Enrolment, program_id: str, participant_id: str, command: UpdateProfile
) -> tuple[model.Participant, AppendResult | None]:
    async with svc.transaction() as conn:
        participant = await _participant(conn, program_id, participant_id)
        updated, event = participant.update(command, svc.pseudonym_key)
        return await _store(svc, conn, participant, updated, event)


async def withdraw(
    svc: Enrolment, program_id: str, participant_id: str, command: WithdrawParticipant
) -> tuple[model.Participant, AppendResult | None]:
    async with svc.transaction() as conn:
        participant = await _participant(conn, program_id, participant_id)
        updated, event = participant.withdraw(command.reason)
        return await _store(svc, conn, participant, updated, event)


async def erase(svc: Enrolment, program_id: str, participant_id: str) -> tuple[model.Participant, AppendResult | None]:
    """Withdraw (if still active) and erase personal details, in one transaction."""
    async with svc.transaction() as conn:
        participant = await _participant(conn, program_id, participant_id)
        withdrawn, withdrawal = participant.withdraw("personal data erased on request")
        erased, erasure = withdrawn.erase()
        return await _store(svc, conn, participant, erased, withdrawal, erasure)


async def _store(svc, conn, before: model.Participant, after: model.Participant, *events):
    result = None
    changes = [e for e in events if e is not None]
    if changes:
        result = await svc.store.append(before.stream_id, before.version, changes, conn=conn)
        after = replace(after, version=result.version)
    await repository.save_participant(conn, after)
    return after, result


async def _program(conn: asyncpg.Connection, program_id: str) -> ProgramLaunched:
    program = await repository.get_program(conn, program_id)
    if program is None:
        raise NotFound(f"no program {program_id}")
    return program


async def _participant(conn: asyncpg.Connection, program_id: str, participant_id: str) -> model.Participant:
    participant = await repository.get_participant(conn, program_id, participant_id, for_update=True)
    if participant is None:
        raise NotFound(f"no participant {participant_id} in program {program_id}")
    return participant
