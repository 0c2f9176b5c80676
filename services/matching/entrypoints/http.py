"""Matching's HTTP API under /matching/v1."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field

from services.matching.domain import rounds
from services.matching.domain.pairs import Pair
from services.matching.service_layer import handlers
from services.matching.service_layer.staff import LaunchedStaff
from services.matching.service_layer.unit_of_work import MatchingUnitOfWork
from shared import program_staff
from shared.auth import AdminOrParticipant, Principal, Reader
from shared.errors import Forbidden
from shared.events import MATCHING_CRITERIA
from shared.types import Identifier, Text

router = APIRouter(tags=["matching"])


def unit_of_work() -> MatchingUnitOfWork:
    raise NotImplementedError("bound by the composition root")


Uow = Annotated[MatchingUnitOfWork, Depends(unit_of_work)]


def staff(uow: Uow) -> program_staff.ProgramStaffReader:
    return LaunchedStaff(uow)


Staff = Annotated[program_staff.ProgramStaffReader, Depends(staff)]
# Per program (issue #14): rounds are run by the program's admins; the pool and pair lists are read by those who
# oversee it (its admins, its executive sponsors, auditors).
ProgramAdmin = Annotated[Principal, Depends(program_staff.program_role("administers", staff))]
ProgramOverseer = Annotated[Principal, Depends(program_staff.program_role("oversees", staff))]


class FlagView(BaseModel):
    rule: str = Field(description="The hard rule the pair now breaks: `reporting_line` or `grade`.")
    reason: str
    flagged_at: datetime


class PairView(BaseModel):
    pair_id: str
    program_id: str
    round_id: str
    mentor_id: str
    mentee_id: str
    score: float
    breakdown: dict[str, float] = Field(description="Each criterion's weighted contribution to the score.")
    status: Literal["active", "dissolved"]
    dissolve_reason: str | None = None
    flags: list[FlagView] = Field(
        default_factory=list, description="Hard rules an HR update made this pair break, for an admin to decide."
    )

    @classmethod
    def of(cls, pair: Pair) -> PairView:
        fields = {f: getattr(pair, f) for f in cls.model_fields if f != "flags"}
        flags = [FlagView(rule=f.rule, reason=f.reason, flagged_at=f.flagged_at) for f in pair.flags]
        return cls(**fields, flags=flags)


class PairExplained(PairView):
    criteria: dict[str, str] = Field(description="What each criterion of the breakdown measures.")


class RoundCommitted(BaseModel):
    round_id: str
    pairs: list[PairView]
    unmatched: list[rounds.UnmatchedView]
    total_score: float
    engine_version: str
    inputs_hash: str
    last_position: int | None = Field(description="Event-store position of the round's last PairFormed.")


class PoolView(BaseModel):
    program_id: str
    active: int
    withdrawn: int


class MyPair(BaseModel):
    pair_id: str
    program_id: str
    my_role: Literal["mentor", "mentee"]
    partner_participant_id: str


class Me(program_staff.Me):
    pairs: list[MyPair] = Field(description="The caller's active pairs, in every program.")


class Dissolve(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Text(500, min_length=1)]


@router.post("/programs/{program_id}/rounds/preview", response_model=rounds.Proposal)
async def preview(program_id: Identifier, uow: Uow, _: ProgramAdmin) -> rounds.Proposal:
    """Proposed pairs for the unmatched part of the pool; nothing is committed."""
    return await handlers.preview_round(uow, program_id)


@router.post("/programs/{program_id}/rounds", status_code=status.HTTP_201_CREATED, response_model=RoundCommitted)
async def commit(program_id: Identifier, uow: Uow, _: ProgramAdmin) -> RoundCommitted:
    done = await handlers.commit_round(uow, program_id)
    return RoundCommitted(
        round_id=done.round_id,
        pairs=[PairView.of(p) for p in done.pairs],
        unmatched=done.proposal.unmatched,
        total_score=done.proposal.total_score,
        engine_version=done.proposal.engine_version,
        inputs_hash=done.proposal.inputs_hash,
        last_position=done.last_position,
    )


@router.get("/programs/{program_id}/pool", response_model=PoolView)
async def pool(program_id: Identifier, uow: Uow, _: ProgramOverseer) -> PoolView:
    counts = await handlers.pool_counts(uow, program_id)
    return PoolView(program_id=program_id, active=counts.get("active", 0), withdrawn=counts.get("withdrawn", 0))


@router.get("/programs/{program_id}/pairs", response_model=list[PairView])
async def list_pairs(
    program_id: Identifier, uow: Uow, _: ProgramOverseer, status: Literal["active", "dissolved"] | None = None
) -> list[PairView]:
    return [PairView.of(p) for p in await handlers.pairs_of_program(uow, program_id, status)]


@router.get("/pairs/{pair_id}", response_model=PairExplained)
async def get_pair(pair_id: Identifier, uow: Uow, principal: Reader, staff: Staff) -> PairExplained:
    """A pair's members, and those who oversee its program, read it."""
    pair = await handlers.get_pair(uow, pair_id)
    if not await program_staff.may_reach_pair(
        principal, "oversees", staff, pair.program_id, pair.mentor_id, pair.mentee_id
    ):
        raise Forbidden("only the pair's members and those overseeing its program read it")
    return PairExplained(**PairView.of(pair).model_dump(), criteria=rounds.CRITERIA_EXPLAINED)


@router.post("/pairs/{pair_id}/dissolve", response_model=PairView)
async def dissolve(
    pair_id: Identifier, body: Dissolve, uow: Uow, principal: AdminOrParticipant, staff: Staff
) -> PairView:
    """A member ends its own pair; an admin of the pair's program ends any of its pairs."""
    pair = await handlers.get_pair(uow, pair_id)
    if not await program_staff.may_reach_pair(
        principal, "administers", staff, pair.program_id, pair.mentor_id, pair.mentee_id
    ):
        raise Forbidden("only the pair's members and the admins of its program dissolve it")
    pair, _ = await handlers.dissolve_pair(uow, pair_id, body.reason)
    return PairView.of(pair)


@router.get("/me", response_model=Me)
async def me(uow: Uow, principal: program_staff.AnyRole, staff: Staff) -> Me:
    """Who the caller is here: its participant id, roles, the programs it runs and sponsors, its active pairs."""
    common, _ = await program_staff.me(principal, staff)
    pairs = await handlers.active_pairs_of(uow, principal.subject) if common.participant_id else []
    return Me(
        **common.model_dump(),
        pairs=[
            MyPair(
                pair_id=p.pair_id,
                program_id=p.program_id,
                my_role="mentor" if p.mentor_id == principal.subject else "mentee",
                partner_participant_id=p.mentee_id if p.mentor_id == principal.subject else p.mentor_id,
            )
            for p in pairs
        ],
    )


assert set(MATCHING_CRITERIA) == set(rounds.CRITERIA_EXPLAINED), "every criterion needs an explanation"
