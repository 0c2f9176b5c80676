"""Sessions' rules, free of I/O: a pair's two-way agreement (both sign each version), sessions that advance its
goals, feedback once per period, and the pair's end (both members, an admin, or the clock)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Literal

from services.sessions.domain.commands import GiveFeedback, LogSession, Reflect, WriteAgreement
from shared.errors import Conflict, Forbidden, Invalid
from shared.events import (
    AgreedGoal,
    AgreementInForce,
    AgreementProposed,
    AgreementSigned,
    CompletedBy,
    CompletionRequested,
    Confidentiality,
    FeedbackGiven,
    LearningDirection,
    PairCompleted,
    ReflectionRecorded,
    SessionHeld,
    StoryShared,
    StoryWithdrawn,
)

GoalDirection = Literal["mentor_to_mentee", "mentee_to_mentor"]


@dataclass(frozen=True)
class Pair:
    """A pair as matching announced it, and when (the events' times); `completed` is sessions' own decision."""

    pair_id: str
    program_id: str
    mentor_id: str
    mentee_id: str
    status: Literal["active", "dissolved", "completed"] = "active"
    formed_at: datetime | None = None
    dissolved_at: datetime | None = None
    completed_by: CompletedBy | None = None
    completed_on: date | None = None

    @property
    def stream_id(self) -> str:
        # One stream per pair keeps a pair's sessions and feedback in order on one partition.
        return f"pair-sessions-{self.pair_id}"

    @property
    def started_on(self) -> date | None:
        """The day the pair started: PairFormed's time (after both accepted, when the program asks them to)."""
        return self.formed_at.date() if self.formed_at else None

    def has_member(self, participant_id: str) -> bool:
        return participant_id in (self.mentor_id, self.mentee_id)

    def side_of(self, participant_id: str) -> Literal["mentor", "mentee"]:
        if participant_id == self.mentor_id:
            return "mentor"
        if participant_id == self.mentee_id:
            return "mentee"
        raise Forbidden(f"{participant_id} is not a member of pair {self.pair_id}")

    def must_be_running(self, what: str) -> None:
        if self.status != "active":
            raise Conflict(f"pair {self.pair_id} is {self.status}: {what}")


@dataclass(frozen=True)
class ProgramGuidelines:
    """What the program suggests every pair: how often to meet and for how long (ProgramLaunched/SettingsChanged)."""

    program_id: str
    cadence_days: int
    duration_weeks: int
    settings_version: int = 1


@dataclass(frozen=True)
class Goal:
    goal_id: str
    direction: GoalDirection
    text: str
    written_by: str


@dataclass(frozen=True)
class Agreement:
    """One version of a pair's agreement. `in_force_on`/`ends_on` are set once both members signed it."""

    pair_id: str
    version: int
    proposed_by: str
    proposed_at: datetime
    goals: tuple[Goal, ...]
    cadence_days: int
    duration_weeks: int
    confidentiality: Confidentiality
    confidentiality_note: str
    signed_by: tuple[str, ...] = ()
    ends_on: date | None = None

    @property
    def in_force(self) -> bool:
        return self.ends_on is not None

    def goal_ids(self) -> set[str]:
        return {g.goal_id for g in self.goals}


@dataclass(frozen=True)
class Reflection:
    """A member's closing reflection; `learned` and `changed` stay here, never in an event."""

    pair_id: str
    participant_id: str
    side: Literal["mentor", "mentee"]
    learned: str
    changed: str
    would_recommend: bool
    recorded_at: datetime
    requested_completion: bool = False  # given while the pair ran: also the member's request to complete it


@dataclass(frozen=True)
class SessionRecord:
    """A session as the sessions service keeps it: what SessionHeld published (but its program), and the pair's
    private notes, which are never published."""

    session_id: str
    pair_id: str
    held_on: date
    minutes: int
    topics: tuple[str, ...]
    learning_direction: LearningDirection
    notes: str
    logged_by: str
    logged_at: datetime
    goals_advanced: tuple[str, ...] = ()

    @classmethod
    def of(cls, session: SessionHeld, notes: str) -> SessionRecord:
        return cls(**session.model_dump(exclude={"program_id"}), notes=notes)


def log_session(
    pair: Pair, in_force: Agreement | None, command: LogSession, logged_by: str, now: datetime
) -> SessionHeld:
    """A running pair logs a meeting held since it started; the goals it names must be the agreement in force's."""
    pair.must_be_running("no new sessions")
    if pair.started_on is not None and command.held_on < pair.started_on:
        raise Invalid("held_on", f"held_on must not be before the pair started ({pair.started_on})")
    advanced = tuple(dict.fromkeys(command.goals_advanced))
    if advanced:
        if in_force is None:
            raise Invalid("goals_advanced", "the pair has no agreement in force: no goals to advance")
        if unknown := [g for g in advanced if g not in in_force.goal_ids()]:
            raise Invalid("goals_advanced", f"not goals of the agreement in force: {', '.join(unknown)}")
    return SessionHeld(
        program_id=pair.program_id,
        pair_id=pair.pair_id,
        session_id=f"ses-{uuid.uuid4().hex[:12]}",
        held_on=command.held_on,
        minutes=command.minutes,
        topics=tuple(dict.fromkeys(t for t in command.topics if t)),
        learning_direction=command.learning_direction,
        logged_by=logged_by,
        logged_at=now,
        goals_advanced=advanced,
    )


def feedback_period(pair: Pair, cadence_days: int, at: datetime) -> tuple[int, date]:
    """Which cadence period of the pair `at` falls in (0 is the first), and the day the next one starts."""
    start = pair.formed_at or at
    index = max(0, (at - start) // timedelta(days=cadence_days))
    return index, (start + timedelta(days=cadence_days * (index + 1))).date()


def give_feedback(
    pair: Pair,
    command: GiveFeedback,
    member: str,
    *,
    cadence_days: int,
    last_given_at: datetime | None,
    now: datetime,
) -> FeedbackGiven:
    """Feedback stays possible after a pair ends: how it ended is worth hearing. A member gives one per cadence
    period of the pair (the agreed cadence once in force, else the program's): unlimited feedback would let one
    member's repeated rating outweigh everyone else's in the program's averages."""
    side = pair.side_of(member)
    if last_given_at is not None:
        period, next_due = feedback_period(pair, cadence_days, now)
        if feedback_period(pair, cadence_days, last_given_at)[0] >= period:
            raise Conflict(
                f"feedback is one per member every {cadence_days} days of the pair: the next is due on {next_due}"
            )
    return FeedbackGiven(
        program_id=pair.program_id,
        pair_id=pair.pair_id,
        feedback_id=f"fbk-{uuid.uuid4().hex[:12]}",
        given_by=member,
        side=side,
        rating=command.rating,
        learned=command.learned,
        would_continue=command.would_continue,
    )


# ------------------------------------------------------------------------------------------------ the agreement


def write_agreement(
    pair: Pair,
    guidelines: ProgramGuidelines | None,
    latest: Agreement | None,
    command: WriteAgreement,
    writer: str,
    now: datetime,
) -> tuple[Agreement, AgreementProposed]:
    """A new version, signed by no one yet (not even its writer: signing is reading the final words). The version
    in force, if any, stays in force until both sign this one."""
    pair.must_be_running("its agreement can no longer change")
    pair.side_of(writer)
    if guidelines is None:
        raise Conflict(f"program {pair.program_id} is not known here yet: its guidelines decide the agreement")
    if command.cadence_days > 2 * guidelines.cadence_days:
        raise Invalid("cadence_days", f"at most twice the program's cadence: {2 * guidelines.cadence_days} days")
    if command.duration_weeks > guidelines.duration_weeks:
        raise Invalid("duration_weeks", f"at most the program's duration: {guidelines.duration_weeks} weeks")
    earlier = {g.goal_id: g for g in latest.goals} if latest else {}
    goals: list[Goal] = []
    for wording in command.goals:
        if wording.goal_id is None:
            goals.append(Goal(f"gol-{uuid.uuid4().hex[:12]}", wording.direction, wording.text, writer))
            continue
        kept = earlier.get(wording.goal_id)
        if kept is None or any(g.goal_id == wording.goal_id for g in goals):
            raise Invalid("goals", f"goal_id {wording.goal_id} is not a goal of the latest version, or is repeated")
        same = kept.text == wording.text and kept.direction == wording.direction
        goals.append(kept if same else Goal(kept.goal_id, wording.direction, wording.text, writer))
    agreement = Agreement(
        pair_id=pair.pair_id,
        version=(latest.version if latest else 0) + 1,
        proposed_by=writer,
        proposed_at=now,
        goals=tuple(goals),
        cadence_days=command.cadence_days,
        duration_weeks=command.duration_weeks,
        confidentiality=command.confidentiality,
        confidentiality_note=command.confidentiality_note,
    )
    return agreement, AgreementProposed(
        program_id=pair.program_id,
        pair_id=pair.pair_id,
        agreement_version=agreement.version,
        proposed_by=writer,
        goals=tuple(AgreedGoal(goal_id=g.goal_id, direction=g.direction) for g in goals),
        cadence_days=agreement.cadence_days,
        duration_weeks=agreement.duration_weeks,
        confidentiality=agreement.confidentiality,
    )


def sign_agreement(
    pair: Pair, latest: Agreement | None, version: int, member: str
) -> tuple[Agreement, list[AgreementSigned | AgreementInForce]]:
    """A member signs the version it read; only the latest one can be signed (an older one is stale). Signing
    twice changes nothing. The second signature puts the version in force; the pair ends `duration_weeks` after
    it started."""
    pair.must_be_running("its agreement can no longer be signed")
    pair.side_of(member)
    if latest is None or version != latest.version:
        current = latest.version if latest else "none"
        raise Conflict(f"version {version} is not the latest agreement of the pair (latest: {current})")
    if member in latest.signed_by:
        return latest, []
    signed = replace(latest, signed_by=(*latest.signed_by, member))
    events: list[AgreementSigned | AgreementInForce] = [
        AgreementSigned(program_id=pair.program_id, pair_id=pair.pair_id, agreement_version=version, signed_by=member)
    ]
    if {pair.mentor_id, pair.mentee_id} <= set(signed.signed_by):
        start = pair.started_on or signed.proposed_at.date()
        signed = replace(signed, ends_on=start + timedelta(weeks=signed.duration_weeks))
        events.append(
            AgreementInForce(
                program_id=pair.program_id,
                pair_id=pair.pair_id,
                agreement_version=version,
                cadence_days=signed.cadence_days,
                duration_weeks=signed.duration_weeks,
                ends_on=signed.ends_on,
            )
        )
    return signed, events


# -------------------------------------------------------------------------------------------------------- the end


def completed(pair: Pair, by: CompletedBy, on: date) -> tuple[Pair, PairCompleted]:
    pair.must_be_running("it cannot complete")
    done = replace(pair, status="completed", completed_by=by, completed_on=on)
    return done, PairCompleted(program_id=pair.program_id, pair_id=pair.pair_id, completed_by=by, completed_on=on)


def reflect(
    pair: Pair,
    command: Reflect,
    member: str,
    *,
    reflected_before: bool,
    requested_by: set[str],
    now: datetime,
) -> tuple[Reflection, Pair, list[CompletionRequested | ReflectionRecorded | PairCompleted]]:
    """A member's reflection. While the pair runs it is also the member's request to complete: when both asked,
    the pair completes. After the end (by the clock or an admin) a reflection is still welcome, once."""
    side = pair.side_of(member)
    if command.would_recommend is None:
        raise Invalid("would_recommend", "a member's reflection says whether it would recommend the program")
    if pair.status == "dissolved":
        raise Conflict(f"pair {pair.pair_id} is dissolved: it does not complete")
    if reflected_before:
        raise Conflict("this member already gave its closing reflection")
    reflection = Reflection(
        pair.pair_id,
        member,
        side,
        command.learned,
        command.changed,
        command.would_recommend,
        recorded_at=now,
        requested_completion=pair.status == "active",
    )
    events: list[CompletionRequested | ReflectionRecorded | PairCompleted] = []
    if pair.status == "active":
        events.append(CompletionRequested(program_id=pair.program_id, pair_id=pair.pair_id, participant_id=member))
    events.append(
        ReflectionRecorded(
            program_id=pair.program_id,
            pair_id=pair.pair_id,
            participant_id=member,
            side=side,
            would_recommend=command.would_recommend,
        )
    )
    if pair.status == "active" and {pair.mentor_id, pair.mentee_id} <= requested_by | {member}:
        pair, done = completed(pair, "members", now.date())
        events.append(done)
    return reflection, pair, events


def due_to_end(pair: Pair, in_force: Agreement | None, guidelines: ProgramGuidelines | None) -> date | None:
    """The day a running pair ends: its agreement's `ends_on`, else its start plus the program's duration (None
    while neither is known)."""
    if in_force is not None:
        return in_force.ends_on
    if guidelines is None or pair.started_on is None:
        return None
    return pair.started_on + timedelta(weeks=guidelines.duration_weeks)


# ------------------------------------------------------------------------------------------------------- stories

# Fewer people than this in a group would let a reader guess who said what: such a group is not shown at all.
SMALL_GROUP = 5


@dataclass(frozen=True)
class StoryOptIn:
    """A member's choice to share (or no longer share) its closing reflection as a story (issue #16)."""

    pair_id: str
    participant_id: str
    share: bool
    changed_at: datetime


@dataclass(frozen=True)
class Story:
    """A completed pair whose two members both shared: both reflections, told together."""

    pair_id: str
    mentor: Reflection
    mentee: Reflection


def opt_into_story(
    pair: Pair, member: str, share: bool, reflection: Reflection | None, earlier: StoryOptIn | None, now: datetime
) -> tuple[StoryOptIn, StoryShared | StoryWithdrawn | None]:
    """A member of a completed pair shares its reflection, or withdraws that opt-in. Only a change is published:
    StoryShared, or StoryWithdrawn when a shared story is taken back (sharing again publishes again)."""
    pair.side_of(member)
    if pair.status != "completed":
        raise Conflict(f"pair {pair.pair_id} is {pair.status}: only a completed pair's reflections become stories")
    if share and reflection is None:
        raise Conflict("give your closing reflection first: it is what the story tells")
    choice = StoryOptIn(pair.pair_id, member, share, now)
    was_shared = earlier is not None and earlier.share
    if share == was_shared:
        return choice, None
    told = StoryShared if share else StoryWithdrawn
    return choice, told(program_id=pair.program_id, pair_id=pair.pair_id, participant_id=member)


def stories(pairs: list[Pair], shared: list[Reflection]) -> list[Story]:
    """The pairs whose mentor and mentee both shared their reflections; a pair with one sharer tells nothing."""
    by_member = {(r.pair_id, r.participant_id): r for r in shared}
    told = []
    for pair in pairs:
        mentor, mentee = by_member.get((pair.pair_id, pair.mentor_id)), by_member.get((pair.pair_id, pair.mentee_id))
        if mentor is not None and mentee is not None:
            told.append(Story(pair.pair_id, mentor, mentee))
    return told


def leaders_changed(shared: list[Reflection]) -> list[str] | None:
    """What the mentees (the leaders, in reverse mentoring) who shared said they changed, without who said it, in
    no telling order; None when fewer than SMALL_GROUP leaders said something."""
    said = sorted(
        {(r.pair_id, r.participant_id): r.changed for r in shared if r.side == "mentee" and r.changed}.values()
    )
    return said if len(said) >= SMALL_GROUP else None
