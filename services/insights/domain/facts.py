"""The facts insights keeps, one per event, each stamped with the event's time (`at`, the CloudEvents `time`).

Metrics are computed from these at query time, so facts from different topics may arrive in any order, and a
report can be computed as of any past instant: `Facts.until(as_of)` keeps only what was known by then.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime

from shared.events import LearningDirection, MentoringRole


@dataclass(frozen=True)
class Program:
    program_id: str
    title: str
    cadence_days: int
    duration_weeks: int
    targets: dict[str, float]
    launched_at: datetime


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
    pair_id: str
    mentor_id: str
    mentee_id: str
    formed_at: datetime
    dissolved_at: datetime | None = None

    def active(self, as_of: datetime) -> bool:
        return self.formed_at <= as_of and (self.dissolved_at is None or self.dissolved_at > as_of)


@dataclass(frozen=True)
class Session:
    session_id: str
    pair_id: str
    held_on: date
    minutes: int
    topics: tuple[str, ...]
    direction: LearningDirection
    at: datetime


@dataclass(frozen=True)
class Feedback:
    feedback_id: str
    pair_id: str
    side: str  # mentor | mentee
    rating: int
    at: datetime


@dataclass(frozen=True)
class Facts:
    program: Program
    profiles: list[Profile] = field(default_factory=list)
    withdrawals: list[Withdrawal] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    feedback: list[Feedback] = field(default_factory=list)

    def until(self, as_of: datetime) -> Facts:
        """What was known at `as_of`: later facts are dropped, a later dissolution is not yet known.

        Sessions and feedback count only once their pair is known, so every per-pair figure and every
        program total agree even while a PairFormed is still on its way.
        """
        pairs = [
            replace(p, dissolved_at=p.dissolved_at if p.dissolved_at and p.dissolved_at <= as_of else None)
            for p in self.pairs
            if p.formed_at <= as_of
        ]
        known = {p.pair_id for p in pairs}
        return Facts(
            program=self.program,
            profiles=[p for p in self.profiles if p.at <= as_of],
            withdrawals=[w for w in self.withdrawals if w.at <= as_of],
            pairs=pairs,
            sessions=[s for s in self.sessions if s.at <= as_of and s.pair_id in known],
            feedback=[f for f in self.feedback if f.at <= as_of and f.pair_id in known],
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
