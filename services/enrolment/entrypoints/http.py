"""Enrolment's HTTP API under /enrolment/v1."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel

from services.enrolment.adapters import repository
from services.enrolment.domain import model
from services.enrolment.domain.commands import (
    EnrolParticipant,
    LaunchProgram,
    UpdateProfile,
    WithdrawParticipant,
)
from services.enrolment.service_layer import handlers
from shared.auth import Admin, AdminOrParticipant, Principal, Reader, require
from shared.errors import Forbidden, NotFound
from shared.events import ParticipantEnrolled, ProgramLaunched
from shared.http import EventLogPosition

router = APIRouter(tags=["enrolment"])


def service() -> handlers.Enrolment:
    raise NotImplementedError("bound by the composition root (bootstrap.py)")


Service = Annotated[handlers.Enrolment, Depends(service)]


class ProgramCreated(BaseModel):
    program: ProgramLaunched
    event_log: EventLogPosition


class ParticipantView(BaseModel):
    participant_id: str
    program_id: str
    status: str
    profile: ParticipantEnrolled
    employee_id: str
    display_name: str
    email: str
    goals: str
    version: int

    @classmethod
    def of(cls, p: model.Participant) -> ParticipantView:
        return cls(
            participant_id=p.profile.participant_id,
            program_id=p.profile.program_id,
            status=p.status,
            profile=p.profile,
            employee_id=p.employee_id,
            display_name=p.display_name,
            email=p.email,
            goals=p.goals,
            version=p.version,
        )


class ParticipantChanged(BaseModel):
    participant: ParticipantView
    event_log: EventLogPosition | None = None


class ParticipantPage(BaseModel):
    items: list[ParticipantView]
    page: int
    page_size: int
    total: int


def act_for(principal: Principal, participant_id: str) -> None:
    """A participant acts only for itself; admins act for anyone."""
    if not principal.is_admin and principal.subject != participant_id:
        raise Forbidden("a participant may act only for itself")


@router.post("/programs", status_code=status.HTTP_201_CREATED, response_model=ProgramCreated)
async def launch_program(command: LaunchProgram, svc: Service, _: Admin) -> ProgramCreated:
    program, result = await handlers.launch_program(svc, command)
    return ProgramCreated(program=program, event_log=EventLogPosition.of(result))


@router.get("/programs", response_model=list[ProgramLaunched])
async def list_programs(svc: Service, _: Reader) -> list[ProgramLaunched]:
    return await repository.list_programs(svc.pool)


@router.get("/programs/{program_id}", response_model=ProgramLaunched)
async def get_program(program_id: str, svc: Service, _: Reader) -> ProgramLaunched:
    program = await repository.get_program(svc.pool, program_id)
    if program is None:
        raise NotFound(f"no program {program_id}")
    return program


@router.post(
    "/programs/{program_id}/participants",
    status_code=status.HTTP_201_CREATED,
    response_model=ParticipantChanged,
)
async def enrol(
    program_id: str, command: EnrolParticipant, svc: Service, principal: AdminOrParticipant
) -> ParticipantChanged:
    act_for(principal, model.pseudonym(svc.pseudonym_key, command.employee_id))
    participant, result = await handlers.enrol_participant(svc, program_id, command)
    return ParticipantChanged(participant=ParticipantView.of(participant), event_log=EventLogPosition.of(result))


@router.get("/programs/{program_id}/participants", response_model=ParticipantPage)
async def list_participants(
    program_id: str,
    svc: Service,
    _: Annotated[Principal, Depends(require("program_admin", "auditor"))],
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ParticipantPage:
    if await repository.get_program(svc.pool, program_id) is None:
        raise NotFound(f"no program {program_id}")
    items, total = await repository.list_participants(svc.pool, program_id, (page - 1) * page_size, page_size)
    return ParticipantPage(items=[ParticipantView.of(p) for p in items], page=page, page_size=page_size, total=total)


@router.get("/programs/{program_id}/participants/{participant_id}", response_model=ParticipantView)
async def get_participant(program_id: str, participant_id: str, svc: Service, principal: Reader) -> ParticipantView:
    if not principal.has("auditor"):
        act_for(principal, participant_id)
    participant = await repository.get_participant(svc.pool, program_id, participant_id)
    if participant is None:
        raise NotFound(f"no participant {participant_id} in program {program_id}")
    return ParticipantView.of(participant)


@router.patch("/programs/{program_id}/participants/{participant_id}", response_model=ParticipantChanged)
async def update_profile(
    program_id: str, participant_id: str, command: UpdateProfile, svc: Service, principal: AdminOrParticipant
) -> ParticipantChanged:
    act_for(principal, participant_id)
    participant, result = await handlers.update_profile(svc, program_id, participant_id, command)
    return ParticipantChanged(
        participant=ParticipantView.of(participant), event_log=EventLogPosition.of(result) if result else None
    )


@router.post("/programs/{program_id}/participants/{participant_id}/withdraw", response_model=ParticipantChanged)
async def withdraw(
    program_id: str,
    participant_id: str,
    svc: Service,
    principal: AdminOrParticipant,
    command: WithdrawParticipant | None = None,
) -> ParticipantChanged:
    act_for(principal, participant_id)
    participant, result = await handlers.withdraw(svc, program_id, participant_id, command or WithdrawParticipant())
    return ParticipantChanged(
        participant=ParticipantView.of(participant), event_log=EventLogPosition.of(result) if result else None
    )


@router.post("/programs/{program_id}/participants/{participant_id}/erase", response_model=ParticipantChanged)
async def erase(
    program_id: str, participant_id: str, svc: Service, principal: AdminOrParticipant
) -> ParticipantChanged:
    """Right to erasure: personal details are deleted; the pseudonymous history stays for counts and audits."""
    act_for(principal, participant_id)
    participant, result = await handlers.erase(svc, program_id, participant_id)
    return ParticipantChanged(
        participant=ParticipantView.of(participant), event_log=EventLogPosition.of(result) if result else None
    )
