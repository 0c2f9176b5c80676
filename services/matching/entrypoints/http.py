"""Matching's HTTP API under /matching/v1."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.matching.domain import rounds
from services.matching.domain.pairs import Answer, Pair, PairStatus
from services.matching.service_layer import handlers
from services.matching.service_layer.staff import LaunchedStaff
from services.matching.service_layer.unit_of_work import MatchingUnitOfWork
from shared import problems, program_staff
from shared.auth import AdminOrParticipant, Participant, Principal, Reader
from shared.clock import Clock
from shared.errors import Forbidden, NotFound
from shared.events import MATCHING_CRITERIA, AcceptanceMode, DeclineReason
from shared.http import provided
from shared.types import Identifier, Text

router = APIRouter(tags=["matching"])


async def unit_of_work(request: Request) -> MatchingUnitOfWork:
    return provided(request, unit_of_work)


Uow = Annotated[MatchingUnitOfWork, Depends(unit_of_work)]


async def clock(request: Request) -> Clock:
    """The wall clock; the composition root binds the runtime's (which a development process can move)."""
    return provided(request, clock, default=Clock)


Now = Annotated[Clock, Depends(clock)]


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
    round_id: str = Field(description="The round that proposed the pair, or `manual-…` for an admin's pair.")
    mentor_id: str
    mentee_id: str
    score: float
    breakdown: dict[str, float] = Field(description="Each criterion's weighted contribution to the score.")
    status: PairStatus = Field(description="proposed | active | dissolved | declined | expired | completed")
    origin: Literal["round", "manual"] = "round"
    acceptance_mode: AcceptanceMode = Field("immediate", description="How the pair was to start when proposed.")
    proposed_at: datetime | None = None
    expires_at: datetime | None = Field(None, description="When an unanswered proposal lapses.")
    mentor_answer: Answer | None = None
    mentee_answer: Answer | None = None
    dissolve_reason: str | None = None
    flags: list[FlagView] = Field(
        default_factory=list, description="Hard rules an HR update made this pair break, for an admin to decide."
    )

    @classmethod
    def of(cls, pair: Pair, reader: Principal | None = None) -> PairView:
        """The pair as `reader` may see it: a dissolution's reason is someone's words, so only the program's admins
        and the pair's members read it (issue #19); sponsors and auditors see that it was dissolved. No reader: an
        admin's own write."""
        fields = {f: getattr(pair, f) for f in cls.model_fields if f != "flags"}
        flags = [FlagView(rule=f.rule, reason=f.reason, flagged_at=f.flagged_at) for f in pair.flags]
        member = reader is not None and reader.id_among(pair.program_id, pair.mentor_id, pair.mentee_id) is not None
        if reader is not None and not (reader.acts_as_admin or member):
            fields["dissolve_reason"] = None
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
    awaiting_training: int = Field(
        description="Active candidates a round leaves out until they complete the training their program requires."
    )


class ProgramFollowed(BaseModel):
    """What matching knows of a program's settings (from enrolment's events): which version its rounds follow."""

    program_id: str
    settings_version: int = Field(description="1 is the launch; each ProgramSettingsChanged followed adds one.")
    acceptance_mode: AcceptanceMode
    proposal_ttl_hours: int
    optimize_for: str
    closed_at: datetime | None = Field(description="Once closed: no more rounds, previews or manual pairs.")


class MyPair(BaseModel):
    pair_id: str
    program_id: str
    my_participant_id: str = Field(description="The caller's id in this pair's program.")
    my_role: Literal["mentor", "mentee"]
    partner_participant_id: str


class Me(program_staff.Me):
    pairs: list[MyPair] = Field(description="The caller's active pairs, in every program.")


class MyProposal(BaseModel):
    pair_id: str
    program_id: str
    my_participant_id: str = Field(description="The caller's id in this pair's program.")
    my_role: Literal["mentor", "mentee"]
    partner_participant_id: str
    acceptance_mode: AcceptanceMode
    expires_at: datetime | None
    my_answer: Answer | None
    partner_answer: Answer | None

    @classmethod
    def of(cls, pair: Pair, participant_id: str) -> MyProposal:
        partner = pair.partner_of(participant_id)
        return cls(
            pair_id=pair.pair_id,
            program_id=pair.program_id,
            my_participant_id=participant_id,
            my_role=pair.role_of(participant_id),
            partner_participant_id=partner,
            acceptance_mode=pair.acceptance_mode,
            expires_at=pair.expires_at,
            my_answer=pair.answer_of(participant_id),
            partner_answer=pair.answer_of(partner),
        )


class Answered(BaseModel):
    pair: PairView
    started: bool = Field(description="Whether the pair is now active (the program's acceptance mode is met).")


class Decline(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason_code: DeclineReason = "other"
    reason: Annotated[str, Text(500)] = Field("", description="The decliner's own words: private, kept by matching.")


class Couple(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mentor_id: Identifier
    mentee_id: Identifier


class CoupleRuleView(BaseModel):
    program_id: str
    mentor_id: str
    mentee_id: str
    rule: Literal["pin", "exclude"]
    changed: bool = Field(description="False when the rule was already set (or already lifted): nothing happened.")


class Dissolve(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Text(500, min_length=1)]


@router.post("/programs/{program_id}/rounds/preview", response_model=rounds.Proposal)
async def preview(program_id: Identifier, uow: Uow, _: ProgramAdmin) -> rounds.Proposal:
    """Proposed pairs for the unmatched part of the pool; nothing is committed."""
    return await handlers.preview_round(uow, program_id)


@router.post("/programs/{program_id}/rounds", status_code=status.HTTP_201_CREATED, response_model=RoundCommitted)
async def commit(program_id: Identifier, uow: Uow, _: ProgramAdmin, now: Now) -> RoundCommitted:
    """Forms the round's pairs, or proposes them when the program asks its members to accept first."""
    done = await handlers.commit_round(uow, program_id, now.now())
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
    return PoolView(
        program_id=program_id,
        active=counts.get("active", 0),
        withdrawn=counts.get("withdrawn", 0),
        awaiting_training=counts.get("awaiting_training", 0),
    )


@router.get("/programs/{program_id}/settings", response_model=ProgramFollowed)
async def program_followed(program_id: Identifier, uow: Uow, _: ProgramOverseer) -> ProgramFollowed:
    state = await handlers.pool_state(uow, program_id)
    if state.program is None:
        raise NotFound(f"matching knows no program {program_id} (yet)")
    return ProgramFollowed(
        program_id=program_id,
        settings_version=state.program.get("settings_version", 1),
        acceptance_mode=state.program.get("acceptance_mode", "immediate"),
        proposal_ttl_hours=state.program.get("proposal_ttl_hours", 168),
        optimize_for=state.program.get("optimize_for", "score"),
        closed_at=state.closed_at,
    )


@router.get("/programs/{program_id}/pairs", response_model=list[PairView])
async def list_pairs(
    program_id: Identifier, uow: Uow, reader: ProgramOverseer, status: PairStatus | None = None
) -> list[PairView]:
    return [PairView.of(p, reader) for p in await handlers.pairs_of_program(uow, program_id, status)]


@router.post(
    "/programs/{program_id}/pairs",
    status_code=status.HTTP_201_CREATED,
    response_model=PairView,
    responses={
        422: {
            "description": "The couple breaks hard rules: `errors` [{field, rule, message}], rule one of self, "
            "not_in_pool, role, grade, language, reporting_line, excluded, dissolved, already_paired, capacity, "
            "training (a required training module not completed)."
        }
    },
)
async def pair_manually(
    program_id: Identifier, body: Couple, request: Request, uow: Uow, _: ProgramAdmin
) -> PairView | JSONResponse:
    """An admin pairs a mentor and a mentee by hand: every hard rule of a round is checked, and the pair starts
    at once (origin `manual`)."""
    try:
        pair = await handlers.pair_manually(uow, program_id, body.mentor_id, body.mentee_id)
    except handlers.PairRulesBroken as broken:
        errors = [
            {"loc": ["body", b.field], "field": b.field, "rule": b.rule, "message": b.message, "msg": b.message}
            for b in broken.broken
        ]
        detail = "the couple breaks " + ", ".join(dict.fromkeys(b.rule for b in broken.broken))
        return problems.problem(request, 422, detail, type_=problems.PROBLEMS + "pair-rules-broken", errors=errors)
    return PairView.of(pair)


@router.get("/programs/{program_id}/proposals", response_model=list[PairView])
async def program_proposals(program_id: Identifier, uow: Uow, reader: ProgramOverseer) -> list[PairView]:
    """Every pair the program's rounds proposed, with its status and each member's answer (never the words of a
    decline)."""
    return [PairView.of(p, reader) for p in await handlers.proposals_of_program(uow, program_id)]


@router.get("/programs/{program_id}/couple-rules", response_model=list[CoupleRuleView])
async def couple_rules(program_id: Identifier, uow: Uow, _: ProgramOverseer) -> list[CoupleRuleView]:
    rules = await handlers.couple_rules_of(uow, program_id)
    return [CoupleRuleView(program_id=program_id, mentor_id=m, mentee_id=e, rule=r, changed=False) for m, e, r in rules]


async def _set_rule(uow: MatchingUnitOfWork, program_id: str, couple: Couple, rule: Literal["pin", "exclude"]):
    changed = await handlers.set_couple_rule(uow, program_id, couple.mentor_id, couple.mentee_id, rule)
    return CoupleRuleView(program_id=program_id, rule=rule, changed=changed, **couple.model_dump())


async def _lift_rule(uow: MatchingUnitOfWork, program_id: str, couple: Couple, rule: Literal["pin", "exclude"]):
    changed = await handlers.lift_couple_rule(uow, program_id, couple.mentor_id, couple.mentee_id, rule)
    return CoupleRuleView(program_id=program_id, rule=rule, changed=changed, **couple.model_dump())


@router.post("/programs/{program_id}/pins", status_code=status.HTTP_201_CREATED, response_model=CoupleRuleView)
async def pin(program_id: Identifier, body: Couple, uow: Uow, _: ProgramAdmin) -> CoupleRuleView:
    """The next rounds pair this couple whenever every hard rule allows it."""
    return await _set_rule(uow, program_id, body, "pin")


@router.post("/programs/{program_id}/exclusions", status_code=status.HTTP_201_CREATED, response_model=CoupleRuleView)
async def exclude(program_id: Identifier, body: Couple, uow: Uow, _: ProgramAdmin) -> CoupleRuleView:
    """No round, and no manual pair, pairs this couple."""
    return await _set_rule(uow, program_id, body, "exclude")


@router.delete("/programs/{program_id}/pins", response_model=CoupleRuleView)
async def unpin(program_id: Identifier, body: Couple, uow: Uow, _: ProgramAdmin) -> CoupleRuleView:
    return await _lift_rule(uow, program_id, body, "pin")


@router.delete("/programs/{program_id}/exclusions", response_model=CoupleRuleView)
async def unexclude(program_id: Identifier, body: Couple, uow: Uow, _: ProgramAdmin) -> CoupleRuleView:
    return await _lift_rule(uow, program_id, body, "exclude")


@router.delete("/programs/{program_id}/pins/{mentor_id}/{mentee_id}", response_model=CoupleRuleView)
async def unpin_by_path(
    program_id: Identifier, mentor_id: Identifier, mentee_id: Identifier, uow: Uow, _: ProgramAdmin
) -> CoupleRuleView:
    return await _lift_rule(uow, program_id, Couple(mentor_id=mentor_id, mentee_id=mentee_id), "pin")


@router.delete("/programs/{program_id}/exclusions/{mentor_id}/{mentee_id}", response_model=CoupleRuleView)
async def unexclude_by_path(
    program_id: Identifier, mentor_id: Identifier, mentee_id: Identifier, uow: Uow, _: ProgramAdmin
) -> CoupleRuleView:
    return await _lift_rule(uow, program_id, Couple(mentor_id=mentor_id, mentee_id=mentee_id), "exclude")


@router.get("/me/proposals", response_model=list[MyProposal])
async def my_proposals(uow: Uow, principal: Participant, staff: Staff) -> list[MyProposal]:
    """The caller's open proposals, in every program, with both members' answers so far."""
    ids = await program_staff.my_ids(principal, staff)  # its ids in every program known here (ADR 0011)
    return [MyProposal.of(p, _member(p, ids)) for p in await handlers.proposals_of(uow, ids)]


def _member(pair: Pair, ids: Collection[str]) -> str:
    """Which of the pair's members has one of `ids` (the caller's)."""
    return pair.mentor_id if pair.mentor_id in ids else pair.mentee_id


async def member_id(uow: Uow, pair_id: str, principal: Principal) -> str:
    """The caller's id in the pair: its id in the pair's program (ADR 0011). A caller who is no member gets its
    `subject`, which the answer then refuses as it refuses any non-member."""
    pair = await handlers.get_pair(uow, pair_id)
    return principal.id_among(pair.program_id, pair.mentor_id, pair.mentee_id) or principal.subject


@router.post("/proposals/{pair_id}/accept", response_model=Answered)
async def accept(pair_id: Identifier, uow: Uow, principal: Participant, now: Now) -> Answered:
    """A member accepts the proposal (again: nothing changes); the pair starts when the program's acceptance mode
    is met. 409 once the proposal expired, or was declined."""
    pair = await handlers.accept_proposal(uow, pair_id, await member_id(uow, pair_id, principal), now.now())
    return Answered(pair=PairView.of(pair), started=pair.status == "active")


@router.post("/proposals/{pair_id}/decline", response_model=Answered)
async def decline(pair_id: Identifier, body: Decline, uow: Uow, principal: Participant, now: Now) -> Answered:
    """A member declines: both return to the pool and this couple is never proposed again. `reason` stays private
    to matching; the event carries `reason_code` only."""
    me = await member_id(uow, pair_id, principal)
    pair = await handlers.decline_proposal(uow, pair_id, me, body.reason_code, body.reason, now.now())
    return Answered(pair=PairView.of(pair), started=False)


@router.get("/pairs/{pair_id}", response_model=PairExplained)
async def get_pair(pair_id: Identifier, uow: Uow, principal: Reader, staff: Staff) -> PairExplained:
    """A pair's members, and those who oversee its program, read it."""
    pair = await handlers.get_pair(uow, pair_id)
    if not await program_staff.may_reach_pair(
        principal, "oversees", staff, pair.program_id, pair.mentor_id, pair.mentee_id
    ):
        raise Forbidden("only the pair's members and those overseeing its program read it")
    return PairExplained(**PairView.of(pair, principal).model_dump(), criteria=rounds.CRITERIA_EXPLAINED)


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
    ids = await program_staff.my_ids(principal, staff) if common.participant_id else frozenset()
    pairs = await handlers.active_pairs_of(uow, ids) if ids else []
    return Me(
        **common.model_dump(),
        pairs=[
            MyPair(
                pair_id=p.pair_id,
                program_id=p.program_id,
                my_participant_id=_member(p, ids),
                my_role="mentor" if p.mentor_id in ids else "mentee",
                partner_participant_id=p.mentee_id if p.mentor_id in ids else p.mentor_id,
            )
            for p in pairs
        ],
    )


assert set(MATCHING_CRITERIA) == set(rounds.CRITERIA_EXPLAINED), "every criterion needs an explanation"
