"""Random pools for property tests, and an independent brute-force optimum to hold the engine to."""

from __future__ import annotations

from collections.abc import Iterator

from hypothesis import strategies as st

from services.matching.domain.constraints import RoundRules, is_eligible
from services.matching.domain.model import Candidate, ExistingPair, ProgramSettings
from services.matching.domain.scoring import criteria
from shared.events import MatchingWeights

SKILLS = ("ai", "data", "tiktok", "python", "design")
FOCUS = frozenset({"diversity", "digital-skills"})


def person(pid: str, role: str = "mentor", grade: int = 1, **extra: object) -> Candidate:
    profile: dict = {"birth_year": 1990, "department": "it", "utc_offset_hours": 0.0, "languages": frozenset({"en"})}
    return Candidate(participant_id=pid, role=role, grade=grade, **{**profile, **extra})  # type: ignore[arg-type]


@st.composite
def pools(
    draw: st.DrawFn,
    min_size: int = 2,
    max_size: int = 7,
    roles: tuple[str, ...] = ("mentor", "mentee", "both"),
    max_capacity: int = 3,
) -> list[Candidate]:
    size = draw(st.integers(min_size, max_size))
    ids = [f"p{i:02d}" for i in range(size)]
    return [draw(_candidate(pid, ids, roles, max_capacity)) for pid in ids]


@st.composite
def _candidate(draw: st.DrawFn, pid: str, ids: list[str], roles: tuple[str, ...], max_capacity: int) -> Candidate:
    skills = st.frozensets(st.sampled_from(SKILLS), max_size=3)
    return Candidate(
        participant_id=pid,
        role=draw(st.sampled_from(roles)),
        grade=draw(st.integers(1, 6)),
        birth_year=draw(st.integers(1960, 2002)),
        department=draw(st.sampled_from(["it", "hr", "sales"])),
        utc_offset_hours=draw(st.sampled_from([-5.0, 0.0, 1.0, 5.5, 9.0])),
        languages=draw(st.frozensets(st.sampled_from(["en", "fr", "de"]), min_size=1, max_size=2)),
        reporting_chain=tuple(draw(st.lists(st.sampled_from(ids), max_size=1, unique=True))),
        skills_offered=draw(skills),
        skills_wanted=draw(skills),
        communication_style=draw(st.sampled_from(["", "direct", "reflective"])),
        capacity=draw(st.integers(1, max_capacity)),
        focus_areas=draw(st.frozensets(st.sampled_from(sorted(FOCUS)))),
    )


settings_strategy = st.builds(
    ProgramSettings,
    weights=st.builds(
        MatchingWeights, skills_to_mentee=st.sampled_from([0.0, 3.0]), generation_gap=st.sampled_from([0.0, 1.0])
    ),
    optimize_for=st.sampled_from(["score", "participation"]),
    focus_areas=st.sampled_from([frozenset(), FOCUS]),
    min_score=st.sampled_from([0.0, 0.0, 2.5]),
)


def dissolved_pairs(pool: list[Candidate]) -> st.SearchStrategy[frozenset[frozenset[str]]]:
    ids = [c.participant_id for c in pool]
    pair = st.tuples(st.sampled_from(ids), st.sampled_from(ids)).filter(lambda p: p[0] != p[1]).map(frozenset)
    return st.frozensets(pair, max_size=2)


def brute_force(
    pool: list[Candidate],
    settings: ProgramSettings,
    dissolved: frozenset[frozenset[str]] = frozenset(),
    existing: tuple[ExistingPair, ...] = (),
    withdrawn: frozenset[str] = frozenset(),
) -> tuple[float, int]:
    """(best total score, most new pairs) over every set of eligible pairs, by exhaustive search."""
    rules = RoundRules.of(pool, existing, withdrawn)
    by_id = {c.participant_id: c for c in pool}
    mentors, mentees = rules.available("mentor"), rules.available("mentee")
    options = {
        e: [
            (m, micro_score(by_id[m], by_id[e], settings))
            for m in mentors
            if is_eligible(by_id[m], by_id[e], dissolved)
        ]
        for e in mentees
    }
    options = {e: [(m, s) for m, s in opts if s >= settings.min_score] for e, opts in options.items()}
    results = list(_assignments(mentees, options, dict(rules.remaining_capacity)))
    if settings.optimize_for == "participation":
        return max(((total, count) for total, count in results), key=lambda r: (r[1], r[0]))
    return max(results)


def micro_score(mentor: Candidate, mentee: Candidate, settings: ProgramSettings) -> float:
    """The score as the engine defines it: each weighted criterion rounded to a micro-point."""
    weights = settings.weights.model_dump()
    parts = criteria(mentor, mentee, settings.focus_areas)
    return sum(round(value * weights[name] * 1_000_000) for name, value in parts.items()) / 1_000_000


def _assignments(mentees: list[str], options: dict, capacity: dict[str, int]) -> Iterator[tuple[float, int]]:
    if not mentees:
        yield 0.0, 0
        return
    first, rest = mentees[0], mentees[1:]
    yield from _assignments(rest, options, capacity)
    for mentor, score in options[first]:
        if capacity[mentor] > 0:
            capacity[mentor] -= 1
            for total, count in _assignments(rest, options, capacity):
                yield total + score, count + 1
            capacity[mentor] += 1
