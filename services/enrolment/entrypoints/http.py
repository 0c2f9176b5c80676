"""Enrolment's HTTP API under /enrolment/v1."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel

from services.enrolment.domain import model
from services.enrolment.domain.commands import (
    EnrolParticipant,
    LaunchProgram,
    UpdateProfile,
    WithdrawParticipant,
)
from services.enrolment.service_layer import handlers
from services.enrolment.service_layer.unit_of_work import EnrolmentUnitOfWork
from shared.auth import Admin, AdminOrParticipant, Principal, Reader, require
from shared.errors import Forbidden
from shared.events import ParticipantEnrolled, ProgramLaunched
from shared.http import EventLogPosition
from shared.types import MAX_PAGE, Identifier

router = APIRouter(tags=["enrolment"])


def unit_of_work() -> EnrolmentUnitOfWork:
    """A fresh unit of work per request."""
    raise NotImplementedError("bound by the composition root")


def pseudonym_key() -> str:
    """The HMAC key turning employee ids into participant ids (EnrolmentSettings.pseudonym_key)."""
    raise NotImplementedError("bound by the composition root")


Uow = Annotated[EnrolmentUnitOfWork, Depends(unit_of_work)]
PseudonymKey = Annotated[str, Depends(pseudonym_key)]


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
    """A participant acts only for itself; admins act for anyone (shared.auth's rule for writes)."""
    if not principal.may_act_for(participant_id):
        raise Forbidden("a participant may act only for itself")


@router.post("/programs", status_code=status.HTTP_201_CREATED, response_model=ProgramCreated)
async def launch_program(command: LaunchProgram, _: Admin, uow: Uow) -> ProgramCreated:
    program, result = await handlers.launch_program(uow, command)
    return ProgramCreated(program=program, event_log=EventLogPosition.of(result))


@router.get("/programs", response_model=list[ProgramLaunched])
async def list_programs(
    _: Reader,
    uow: Uow,
    response: Response,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ProgramLaunched]:
    """A page of the programs in launch order; `X-Total-Count` says how many there are in all."""
    programs, total = await handlers.programs(uow, (page - 1) * page_size, page_size)
    response.headers["X-Total-Count"] = str(total)
    return programs


@router.get("/programs/{program_id}", response_model=ProgramLaunched)
async def get_program(program_id: Identifier, _: Reader, uow: Uow) -> ProgramLaunched:
    return await handlers.program(uow, program_id)


@router.post(
    "/programs/{program_id}/participants",
    status_code=status.HTTP_201_CREATED,
    response_model=ParticipantChanged,
)
async def enrol(
    program_id: Identifier, command: EnrolParticipant, principal: AdminOrParticipant, uow: Uow, key: PseudonymKey
) -> ParticipantChanged:
    act_for(principal, model.pseudonym(key, command.employee_id))
    participant, result = await handlers.enrol_participant(uow, program_id, command, key)
    return ParticipantChanged(participant=ParticipantView.of(participant), event_log=EventLogPosition.of(result))


@router.get("/programs/{program_id}/participants", response_model=ParticipantPage)
async def list_participants(
    program_id: Identifier,
    _: Annotated[Principal, Depends(require("program_admin", "auditor"))],
    uow: Uow,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ParticipantPage:
    items, total = await handlers.participants(uow, program_id, (page - 1) * page_size, page_size)
    return ParticipantPage(items=[ParticipantView.of(p) for p in items], page=page, page_size=page_size, total=total)


@router.get("/programs/{program_id}/participants/{participant_id}", response_model=ParticipantView)
async def get_participant(
    program_id: Identifier, participant_id: Identifier, principal: Reader, uow: Uow
) -> ParticipantView:
    if not principal.may_read(participant_id):
        raise Forbidden("a participant sees only itself")
    return ParticipantView.of(await handlers.participant(uow, program_id, participant_id))


@router.patch("/programs/{program_id}/participants/{participant_id}", response_model=ParticipantChanged)
async def update_profile(
    program_id: Identifier,
    participant_id: Identifier,
    command: UpdateProfile,
    principal: AdminOrParticipant,
    uow: Uow,
    key: PseudonymKey,
) -> ParticipantChanged:
    act_for(principal, participant_id)
    participant, result = await handlers.update_profile(
        uow, program_id, participant_id, command, key, by_admin=principal.acts_as_admin
    )
    return ParticipantChanged(
        participant=ParticipantView.of(participant), event_log=EventLogPosition.of(result) if result else None
    )


@router.post("/programs/{program_id}/participants/{participant_id}/withdraw", response_model=ParticipantChanged)
async def withdraw(
    program_id: Identifier,
    participant_id: Identifier,
    principal: AdminOrParticipant,
    uow: Uow,
    command: WithdrawParticipant | None = None,
) -> ParticipantChanged:
    act_for(principal, participant_id)
    participant, result = await handlers.withdraw(uow, program_id, participant_id, command or WithdrawParticipant())
    return ParticipantChanged(
        participant=ParticipantView.of(participant), event_log=EventLogPosition.of(result) if result else None
    )


@router.post("/programs/{program_id}/participants/{participant_id}/erase", response_model=ParticipantChanged)
async def erase(
    program_id: Identifier, participant_id: Identifier, principal: AdminOrParticipant, uow: Uow
) -> ParticipantChanged:
    """Right to erasure: personal details are deleted; the pseudonymous history stays for counts and audits."""
    act_for(principal, participant_id)
    participant, result = await handlers.erase(uow, program_id, participant_id)
    return ParticipantChanged(
        participant=ParticipantView.of(participant), event_log=EventLogPosition.of(result) if result else None
    )
