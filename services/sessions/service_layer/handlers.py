"""Sessions' use cases over a unit of work: decide from the pairs read model, keep the state and its event together.

Rules that hinge on a pair's own history take a per-pair lock instead (issue #15): the agreement's latest version
(two signatures at once must not both miss the other) and its end (both members asking at once complete it once)
are read under a transaction-scoped lock by their repositories, and a pair ends once (`pair_ends`' key).

**No optimistic-concurrency retry here.** Issue #12 keeps such a retry only where a rule needs it, and no sessions
rule reads the pair's stream: whether a session may be logged depends on the pair's status in the `pairs` read
model (which the projection writes, not this stream), feedback on membership only, and "one write per
Idempotency-Key" is enforced by the key's row (a concurrent retry waits on the first one's uncommitted claim). So
appends pass `expected_version=None`: the event store still serialises them, so both members logging at once land
one after the other (versions 1 and 2) and neither caller sees a ConcurrencyError.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal, TypeVar

from pydantic import BaseModel, Field

from services.sessions.domain import model
from services.sessions.domain.commands import GiveFeedback, LogSession, Reflect, WriteAgreement
from services.sessions.service_layer.unit_of_work import SessionsUnitOfWork
from shared.auth import ProgramStaff
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.events import BreakGlassUsed, Confidentiality, FeedbackGiven, LearningDirection
from shared.http import EventLogPosition
from shared.keys import pair_subject
from shared.sealing import SEALED

log = logging.getLogger(__name__)

Answer = TypeVar("Answer", bound=BaseModel)


class SessionView(BaseModel):
    """A session: what SessionHeld published, plus the private notes for the pair's members (issue #19)."""

    session_id: str
    pair_id: str
    held_on: date
    minutes: int
    topics: list[str]
    learning_direction: LearningDirection
    notes: str | None = Field(description="The private notes: members only (null for anyone else).")
    has_notes: bool = Field(description="Whether the session has notes, for those who may not read them.")
    logged_by: str
    logged_at: datetime
    goals_advanced: list[str] = []

    @classmethod
    def of(cls, session: model.SessionRecord, with_words: bool = True) -> SessionView:
        fields = session.__dict__ | {"has_notes": bool(session.notes)}
        return cls(**fields | ({} if with_words else {"notes": None}))


class SessionLogged(BaseModel):
    """The answer to logging a session; kept under its Idempotency-Key and given again to a retry."""

    session: SessionView
    event_log: EventLogPosition


class FeedbackRecorded(BaseModel):
    """The answer to giving feedback; kept under its Idempotency-Key like `SessionLogged`."""

    feedback: FeedbackGiven
    event_log: EventLogPosition


@dataclass(frozen=True)
class Viewer:
    """Who reaches a pair: its members always; anyone else when `reaches_program` accepts the staff of the pair's
    program (None: a program not known here yet). `is_staff` says whether the caller may look at others' pairs at
    all (an admin or an auditor)."""

    subject: str
    reaches_program: Callable[[ProgramStaff | None], bool]
    is_staff: bool
    # The caller's participant ids in a program (Principal.ids_in: per program, or the legacy id; ADR 0011);
    # None: `subject` is its only id (a token naming its participant id in `sub`).
    ids_in: Callable[[str], Collection[str]] | None = None

    def member_of(self, pair: model.Pair) -> str | None:
        """The caller's id in `pair` when it is one of its members, else None."""
        mine = self.ids_in(pair.program_id) if self.ids_in else (self.subject,)
        return next((m for m in (pair.mentor_id, pair.mentee_id) if m in mine), None)


class MyPair(BaseModel):
    pair_id: str
    program_id: str
    status: str
    my_participant_id: str = Field(description="The caller's id in this pair's program.")
    partner_participant_id: str
    sessions: int


# A program whose launch has not reached sessions yet has no cadence here: feedback then counts fortnights.
FALLBACK_CADENCE_DAYS = 14


class GoalView(BaseModel):
    goal_id: str
    direction: model.GoalDirection
    text: str | None = Field(description="The goal's words: members only (null for staff).")
    written_by: str


class GoalProgress(BaseModel):
    goal_id: str
    direction: model.GoalDirection
    sessions: int = Field(description="Sessions that named this goal as advanced.")
    last_advanced_on: date | None


class AgreementView(BaseModel):
    """The pair's latest version (words for members only) and the version in force, with progress per goal."""

    pair_id: str
    version: int = Field(description="The latest version (0: none written yet).")
    status: Literal["none", "awaiting_signatures", "in_force"]
    goals: list[GoalView]
    cadence_days: int | None
    duration_weeks: int | None
    confidentiality: Confidentiality | None
    confidentiality_note: str | None = Field(description="Members only (null for staff).")
    signed_by: list[str]
    in_force_version: int | None
    ends_on: date | None
    progress: list[GoalProgress]

    @classmethod
    def of(
        cls,
        pair_id: str,
        latest: model.Agreement | None,
        in_force: model.Agreement | None,
        sessions: list[model.SessionRecord],
        with_words: bool,
    ) -> AgreementView:
        goals = {g.goal_id: g for a in (in_force, latest) if a for g in a.goals}  # the latest's words win
        return cls(
            pair_id=pair_id,
            version=latest.version if latest else 0,
            status="none" if latest is None else "in_force" if latest.in_force else "awaiting_signatures",
            goals=[
                GoalView(
                    goal_id=g.goal_id,
                    direction=g.direction,
                    text=g.text if with_words else None,
                    written_by=g.written_by,
                )
                for g in (latest.goals if latest else ())
            ],
            cadence_days=latest.cadence_days if latest else None,
            duration_weeks=latest.duration_weeks if latest else None,
            confidentiality=latest.confidentiality if latest else None,
            confidentiality_note=latest.confidentiality_note if latest and with_words else None,
            signed_by=list(latest.signed_by) if latest else [],
            in_force_version=in_force.version if in_force else None,
            ends_on=in_force.ends_on if in_force else None,
            progress=[
                GoalProgress(
                    goal_id=g.goal_id,
                    direction=g.direction,
                    sessions=len(advanced := [s.held_on for s in sessions if g.goal_id in s.goals_advanced]),
                    last_advanced_on=max(advanced, default=None),
                )
                for g in goals.values()
            ],
        )


class AgreementChanged(BaseModel):
    agreement: AgreementView
    event_log: EventLogPosition | None = Field(description="Null when nothing changed (a repeated signature).")


class ReflectionView(BaseModel):
    participant_id: str
    side: Literal["mentor", "mentee"]
    learned: str | None = Field(description="Members only (null for staff).")
    changed: str | None = Field(description="Members only (null for staff).")
    would_recommend: bool


class CompletionView(BaseModel):
    pair_id: str
    status: str
    completed_by: str | None
    completed_on: date | None
    ends_on: date | None = Field(description="When the pair ends by itself, while it runs (null: not known yet).")
    requested_by: list[str]
    reflections: list[ReflectionView]


class CompletionAnswer(BaseModel):
    completion: CompletionView
    event_log: EventLogPosition


class StoryChoice(BaseModel):
    pair_id: str
    participant_id: str
    share: bool
    event_log: EventLogPosition | None = Field(description="Null when nothing was published (a withdrawal, a repeat).")


class StoryTeller(BaseModel):
    participant_id: str
    side: Literal["mentor", "mentee"]
    learned: str
    changed: str


class StoryView(BaseModel):
    """A completed pair whose two members both shared their closing reflections."""

    pair_id: str
    mentor: StoryTeller
    mentee: StoryTeller


class LeadersChangedView(BaseModel):
    """What leaders (the mentees) who shared their reflections said they changed, without who said it."""

    program_id: str
    suppressed: bool = Field(description=f"True when fewer than {model.SMALL_GROUP} leaders said something.")
    small_group: int = Field(model.SMALL_GROUP, description="Fewer statements than this are not shown.")
    changed: list[str] = Field(description="Empty when suppressed; in no order that tells who said what.")


# ------------------------------------------------------------------------------------------------------ writes


async def log_session(
    uow: SessionsUnitOfWork,
    pair_id: str,
    command: LogSession,
    logged_by: str,
    idempotency_key: str | None,
    key_ttl: timedelta,
    now: datetime | None = None,
) -> SessionLogged:
    """Record a session once. A retry with the same Idempotency-Key (per caller) gets the first answer back;
    the same key with a different request is a Conflict."""
    request = KeyedWrite("session", pair_id, command, logged_by, idempotency_key, key_ttl)
    async with uow:
        if (earlier := await request.earlier_answer(uow, SessionLogged)) is not None:
            return earlier
        pair = await _pair(uow, pair_id)
        in_force = await uow.agreements.in_force(pair_id) if command.goals_advanced else None
        session = model.log_session(pair, in_force, command, logged_by, now or datetime.now(UTC))
        kept = model.SessionRecord.of(session, command.notes)
        await uow.sessions.add(kept)
        result = await uow.append(pair.stream_id, None, [session])
        return await request.remember(
            uow, SessionLogged(session=SessionView.of(kept), event_log=EventLogPosition.of(result))
        )


async def give_feedback(
    uow: SessionsUnitOfWork,
    pair_id: str,
    command: GiveFeedback,
    member: str,
    idempotency_key: str | None,
    key_ttl: timedelta,
    now: datetime | None = None,
) -> FeedbackRecorded:
    """Record a member's feedback once per Idempotency-Key, as `log_session` does for sessions; one per member per
    cadence period of the pair (the agreed cadence once in force, else the program's)."""
    request = KeyedWrite("feedback", pair_id, command, member, idempotency_key, key_ttl)
    now = now or datetime.now(UTC)
    async with uow:
        if (earlier := await request.earlier_answer(uow, FeedbackRecorded)) is not None:
            return earlier
        pair = await _pair(uow, pair_id)
        last = await uow.feedback.last_given_at(pair_id, member)
        cadence = await _cadence_days(uow, pair)
        feedback = model.give_feedback(pair, command, member, cadence_days=cadence, last_given_at=last, now=now)
        await uow.feedback.add(feedback, now)
        result = await uow.append(pair.stream_id, None, [feedback])
        return await request.remember(uow, FeedbackRecorded(feedback=feedback, event_log=EventLogPosition.of(result)))


async def write_agreement(
    uow: SessionsUnitOfWork, pair_id: str, command: WriteAgreement, writer: str, now: datetime
) -> AgreementChanged:
    """A member writes the pair's next agreement version (AgreementProposed); the words stay in sessions' tables."""
    async with uow:
        pair = await _pair(uow, pair_id)
        latest = await uow.agreements.latest(pair_id)
        guidelines = await uow.programs.get(pair.program_id)
        agreement, proposed = model.write_agreement(pair, guidelines, latest, command, writer, now)
        await uow.agreements.save(agreement)
        result = await uow.append(pair.stream_id, None, [proposed])
        return AgreementChanged(agreement=await _agreement(uow, pair, True), event_log=EventLogPosition.of(result))


async def sign_agreement(uow: SessionsUnitOfWork, pair_id: str, version: int, member: str) -> AgreementChanged:
    """A member signs the latest version; the second signature puts it in force (AgreementInForce)."""
    async with uow:
        pair = await _pair(uow, pair_id)
        signed, events = model.sign_agreement(pair, await uow.agreements.latest(pair_id), version, member)
        position = None
        if events:
            await uow.agreements.save(signed)
            position = EventLogPosition.of(await uow.append(pair.stream_id, None, list(events)))
        return AgreementChanged(agreement=await _agreement(uow, pair, True), event_log=position)


async def complete(
    uow: SessionsUnitOfWork, pair_id: str, command: Reflect | None, caller: Viewer, now: datetime
) -> CompletionAnswer:
    """A member's reflection and request to complete (both asking completes the pair), or an admin of the
    program completing it at once. Members may still reflect after the pair ended."""
    async with uow:
        pair = await _pair(uow, pair_id)
        was_running = pair.status == "active"
        reflections = await uow.reflections.of_pair(pair_id)
        if (member := caller.member_of(pair)) is not None:
            if command is None or command.would_recommend is None:
                raise Invalid("would_recommend", "a member completes with a reflection: would_recommend is required")
            reflection, pair, events = model.reflect(
                pair,
                command,
                member,
                reflected_before=any(r.participant_id == member for r in reflections),
                requested_by={r.participant_id for r in reflections if r.requested_completion},
                now=now,
            )
            await uow.reflections.add(reflection)
        elif caller.reaches_program(await uow.program_staff.get(pair.program_id)):
            pair, done = model.completed(pair, "admin", now.date())
            events = [done]
        else:
            raise Forbidden(f"{caller.subject} is neither a member of pair {pair_id} nor an admin of its program")
        if was_running and pair.status == "completed" and not await uow.pairs.complete(pair):
            raise Conflict(f"pair {pair_id} has already completed")
        result = await uow.append(pair.stream_id, None, list(events))
        view = await _completion(uow, pair, with_words=True)
        return CompletionAnswer(completion=view, event_log=EventLogPosition.of(result))


async def share_story(uow: SessionsUnitOfWork, pair_id: str, share: bool, member: str, now: datetime) -> StoryChoice:
    """A member of a completed pair opts in (StoryShared) or withdraws (StoryWithdrawn) its story."""
    async with uow:
        pair = await _pair(uow, pair_id)
        mine = [r for r in await uow.reflections.of_pair(pair_id) if r.participant_id == member]
        earlier = await uow.stories.get(pair_id, member)
        choice, shared = model.opt_into_story(pair, member, share, mine[0] if mine else None, earlier, now)
        await uow.stories.save(choice)
        position = EventLogPosition.of(await uow.append(pair.stream_id, None, [shared])) if shared else None
        return StoryChoice(pair_id=pair_id, participant_id=member, share=share, event_log=position)


async def stories_of(uow: SessionsUnitOfWork, program_id: str) -> list[StoryView]:
    """The program's stories: pairs whose two members both share, with both reflections (the route checks that
    the caller administers the program)."""
    async with uow:
        pairs, shared = await uow.stories.shared_in_program(program_id)
    return [
        StoryView(pair_id=s.pair_id, mentor=_teller(s.mentor), mentee=_teller(s.mentee))
        for s in model.stories(pairs, shared)
    ]


async def leaders_changed(uow: SessionsUnitOfWork, program_id: str) -> LeadersChangedView:
    async with uow:
        _, shared = await uow.stories.shared_in_program(program_id)
    said = model.leaders_changed(shared)
    return LeadersChangedView(program_id=program_id, suppressed=said is None, changed=said or [])


def _teller(reflection: model.Reflection) -> StoryTeller:
    return StoryTeller(
        participant_id=reflection.participant_id,
        side=reflection.side,
        learned=reflection.learned,
        changed=reflection.changed,
    )


# What an erased person's words read as: the erased value of the one sealed text sessions publishes (FeedbackGiven's
# `learned`, shared/sealing.py), for the texts it never publishes too.
ERASED_TEXT: str = SEALED[FeedbackGiven.type_name].erased["learned"]


async def forget_words_of(uow: SessionsUnitOfWork, program_id: str, participant_id: str) -> None:
    """ParticipantErased: what the person wrote in the program's pairs (session notes they logged, what their
    feedback says they learned, their closing reflection, the goals and confidentiality notes they wrote) reads
    blank, and their Idempotency-Keys' stored answers, which repeat those words, go. The words about their pairs
    (the topics of every session) go too, with the pairs' keys, which sealed them in the log. Ratings, dates and
    answers stay: figures keep their counts."""
    async with uow:
        for words in (uow.sessions, uow.feedback, uow.reflections, uow.agreements):
            await words.blank_written_by(program_id, participant_id, ERASED_TEXT)
        await uow.idempotency_keys.forget_caller(participant_id)
        pairs = [p for p in await uow.pairs.of_participant([participant_id]) if p.program_id == program_id]
        await uow.destroy_keys([pair_subject(program_id, p.pair_id) for p in pairs])


async def complete_due_pairs(unit_of_work: Callable[[], SessionsUnitOfWork], now: datetime) -> int:
    """The schedule: every running pair whose end day has come completes (completed_by=schedule, on that day).
    One read finds the due pairs; each then ends in a transaction of its own, deciding again from what it reads
    there. Idempotent: a completed pair is no longer running, and `pairs.complete` refuses a second end."""
    async with (uow := unit_of_work()):
        due = [pair.pair_id for pair in await uow.pairs.running() if await _end_has_come(uow, pair, now)]
    completed = 0
    for pair_id in due:
        async with (uow := unit_of_work()):
            pair = await uow.pairs.get(pair_id)
            if pair is None or pair.status != "active" or (ends_on := await _end_has_come(uow, pair, now)) is None:
                continue
            pair, done = model.completed(pair, "schedule", ends_on)
            if await uow.pairs.complete(pair):
                await uow.append(pair.stream_id, None, [done])
                completed += 1
    return completed


async def _end_has_come(uow: SessionsUnitOfWork, pair: model.Pair, now: datetime) -> date | None:
    """The pair's end day if it is today or past, else None."""
    in_force = await uow.agreements.in_force(pair.pair_id)
    ends_on = model.due_to_end(pair, in_force, await uow.programs.get(pair.program_id))
    return ends_on if ends_on is not None and ends_on <= now.date() else None


@dataclass(frozen=True)
class KeyedWrite:
    """A write as its Idempotency-Key sees it: what was asked (the fingerprint), by whom, under which key.

    The key is claimed in the unit of work that does the work, so a rolled-back attempt leaves no key behind,
    and a concurrent retry (PostgreSQL) waits for the first attempt and then reads its answer. Keys older than
    `ttl` are forgotten: a retry after that is a new request."""

    action: str
    pair_id: str
    command: BaseModel
    caller: str
    key: str | None
    ttl: timedelta

    def fingerprint(self) -> str:
        return hashlib.sha256(f"{self.action}|{self.pair_id}|{self.command.model_dump_json()}".encode()).hexdigest()

    async def earlier_answer(self, uow: SessionsUnitOfWork, answer_type: type[Answer]) -> Answer | None:
        """None when there is no key or it is new (now claimed); the first answer when the same caller sent the
        same request under it before; a Conflict when the key was used for a different request."""
        if not self.key:
            return None
        earlier = await uow.idempotency_keys.claim(self.caller, self.key, self.fingerprint(), self.ttl)
        if earlier is None:
            return None
        if earlier[0] != self.fingerprint():
            raise Conflict("this Idempotency-Key was used for a different request")
        return answer_type.model_validate(earlier[1])

    async def remember(self, uow: SessionsUnitOfWork, answer: Answer) -> Answer:
        if self.key:
            await uow.idempotency_keys.remember(self.caller, self.key, answer.model_dump(mode="json"))
        return answer


# ------------------------------------------------------------------------------------------------------- reads


async def readable_pair(uow: SessionsUnitOfWork, pair_id: str, viewer: Viewer) -> model.Pair:
    """The pair, if the viewer may see it."""
    async with uow:
        return await _reachable(uow, await _pair(uow, pair_id), viewer)


async def sessions_of(
    uow: SessionsUnitOfWork, pair_id: str, viewer: Viewer, ticket: str | None = None
) -> list[SessionView]:
    """The pair's sessions by the day they were held; the private notes for its members only (issue #19)."""
    async with uow:
        pair = await _reachable(uow, await _pair(uow, pair_id), viewer)
        with_words = await _words_for(uow, pair, viewer, "sessions", ticket)
        return [SessionView.of(s, with_words) for s in await uow.sessions.of_pair(pair_id)]


async def _words_for(
    uow: SessionsUnitOfWork,
    pair: model.Pair,
    viewer: Viewer,
    record: Literal["sessions", "agreement", "completion"],
    ticket: str | None,
) -> bool:
    """Whether the viewer reads the pair's words: its members do; an auditor breaking the glass under a ticket
    (shared/break_glass.py checked the roles) does too, and the read is logged first, in this transaction."""
    if viewer.member_of(pair) is not None:
        return True
    if ticket is None:
        return False
    used = BreakGlassUsed(
        reader_id=viewer.subject, program_id=pair.program_id, pair_id=pair.pair_id, record=record, ticket=ticket
    )
    await uow.append(pair.stream_id, None, [used])
    log.warning("break-glass read of pair %s (%s) under ticket %s", pair.pair_id, record, ticket)
    return True


async def pairs_of(uow: SessionsUnitOfWork, participant_id: str, viewer: Viewer) -> list[model.Pair]:
    """A participant's own pairs; to staff, that participant's pairs in the programs the viewer reaches. Whether
    `participant_id` is the caller's shows in its pairs' programs (an id belongs to one program, ADR 0011)."""
    async with uow:
        pairs = await uow.pairs.of_participant([participant_id])
        if participant_id == viewer.subject or (pairs and all(viewer.member_of(p) == participant_id for p in pairs)):
            return pairs
        if not viewer.is_staff:
            raise Forbidden("a participant sees only its own pairs")
        staff = {program: await uow.program_staff.get(program) for program in {p.program_id for p in pairs}}
        return [p for p in pairs if viewer.reaches_program(staff[p.program_id])]


async def my_pairs(uow: SessionsUnitOfWork, participant_ids: Collection[str]) -> list[MyPair]:
    """The participant's pairs, found by all their ids (one per program, ADR 0011), each with how many sessions it
    logged."""
    async with uow:
        return [
            MyPair(
                pair_id=p.pair_id,
                program_id=p.program_id,
                status=p.status,
                my_participant_id=p.mentor_id if p.mentor_id in participant_ids else p.mentee_id,
                partner_participant_id=p.mentee_id if p.mentor_id in participant_ids else p.mentor_id,
                sessions=len(await uow.sessions.of_pair(p.pair_id)),
            )
            for p in await uow.pairs.of_participant(participant_ids)
        ]


async def pair(uow: SessionsUnitOfWork, pair_id: str) -> model.Pair:
    """The pair, unchecked: a write's route finds the caller's id in it, the write then checks the caller."""
    async with uow:
        return await _pair(uow, pair_id)


async def agreement_of(
    uow: SessionsUnitOfWork, pair_id: str, viewer: Viewer, ticket: str | None = None
) -> AgreementView:
    """The agreement: its words to the pair's members; to staff, its status, ids, counts and dates only."""
    async with uow:
        pair = await _reachable(uow, await _pair(uow, pair_id), viewer)
        return await _agreement(uow, pair, with_words=await _words_for(uow, pair, viewer, "agreement", ticket))


async def completion_of(
    uow: SessionsUnitOfWork, pair_id: str, viewer: Viewer, ticket: str | None = None
) -> CompletionView:
    """Requests and reflections: a member sees both members' words; staff see would_recommend only."""
    async with uow:
        pair = await _reachable(uow, await _pair(uow, pair_id), viewer)
        return await _completion(uow, pair, with_words=await _words_for(uow, pair, viewer, "completion", ticket))


async def _agreement(uow: SessionsUnitOfWork, pair: model.Pair, with_words: bool) -> AgreementView:
    latest = await uow.agreements.latest(pair.pair_id)
    in_force = await uow.agreements.in_force(pair.pair_id)
    sessions = await uow.sessions.of_pair(pair.pair_id)
    return AgreementView.of(pair.pair_id, latest, in_force, sessions, with_words)


async def _completion(uow: SessionsUnitOfWork, pair: model.Pair, with_words: bool) -> CompletionView:
    reflections = await uow.reflections.of_pair(pair.pair_id)
    ends_on = None
    if pair.status == "active":
        in_force = await uow.agreements.in_force(pair.pair_id)
        ends_on = model.due_to_end(pair, in_force, await uow.programs.get(pair.program_id))
    return CompletionView(
        pair_id=pair.pair_id,
        status=pair.status,
        completed_by=pair.completed_by,
        completed_on=pair.completed_on,
        ends_on=ends_on,
        requested_by=[r.participant_id for r in reflections if r.requested_completion],
        reflections=[
            ReflectionView(
                participant_id=r.participant_id,
                side=r.side,
                learned=r.learned if with_words else None,
                changed=r.changed if with_words else None,
                would_recommend=r.would_recommend,
            )
            for r in reflections
        ],
    )


async def _cadence_days(uow: SessionsUnitOfWork, pair: model.Pair) -> int:
    if (in_force := await uow.agreements.in_force(pair.pair_id)) is not None:
        return in_force.cadence_days
    if (guidelines := await uow.programs.get(pair.program_id)) is not None:
        return guidelines.cadence_days
    return FALLBACK_CADENCE_DAYS


async def _pair(uow: SessionsUnitOfWork, pair_id: str) -> model.Pair:
    found = await uow.pairs.get(pair_id)
    if found is None:
        raise NotFound(f"no pair {pair_id} (matching may not have announced it yet)")
    return found


async def _reachable(uow: SessionsUnitOfWork, pair: model.Pair, viewer: Viewer) -> model.Pair:
    if viewer.member_of(pair) is not None or viewer.reaches_program(await uow.program_staff.get(pair.program_id)):
        return pair
    raise Forbidden(f"{viewer.subject} is neither a member of pair {pair.pair_id} nor staff of its program")
