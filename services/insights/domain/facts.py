"""The facts insights keeps, one per event, each stamped with the event's time (`at`, the CloudEvents `time`).

Metrics are computed from these at query time, so facts from different topics may arrive in any order, and a
report can be computed as of any past instant: `Facts.until(as_of)` keeps only what was known by then.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Literal

from shared.events import (
    AcceptanceMode,
    CompletedBy,
    DeclineReason,
    DissolutionReason,
    LearningDirection,
    MentoringRole,
)

GoalDirection = Literal["mentor_to_mentee", "mentee_to_mentor"]


@dataclass(frozen=True)
class Program:
    """The program's settings as of the report's instant: the launch's, or the latest change known by then."""

    program_id: str
    title: str
    cadence_days: int
    duration_weeks: int
    targets: dict[str, float]
    launched_at: datetime
    closed_at: datetime | None = None
    min_group_size: int = 5  # the latest settings' (issue #19): no report shows a smaller group


@dataclass(frozen=True)
class Profile:
    """A participant's profile as enrolled or updated at `at`; the latest one at or before as_of counts."""

    participant_id: str
    role: MentoringRole
    department: str
    birth_year: int
    at: datetime


@dataclass(frozen=True)
class Withdrawal:
    participant_id: str
    at: datetime


@dataclass(frozen=True)
class Pair:
    """A pair that started (PairFormed). It ends either dissolved (PairDissolved) or completed (PairCompleted),
    whichever came first: a pair that ran its course is never counted as dissolved, nor the reverse."""

    pair_id: str
    mentor_id: str
    mentee_id: str
    formed_at: datetime
    dissolved_at: datetime | None = None
    origin: str = "round"
    proposed_at: datetime | None = None
    dissolution_reason: DissolutionReason | None = None
    completed_at: datetime | None = None
    completed_by: CompletedBy | None = None

    def ended_at(self) -> datetime | None:
        ends = [at for at in (self.dissolved_at, self.completed_at) if at is not None]
        return min(ends) if ends else None

    def status(self, as_of: datetime) -> Literal["active", "dissolved", "completed"]:
        """At an instant at or after formation: completed or dissolved by its first end known then, else active."""
        ended = self.ended_at()
        if ended is None or ended > as_of:
            return "active"
        return "completed" if ended == self.completed_at else "dissolved"

    def active(self, as_of: datetime) -> bool:
        return self.formed_at <= as_of and self.status(as_of) == "active"

    def until(self, as_of: datetime) -> Pair:
        """The pair as known at `as_of`: a later end is not yet known."""
        dissolved = self.dissolved_at if self.dissolved_at and self.dissolved_at <= as_of else None
        completed = self.completed_at if self.completed_at and self.completed_at <= as_of else None
        return replace(
            self,
            dissolved_at=dissolved,
            dissolution_reason=self.dissolution_reason if dissolved else None,
            completed_at=completed,
            completed_by=self.completed_by if completed else None,
        )


@dataclass(frozen=True)
class Proposal:
    """A round's proposal waiting for its members' answers (PairProposed); its pair, once accepted, is a Pair
    with the same id."""

    pair_id: str
    acceptance_mode: AcceptanceMode
    proposed_at: datetime


@dataclass(frozen=True)
class Answer:
    """A member's answer to a proposal: ProposalAccepted, or ProposalDeclined with its reason's category."""

    pair_id: str
    participant_id: str
    accepted: bool
    reason_code: DeclineReason | None
    at: datetime


@dataclass(frozen=True)
class Expiry:
    pair_id: str
    at: datetime


@dataclass(frozen=True)
class Goal:
    """A goal of a pair's agreement (AgreementProposed): its direction, never its words."""

    pair_id: str
    goal_id: str
    direction: GoalDirection
    at: datetime


@dataclass(frozen=True)
class SignedAgreement:
    """An agreement version both members signed (AgreementInForce)."""

    pair_id: str
    agreement_version: int
    at: datetime


@dataclass(frozen=True)
class Reflection:
    pair_id: str
    participant_id: str
    would_recommend: bool
    at: datetime


@dataclass(frozen=True)
class Session:
    session_id: str
    pair_id: str
    held_on: date
    minutes: int
    topics: tuple[str, ...]
    direction: LearningDirection
    at: datetime
    goals_advanced: tuple[str, ...] = ()


@dataclass(frozen=True)
class Feedback:
    feedback_id: str
    pair_id: str
    side: str  # mentor | mentee
    rating: int
    at: datetime


@dataclass(frozen=True)
class TrainingCompletion:
    """A participant passed a training module's check (TrainingCompleted); their role comes from their profile."""

    participant_id: str
    module_id: str
    module_version: int
    at: datetime


@dataclass(frozen=True)
class Recognition:
    """Recognition in a pair: `kind` certificate (CertificateIssued, `ref` its certificate id), kudos (KudosGiven to
    `participant_id` by the partner, `ref` its kudos id) or a story choice (StoryShared `story` / StoryWithdrawn
    `story_withdrawn` by `participant_id`, `ref` the event id)."""

    kind: Literal["certificate", "kudos", "story", "story_withdrawn"]
    pair_id: str
    participant_id: str
    ref: str
    at: datetime


@dataclass(frozen=True)
class Facts:
    program: Program
    profiles: list[Profile] = field(default_factory=list)
    withdrawals: list[Withdrawal] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    feedback: list[Feedback] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    expiries: list[Expiry] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    agreements: list[SignedAgreement] = field(default_factory=list)
    reflections: list[Reflection] = field(default_factory=list)
    trainings: list[TrainingCompletion] = field(default_factory=list)
    recognitions: list[Recognition] = field(default_factory=list)

    def until(self, as_of: datetime) -> Facts:
        """What was known at `as_of`: later facts are dropped, a later dissolution is not yet known.

        Sessions and feedback count only once their pair is known, so every per-pair figure and every
        program total agree even while a PairFormed is still on its way.
        """
        pairs = [p.until(as_of) for p in self.pairs if p.formed_at <= as_of]
        known = {p.pair_id for p in pairs}
        closed = self.program.closed_at
        return Facts(
            program=replace(self.program, closed_at=closed if closed and closed <= as_of else None),
            profiles=[p for p in self.profiles if p.at <= as_of],
            withdrawals=[w for w in self.withdrawals if w.at <= as_of],
            pairs=pairs,
            sessions=[s for s in self.sessions if s.at <= as_of and s.pair_id in known],
            feedback=[f for f in self.feedback if f.at <= as_of and f.pair_id in known],
            proposals=[p for p in self.proposals if p.proposed_at <= as_of],
            answers=[a for a in self.answers if a.at <= as_of],
            expiries=[e for e in self.expiries if e.at <= as_of],
            goals=[g for g in self.goals if g.at <= as_of],
            agreements=[a for a in self.agreements if a.at <= as_of and a.pair_id in known],
            reflections=[r for r in self.reflections if r.at <= as_of and r.pair_id in known],
            trainings=[t for t in self.trainings if t.at <= as_of],
            recognitions=[r for r in self.recognitions if r.at <= as_of],
        )

    def latest_profiles(self) -> dict[str, Profile]:
        latest: dict[str, Profile] = {}
        for profile in sorted(self.profiles, key=lambda p: p.at):
            latest[profile.participant_id] = profile
        return latest

    def enrolled_at(self) -> dict[str, datetime]:
        first: dict[str, datetime] = {}
        for profile in self.profiles:
            first[profile.participant_id] = min(profile.at, first.get(profile.participant_id, profile.at))
        return first

    def withdrawn(self) -> set[str]:
        return {w.participant_id for w in self.withdrawals}
