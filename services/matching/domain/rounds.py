"""A matching round, free of I/O: the pool as enrolment described it -> the engine's input -> a proposal.

This module translates; the optimisation itself is the engine's (domain/engine.py).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from services.matching.domain.model import Candidate, ExistingPair, ProgramSettings, ProposedPair
from services.matching.domain.pairs import Pair
from shared.events import MatchingWeights

# Offsets are read at one fixed instant so the same pool always gives the same input (and the same hash),
# whatever the date the round runs; mid-January is standard time in both hemispheres' northern majority.
OFFSET_REFERENCE = datetime(2026, 1, 15, 12, 0)

CRITERIA_EXPLAINED = {
    "skills_to_mentee": "share of the skills the mentee wants that the mentor offers",
    "skills_to_mentor": "share of the skills the mentor wants that the mentee offers (two-way learning)",
    "cross_department": "1 when mentor and mentee work in different departments",
    "generation_gap": "birth-year difference, scaled to 1 at 25 years or more",
    "program_focus": "share of the program's focus areas that both members bring",
    "communication_style": "1 when both prefer the same communication style",
    "time_zone_overlap": "1 - |UTC offset difference| / 12, at least 0",
}


class UnmatchedView(BaseModel):
    participant_id: str
    reason: str = Field(description="no_eligible_partner | capacity | not_selected | training_incomplete")
    detail: str = ""


class Proposal(BaseModel):
    pairs: list[ProposedPair]
    unmatched: list[UnmatchedView]
    total_score: float
    engine_version: str
    inputs_hash: str


def utc_offset_hours(zone: str) -> float:
    offset = ZoneInfo(zone).utcoffset(OFFSET_REFERENCE)
    return offset.total_seconds() / 3600 if offset is not None else 0.0


def candidate(c: dict[str, Any]) -> Candidate:
    """A pool profile (enrolment's event body) as the engine sees it."""
    return Candidate(
        participant_id=c["participant_id"],
        role=c["role"],
        grade=c["grade"],
        birth_year=c["birth_year"],
        department=c["department"],
        utc_offset_hours=utc_offset_hours(c["time_zone"]),
        languages=frozenset(c["languages"]),
        reporting_chain=tuple(c["reporting_chain"]),
        skills_offered=frozenset(c["skills_offered"]),
        skills_wanted=frozenset(c["skills_wanted"]),
        communication_style=c["communication_style"],
        capacity=c["capacity"],
        focus_areas=frozenset(c.get("focus_areas", ())),
    )


def program_settings(program: dict[str, Any]) -> ProgramSettings:
    return ProgramSettings(
        weights=MatchingWeights(**program["matching_weights"]),
        optimize_for=program["optimize_for"],
        focus_areas=frozenset(program["focus_areas"]),
    )


def score_couple(program: dict[str, Any], mentor: dict[str, Any], mentee: dict[str, Any]) -> ProposedPair:
    """A manual pair's score and breakdown, as the program's round would compute them."""
    from services.matching.domain import engine

    return engine.score_pair(candidate(mentor), candidate(mentee), program_settings(program))


def awaiting_training(
    program: dict[str, Any],
    candidates: Sequence[dict[str, Any]],
    trained: Mapping[str, Collection[str]],
    active_pairs: Sequence[Pair] = (),
) -> dict[str, tuple[str, ...]]:
    """The candidates a round leaves out because they miss a training module their program requires (issue #16),
    with the modules missing. Members of active or proposed pairs stay in: a requirement added later does not
    break a pair."""
    required = tuple(program.get("required_modules", ()))
    paired = {pid for p in active_pairs for pid in (p.mentor_id, p.mentee_id)}
    awaiting = {}
    for c in candidates:
        pid = c["participant_id"]
        if pid not in paired and (missing := tuple(m for m in required if m not in trained.get(pid, ()))):
            awaiting[pid] = missing
    return awaiting


def training_incomplete(participant_id: str, missing: Sequence[str]) -> UnmatchedView:
    return UnmatchedView(
        participant_id=participant_id, reason="training_incomplete", detail=f"training incomplete: {', '.join(missing)}"
    )


def propose(
    program: dict[str, Any],
    candidates: Sequence[dict[str, Any]],
    active_pairs: Sequence[Pair],
    dissolved: Sequence[tuple[str, str]],
    excluded: Sequence[tuple[str, str]] = (),
    pinned: Sequence[tuple[str, str]] = (),
    awaiting: Mapping[str, Sequence[str]] | None = None,
) -> Proposal:
    """`active_pairs` are the pairs whose members are out of the pool (active and proposed ones); `dissolved` the
    couples never paired again; `excluded` and `pinned` an admin's (mentor, mentee) rules; `awaiting` the candidates
    left out until they complete their training (`awaiting_training`), reported unmatched with the modules missing."""
    from services.matching.domain import engine

    awaiting = awaiting or {}
    pool = [candidate(c) for c in candidates if c["participant_id"] not in awaiting]
    settings = program_settings(program)
    result = engine.match(
        pool,
        settings,
        existing_pairs=[ExistingPair(p.mentor_id, p.mentee_id) for p in active_pairs],
        dissolved={frozenset(d) for d in dissolved},
        excluded={frozenset(e) for e in excluded},
        pinned=[ExistingPair(mentor, mentee) for mentor, mentee in pinned],
    )
    unmatched = result.unmatched
    return Proposal(
        pairs=list(result.pairs),
        unmatched=[
            *(UnmatchedView(participant_id=u.participant_id, reason=u.reason, detail=u.detail) for u in unmatched),
            *(training_incomplete(pid, missing) for pid, missing in sorted(awaiting.items())),
        ],
        total_score=result.total_score,
        engine_version=result.engine_version,
        inputs_hash=result.input_hash,
    )
