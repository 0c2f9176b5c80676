"""Enrolment's HTTP API under /enrolment/v1."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel, Field

from services.enrolment.domain import model
from services.enrolment.domain.commands import (
    ChangeProgramSettings,
    EnrolParticipant,
    LaunchProgram,
    UpdateProfile,
    WithdrawParticipant,
)
from services.enrolment.service_layer import handlers
from services.enrolment.service_layer.unit_of_work import EnrolmentUnitOfWork
from shared.auth import Admin, AdminOrParticipant, Principal, ProgramStaff, Reader, require
from shared.errors import Forbidden
from shared.events import ParticipantEnrolled, ProgramSettings
from shared.http import EventLogPosition, provided
from shared.types import MAX_PAGE, Identifier

router = APIRouter(tags=["enrolment"])


async def unit_of_work(request: Request) -> EnrolmentUnitOfWork:
    """A fresh unit of work per request (bound by the composition root)."""
    return provided(request, unit_of_work)


async def pseudonym_key(request: Request) -> str:
    """The HMAC key turning employee ids into participant ids (EnrolmentSettings.pseudonym_key)."""
    return provided(request, pseudonym_key)


Uow = Annotated[EnrolmentUnitOfWork, Depends(unit_of_work)]
PseudonymKey = Annotated[str, Depends(pseudonym_key)]


class ProgramView(ProgramSettings):
    """A program's settings as they stand, how many times they were set, and whether it is closed."""

    settings_version: int = Field(description="1 at launch; each change of the settings adds one.")
    consent_version: int = Field(description="The version of the consent wording people consent to now.")
    closed_at: datetime | None = Field(description="When the program was closed; null while it runs.")

    @classmethod
    def of(cls, program: model.Program) -> ProgramView:
        return cls(
            **program.settings.model_dump(),
            settings_version=program.settings_version,
            consent_version=program.consent_version,
            closed_at=program.closed_at,
        )


class ProgramCreated(BaseModel):
    program: ProgramView
    event_log: EventLogPosition


class ProgramChanged(BaseModel):
    program: ProgramView
    event_log: EventLogPosition | None = Field(None, description="Null when nothing changed (no event).")


class ParticipantView(BaseModel):
    """A participant; `employee_id`, `display_name`, `email` and `goals` are null for a caller who may read the
    participant but not who they are (an auditor: pseudonyms only)."""

    participant_id: str
    program_id: str
    status: str
    profile: ParticipantEnrolled
    employee_id: str | None
    display_name: str | None
    email: str | None
    goals: str | None
    share_goals: bool
    version: int

    @classmethod
    def of(cls, p: model.Participant, *, personal: bool = True) -> ParticipantView:
        return cls(
            participant_id=p.profile.participant_id,
            program_id=p.profile.program_id,
            status=p.status,
            profile=p.profile,
            employee_id=p.employee_id if personal else None,
            display_name=p.display_name if personal else None,
            email=p.email if personal else None,
            goals=p.goals if personal else None,
            share_goals=p.share_goals,
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


def staff(program: model.Program) -> ProgramStaff:
    return ProgramStaff.of(program.settings.admin_groups, program.settings.sponsor_groups)


def is_self(principal: Principal, program_id: str, participant_id: str) -> bool:
    """The caller acts as this participant of `program_id`: the `participant` role and one of its own ids there."""
    return principal.is_participant(program_id, participant_id)


def own_id(principal: Principal, program: model.Program, key: str) -> str:
    """The caller's participant id in `program`, under the program's scheme (enrolment is the one service that
    knows it); a token without an employee id names its id in `sub`."""
    return program.pseudonym(key, principal.employee_id) if principal.employee_id else principal.subject


def require_administers(principal: Principal, program: model.Program) -> None:
    if not principal.administers(staff(program)):
        raise Forbidden(f"you do not administer program {program.program_id}")


def act_for(principal: Principal, program: model.Program, participant_id: str) -> None:
    """A participant acts only for itself; a program admin for anyone in the programs it administers."""
    if is_self(principal, program.program_id, participant_id):
        return
    if principal.acts_as_admin:
        require_administers(principal, program)
        return
    raise Forbidden("a participant may act only for itself")


def sees_who(principal: Principal, program: model.Program, participant_id: str | None = None) -> bool:
    """Whether the caller may see who a participant is (True), only their pseudonymous profile (False: auditors),
    or nothing (403). The participant themself and the program's admins see who; other admins see nothing."""
    if participant_id is not None and is_self(principal, program.program_id, participant_id):
        return True
    if principal.administers(staff(program)):
        return True
    if "auditor" in principal.roles:
        return False
    if principal.acts_as_admin:
        raise Forbidden(f"you do not administer program {program.program_id}")
    raise Forbidden("a participant sees only itself")


@router.post("/programs", status_code=status.HTTP_201_CREATED, response_model=ProgramCreated)
async def launch_program(command: LaunchProgram, _: Admin, uow: Uow) -> ProgramCreated:
    program, result = await handlers.launch_program(uow, command)
    return ProgramCreated(program=ProgramView.of(program), event_log=EventLogPosition.of(result))


@router.patch("/programs/{program_id}", response_model=ProgramChanged)
async def change_program(
    program_id: Identifier, command: ChangeProgramSettings, principal: Admin, uow: Uow
) -> ProgramChanged:
    """Edit the program's settings (its admins): one ProgramSettingsChanged with the whole settings, or none when
    nothing changed. A new `consent_text` raises `consent_version`. 409 on a closed program."""
    require_administers(principal, await handlers.program(uow, program_id))
    program, result = await handlers.change_program(uow, program_id, command)
    return ProgramChanged(program=ProgramView.of(program), event_log=EventLogPosition.of(result) if result else None)


@router.post("/programs/{program_id}/close", response_model=ProgramChanged)
async def close_program(program_id: Identifier, principal: Admin, uow: Uow) -> ProgramChanged:
    """Close the program (its admins): no new rounds nor participants; open pairs run to their end or are
    completed by an admin. Closing twice changes nothing."""
    require_administers(principal, await handlers.program(uow, program_id))
    program, result = await handlers.close_program(uow, program_id)
    return ProgramChanged(program=ProgramView.of(program), event_log=EventLogPosition.of(result) if result else None)


@router.get("/programs", response_model=list[ProgramView])
async def list_programs(
    _: Reader,
    uow: Uow,
    response: Response,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ProgramView]:
    """A page of the programs in launch order; `X-Total-Count` says how many there are in all."""
    programs, total = await handlers.programs(uow, (page - 1) * page_size, page_size)
    response.headers["X-Total-Count"] = str(total)
    return [ProgramView.of(p) for p in programs]


@router.get("/programs/{program_id}", response_model=ProgramView)
async def get_program(program_id: Identifier, _: Reader, uow: Uow) -> ProgramView:
    return ProgramView.of(await handlers.program(uow, program_id))


@router.post(
    "/programs/{program_id}/participants",
    status_code=status.HTTP_201_CREATED,
    response_model=ParticipantChanged,
)
async def enrol(
    program_id: Identifier, command: EnrolParticipant, principal: AdminOrParticipant, uow: Uow, key: PseudonymKey
) -> ParticipantChanged:
    """A person enrolling themselves with the profile body (`consent: true` consents to the program's current
    wording). Program admins may not: a person consents for themselves, so admins invite instead."""

    def only_themselves(program: model.Program) -> None:
        if not is_self(principal, program_id, program.pseudonym(key, command.employee_id)):
            if principal.acts_as_admin:
                raise Forbidden(
                    "consent: a person consents for themselves; invite them (POST /programs/{program_id}/invitations)"
                )
            raise Forbidden("a participant may act only for itself")

    participant, _, result = await handlers.enrol_participant(uow, program_id, command, key, only_themselves)
    return ParticipantChanged(participant=ParticipantView.of(participant), event_log=EventLogPosition.of(result))


@router.get("/programs/{program_id}/participants", response_model=ParticipantPage)
async def list_participants(
    program_id: Identifier,
    principal: Annotated[Principal, Depends(require("program_admin", "auditor"))],
    uow: Uow,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ParticipantPage:
    personal = sees_who(principal, await handlers.program(uow, program_id))
    items, total = await handlers.participants(uow, program_id, (page - 1) * page_size, page_size)
    views = [ParticipantView.of(p, personal=personal) for p in items]
    return ParticipantPage(items=views, page=page, page_size=page_size, total=total)


@router.get("/programs/{program_id}/participants/{participant_id}", response_model=ParticipantView)
async def get_participant(
    program_id: Identifier, participant_id: Identifier, principal: Reader, uow: Uow
) -> ParticipantView:
    personal = sees_who(principal, await handlers.program(uow, program_id), participant_id)
    return ParticipantView.of(await handlers.participant(uow, program_id, participant_id), personal=personal)


@router.patch("/programs/{program_id}/participants/{participant_id}", response_model=ParticipantChanged)
async def update_profile(
    program_id: Identifier,
    participant_id: Identifier,
    command: UpdateProfile,
    principal: AdminOrParticipant,
    uow: Uow,
    key: PseudonymKey,
) -> ParticipantChanged:
    program = await handlers.program(uow, program_id)
    act_for(principal, program, participant_id)
    by_admin = principal.administers(staff(program))
    participant, result = await handlers.update_profile(
        uow, program_id, participant_id, command, key, by_admin=by_admin
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
    act_for(principal, await handlers.program(uow, program_id), participant_id)
    participant, result = await handlers.withdraw(uow, program_id, participant_id, command or WithdrawParticipant())
    return ParticipantChanged(
        participant=ParticipantView.of(participant), event_log=EventLogPosition.of(result) if result else None
    )


@router.post("/programs/{program_id}/participants/{participant_id}/erase", response_model=ParticipantChanged)
async def erase(
    program_id: Identifier, participant_id: Identifier, principal: AdminOrParticipant, uow: Uow
) -> ParticipantChanged:
    """Right to erasure: personal details are deleted; the pseudonymous history stays for counts and audits."""
    act_for(principal, await handlers.program(uow, program_id), participant_id)
    participant, result = await handlers.erase(uow, program_id, participant_id)
    return ParticipantChanged(
        participant=ParticipantView.of(participant), event_log=EventLogPosition.of(result) if result else None
    )
