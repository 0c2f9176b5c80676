"""The JSON file a matching round can be run from: program settings, candidates, existing and dissolved pairs.

`PoolFile.model_json_schema()` is the published schema (services/matching/schemas/pool-input.schema.json).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.matching.domain.model import Candidate, ExistingPair, MatchResult, ProgramSettings
from shared.events import MatchingWeights, MentoringRole, OptimizeFor


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CandidateIn(_Strict):
    participant_id: str = Field(description="Pseudonymous id; never an employee number, name or e-mail.")
    role: MentoringRole
    grade: int = Field(description="Job grade; higher is more senior. A mentor must be strictly junior.")
    birth_year: int
    department: str
    utc_offset_hours: float = Field(description="Offset from UTC of the participant's time zone, e.g. 5.5.")
    languages: list[str] = Field(min_length=1)
    reporting_chain: list[str] = Field(default=[], description="Participant ids of their managers up the line.")
    skills_offered: list[str] = []
    skills_wanted: list[str] = []
    communication_style: str = ""
    capacity: int = Field(1, ge=1, description="Mentees this participant takes as a mentor.")
    focus_areas: list[str] = Field(default=[], description="Program focus areas the participant brings or wants.")

    def to_domain(self) -> Candidate:
        values = self.model_dump()
        sets = ("languages", "skills_offered", "skills_wanted", "focus_areas")
        return Candidate(
            **{**values, **{k: frozenset(values[k]) for k in sets}, "reporting_chain": tuple(self.reporting_chain)}
        )


class ProgramIn(_Strict):
    weights: MatchingWeights = MatchingWeights()
    optimize_for: OptimizeFor = Field(
        "score", description="score: the highest total score; participation: the most mentees paired, then score."
    )
    focus_areas: list[str] = []
    min_score: float = Field(0.0, ge=0, description="Pairs scoring below this are never formed.")

    def to_domain(self) -> ProgramSettings:
        return ProgramSettings(
            weights=self.weights,
            optimize_for=self.optimize_for,
            focus_areas=frozenset(self.focus_areas),
            min_score=self.min_score,
        )


class ExistingPairIn(_Strict):
    mentor_id: str
    mentee_id: str


class PoolFile(_Strict):
    """One matching round's complete input."""

    program: ProgramIn = ProgramIn()
    candidates: list[CandidateIn]
    existing_pairs: list[ExistingPairIn] = Field(
        default=[], description="Active pairs: kept, and using mentor capacity."
    )
    dissolved_pairs: list[tuple[str, str]] = Field(default=[], description="Pairs never to be proposed again.")
    withdrawn: list[str] = Field(default=[], description="Participants who withdrew: never matched.")
    excluded_pairs: list[tuple[str, str]] = Field(default=[], description="Couples an admin excluded (or declined).")
    pinned_pairs: list[ExistingPairIn] = Field(default=[], description="Couples an admin pinned: fixed if feasible.")

    def round_input(self) -> dict[str, Any]:
        """Keyword arguments for `engine.match`."""
        return {
            "pool": [c.to_domain() for c in self.candidates],
            "settings": self.program.to_domain(),
            "existing_pairs": [ExistingPair(p.mentor_id, p.mentee_id) for p in self.existing_pairs],
            "dissolved": frozenset(frozenset(p) for p in self.dissolved_pairs),
            "withdrawn": frozenset(self.withdrawn),
            "excluded": frozenset(frozenset(p) for p in self.excluded_pairs),
            "pinned": [ExistingPair(p.mentor_id, p.mentee_id) for p in self.pinned_pairs],
        }


def result_json(result: MatchResult) -> dict[str, Any]:
    return {
        "engine_version": result.engine_version,
        "input_hash": result.input_hash,
        "total_score": result.total_score,
        "pairs": [asdict(p) for p in result.pairs],
        "unmatched": [asdict(u) for u in result.unmatched],
        "certificate": asdict(result.certificate),
    }
