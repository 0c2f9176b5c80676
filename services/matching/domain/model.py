"""Value objects of a matching round: who is in the pool, what the program wants, what the engine proposes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from shared.events import MatchingWeights, MentoringRole, OptimizeFor

UnmatchedReason = Literal["withdrawn", "no_eligible_partner", "capacity"]


@dataclass(frozen=True)
class Candidate:
    """A participant as matching sees them: pseudonymous, with only the attributes the rules need."""

    participant_id: str
    role: MentoringRole
    grade: int
    birth_year: int
    department: str
    utc_offset_hours: float
    languages: frozenset[str]
    reporting_chain: tuple[str, ...] = ()
    skills_offered: frozenset[str] = frozenset()
    skills_wanted: frozenset[str] = frozenset()
    communication_style: str = ""
    capacity: int = 1
    focus_areas: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError(f"{self.participant_id}: capacity must be at least 1, got {self.capacity}")


@dataclass(frozen=True)
class ProgramSettings:
    """What a program asks of a round. Pairs scoring below `min_score` are treated as ineligible."""

    weights: MatchingWeights = field(default_factory=MatchingWeights)
    optimize_for: OptimizeFor = "score"
    focus_areas: frozenset[str] = frozenset()
    min_score: float = 0.0


@dataclass(frozen=True)
class ExistingPair:
    """The engine's input: a pair formed in an earlier round and still active; it is kept, and uses its
    mentor's capacity."""

    mentor_id: str
    mentee_id: str


@dataclass(frozen=True)
class ProposedPair:
    """The engine's output: a pair it proposes (not yet formed); `breakdown` holds each criterion's weighted
    contribution to `score`."""

    mentor_id: str
    mentee_id: str
    score: float
    breakdown: dict[str, float] = field(hash=False)


@dataclass(frozen=True)
class Unmatched:
    """A participant left without a pair, with a reason code for machines and a sentence for people."""

    participant_id: str
    reason: UnmatchedReason
    detail: str


@dataclass(frozen=True)
class Certificate:
    """The evidence that `pairs` is optimal over every eligible pair of the pool, not just the candidates.

    Values are in the engine's integer objective units (see `engine`): `primal` is the objective of the
    chosen pairs, `dual` the LP dual bound Σ capacity·u + Σ v; optimality holds when they are equal and the
    duals are feasible for every eligible edge, which `engine` checks before returning.
    """

    primal: int
    dual: int
    shortlist_primal: int  # the objective of the first solve, on the shortlist alone, before any add-back
    candidate_edges: int
    rechecked_mentees: int
    added_back_edges: int
    solves: int


@dataclass(frozen=True)
class MatchResult:
    """The outcome of one round: new pairs (existing ones are kept and not repeated) and who stays unmatched."""

    pairs: tuple[ProposedPair, ...]
    unmatched: tuple[Unmatched, ...]
    total_score: float
    engine_version: str
    input_hash: str
    certificate: Certificate
