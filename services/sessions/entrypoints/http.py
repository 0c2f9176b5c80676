"""Sessions' HTTP API under /sessions/v1. Its dependencies are typed and bound by the composition root
(bootstrap.py): `unit_of_work` and `settings`; tests bind an in-memory unit of work instead."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, status
from pydantic import BaseModel, Field

from services.sessions.config import SessionsSettings
from services.sessions.domain.commands import (
    GiveFeedback,
    LogSession,
    Reflect,
    ShareStory,
    SignAgreement,
    WriteAgreement,
)
from services.sessions.domain.model import Pair
from services.sessions.service_layer import handlers
from services.sessions.service_layer.handlers import (
    AgreementChanged,
    AgreementView,
    CompletionAnswer,
    CompletionView,
    FeedbackRecorded,
    LeadersChangedView,
    SessionLogged,
    SessionView,
    StoryChoice,
    StoryView,
)
from services.sessions.service_layer.unit_of_work import SessionsUnitOfWork
from shared import program_staff
from shared.auth import AdminOrParticipant, Participant, Principal, ProgramStaff, Reader
from shared.break_glass import BreakGlass
from shared.clock import Clock
from shared.http import provided
from shared.types import Identifier

router = APIRouter(tags=["sessions"])


async def unit_of_work(request: Request) -> SessionsUnitOfWork:
    return provided(request, unit_of_work)


async def settings(request: Request) -> SessionsSettings:
    return provided(request, settings)


WALL_CLOCK = Clock()


async def clock(request: Request) -> Clock:
    """The process's clock (the runtime's, bound by the composition root): periods and ends follow it, so a
    development clock moved forward moves them too."""
    return provided(request, clock, default=lambda: WALL_CLOCK)


UoW = Annotated[SessionsUnitOfWork, Depends(unit_of_work)]
Settings = Annotated[SessionsSettings, Depends(settings)]
Now = Annotated[Clock, Depends(clock)]

# A retry with the same caller, key and body gets the first answer back; the same key with another body is a 409.
IdempotencyKey = Annotated[
    str | None, Header(max_length=200, description="Makes a retry safe: the same key and body, one write.")
]


class PairView(BaseModel):
    pair_id: str
    program_id: str
    mentor_id: str
    mentee_id: str
    status: str = Field(description="active | dissolved | completed")
    formed_at: datetime | None
    dissolved_at: datetime | None
    completed_by: str | None = None
    completed_on: date | None = None

    @classmethod
    def of(cls, pair: Pair) -> PairView:
        return cls(**pair.__dict__)


def viewer(principal: Principal) -> handlers.Viewer:
    """Who reads: auditors every pair, admins the pairs of the programs they run, a participant its own."""

    def reaches(staff: ProgramStaff | None) -> bool:
        return "auditor" in principal.roles or (staff is not None and principal.oversees(staff))

    return handlers.Viewer(principal.subject, reaches, is_staff=principal.reads_everything, ids_in=principal.ids_in)


def writer(principal: Principal) -> handlers.Viewer:
    """Who writes: admins in the pairs of the programs they run; anyone else (an auditor-participant too) only in
    its own pairs."""

    def reaches(staff: ProgramStaff | None) -> bool:
        return staff is not None and principal.administers(staff)

    return handlers.Viewer(principal.subject, reaches, is_staff=principal.acts_as_admin, ids_in=principal.ids_in)


def overseer(principal: Principal) -> handlers.Viewer:
    """Who reads an agreement or a completion: the pair's members (with the words); the program's admins, sponsors
    and auditors (status, ids and counts, no words)."""

    def reaches(staff: ProgramStaff | None) -> bool:
        return "auditor" in principal.roles or (staff is not None and principal.oversees(staff))

    return handlers.Viewer(
        principal.subject, reaches, is_staff=principal.has(*program_staff.STAFF_ROLES), ids_in=principal.ids_in
    )


async def member_id(uow: UoW, pair_id: str, principal: Principal) -> str:
    """The caller's id in the pair: its id in the pair's program (ADR 0011). A caller who is no member gets its
    `subject`, which the write then refuses as it refuses any non-member."""
    pair = await handlers.pair(uow, pair_id)
    return principal.id_among(pair.program_id, pair.mentor_id, pair.mentee_id) or principal.subject


class Me(program_staff.Me):
    pairs: list[handlers.MyPair] = Field(description="The caller's pairs, each with its number of sessions.")


@router.get("/pairs/{pair_id}", response_model=PairView)
async def get_pair(pair_id: Identifier, uow: UoW, principal: Reader) -> PairView:
    return PairView.of(await handlers.readable_pair(uow, pair_id, viewer(principal)))


@router.get("/pairs/{pair_id}/sessions", response_model=list[SessionView])
async def list_sessions(pair_id: Identifier, uow: UoW, principal: Reader, ticket: BreakGlass) -> list[SessionView]:
    """The pair's sessions by the day they were held. The private notes go to the pair's members only; admins and
    auditors see whether a session has notes (`has_notes`), not what they say (issue #19; break glass:
    docs/privacy.md)."""
    return await handlers.sessions_of(uow, pair_id, viewer(principal), ticket)


@router.post("/pairs/{pair_id}/sessions", status_code=status.HTTP_201_CREATED, response_model=SessionLogged)
async def log_session(
    pair_id: Identifier,
    command: LogSession,
    uow: UoW,
    config: Settings,
    principal: AdminOrParticipant,
    now: Now,
    idempotency_key: IdempotencyKey = None,
) -> SessionLogged:
    """A member (or an admin on their behalf) logs a meeting of an active pair. Send an `Idempotency-Key` to
    make retries safe: the same caller, key and body get the first answer back (one session, one SessionHeld);
    the same key with another body is a 409."""
    pair = await handlers.readable_pair(uow, pair_id, writer(principal))
    me = principal.id_among(pair.program_id, pair.mentor_id, pair.mentee_id)
    logged_by = f"admin:{principal.subject}" if principal.acts_as_admin else (me or principal.subject)
    return await handlers.log_session(
        uow, pair_id, command, logged_by, idempotency_key, config.idempotency_key_ttl, now.now()
    )


@router.post("/pairs/{pair_id}/feedback", status_code=status.HTTP_201_CREATED, response_model=FeedbackRecorded)
async def give_feedback(
    pair_id: Identifier,
    command: GiveFeedback,
    uow: UoW,
    config: Settings,
    principal: Participant,
    now: Now,
    idempotency_key: IdempotencyKey = None,
) -> FeedbackRecorded:
    """Either member rates the pair, once per cadence period of the pair (the agreed cadence once in force, else
    the program's; a 409 says when the next is due); the side (mentor or mentee) follows from who gives it. An
    ended pair still takes feedback: how it ended is worth hearing. An `Idempotency-Key` makes retries safe, as
    for sessions."""
    return await handlers.give_feedback(
        uow,
        pair_id,
        command,
        await member_id(uow, pair_id, principal),
        idempotency_key,
        config.idempotency_key_ttl,
        now.now(),
    )


@router.get("/pairs/{pair_id}/agreement", response_model=AgreementView)
async def get_agreement(
    pair_id: Identifier, uow: UoW, principal: program_staff.AnyRole, ticket: BreakGlass
) -> AgreementView:
    """The latest version, the version in force and progress per goal in both directions. Members see the words;
    the program's admins, sponsors and auditors see status, ids and counts only."""
    return await handlers.agreement_of(uow, pair_id, overseer(principal), ticket)


@router.put("/pairs/{pair_id}/agreement", response_model=AgreementChanged)
async def write_agreement(
    pair_id: Identifier, command: WriteAgreement, uow: UoW, principal: Participant, now: Now
) -> AgreementChanged:
    """A member writes a new version: goals in both directions, cadence (1 to twice the program's), duration (1 to
    the program's weeks) and confidentiality. No one has signed it yet, its writer included; the version in force
    stays in force until both sign the new one."""
    return await handlers.write_agreement(uow, pair_id, command, await member_id(uow, pair_id, principal), now.now())


@router.post("/pairs/{pair_id}/agreement/sign", response_model=AgreementChanged)
async def sign_agreement(
    pair_id: Identifier, command: SignAgreement, uow: UoW, principal: Participant
) -> AgreementChanged:
    """A member signs the latest version (409 for any other); when both signed, it is in force and the pair's
    end date follows."""
    return await handlers.sign_agreement(uow, pair_id, command.version, await member_id(uow, pair_id, principal))


@router.post("/pairs/{pair_id}/completion", response_model=CompletionAnswer)
async def complete(
    pair_id: Identifier, uow: UoW, principal: AdminOrParticipant, now: Now, command: Reflect | None = None
) -> CompletionAnswer:
    """A member's closing reflection, and while the pair runs its request to complete it (the pair completes when
    both asked); an admin of the program (no body needed) completes it at once. Reflections are welcome after
    the end, once per member."""
    caller = handlers.Viewer(
        principal.subject, writer(principal).reaches_program, principal.acts_as_admin, ids_in=principal.ids_in
    )
    return await handlers.complete(uow, pair_id, command, caller, now.now())


@router.get("/pairs/{pair_id}/completion", response_model=CompletionView)
async def get_completion(
    pair_id: Identifier, uow: UoW, principal: program_staff.AnyRole, ticket: BreakGlass
) -> CompletionView:
    """Requests and reflections: members see both members' words; staff see would_recommend only."""
    return await handlers.completion_of(uow, pair_id, overseer(principal), ticket)


@router.post("/pairs/{pair_id}/story", response_model=StoryChoice)
async def share_story(
    pair_id: Identifier, command: ShareStory, uow: UoW, principal: Participant, now: Now
) -> StoryChoice:
    """A member of a completed pair shares its closing reflection as a story (`{"share": true}`, after reflecting)
    or withdraws that opt-in (`{"share": false}`). A pair's story is told only when both members share."""
    return await handlers.share_story(uow, pair_id, command.share, await member_id(uow, pair_id, principal), now.now())


@router.get("/participants/{participant_id}/pairs", response_model=list[PairView])
async def pairs_of(participant_id: Identifier, uow: UoW, principal: Reader) -> list[PairView]:
    return [PairView.of(p) for p in await handlers.pairs_of(uow, participant_id, viewer(principal))]


def staff(uow: UoW) -> program_staff.ProgramStaffReader:
    return StaffThroughUnitOfWork(uow)


class StaffThroughUnitOfWork(program_staff.ProgramStaffReader):
    """The `program_staff` read model, each read in a transaction of its own."""

    def __init__(self, uow: SessionsUnitOfWork):
        self.uow = uow

    async def get(self, program_id: str) -> ProgramStaff | None:
        async with self.uow:
            return await self.uow.program_staff.get(program_id)

    async def all(self) -> dict[str, ProgramStaff]:
        async with self.uow:
            return await self.uow.program_staff.all()


ProgramAdmin = Annotated[Principal, Depends(program_staff.program_role("administers", staff))]


@router.get("/programs/{program_id}/stories", response_model=list[StoryView])
async def stories(program_id: Identifier, uow: UoW, _: ProgramAdmin) -> list[StoryView]:
    """The program's stories, for its admins: the completed pairs whose two members both shared, with both
    reflections and the members' ids and sides. A pair where one member shared is not told at all."""
    return await handlers.stories_of(uow, program_id)


@router.get("/programs/{program_id}/leaders-changed", response_model=LeadersChangedView)
async def leaders_changed(program_id: Identifier, uow: UoW, _: ProgramAdmin) -> LeadersChangedView:
    """What the leaders (mentees) who shared their reflections said they changed, without ids; suppressed when
    fewer than five said something."""
    return await handlers.leaders_changed(uow, program_id)


@router.get("/me", response_model=Me)
async def me(
    uow: UoW, principal: program_staff.AnyRole, reader: Annotated[program_staff.ProgramStaffReader, Depends(staff)]
) -> Me:
    """Who the caller is here: its participant id, roles, the programs it runs and sponsors, its pairs."""
    common, _ = await program_staff.me(principal, reader)
    # One query by the caller's ids in every program this service knows (ADR 0011).
    pairs = await handlers.my_pairs(uow, await program_staff.my_ids(principal, reader)) if common.participant_id else []
    return Me(**common.model_dump(), pairs=pairs)
