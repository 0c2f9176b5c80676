"""A greedy baseline, for benchmarks only: what a simple matcher would give, to measure the optimum against.

Greedy takes pairs best-first: sort the eligible candidate pairs (each mentee's `per_mentee` best, as the
engine's shortlist finds them) by score, highest first, and keep a pair whenever its mentee is still free
and its mentor still has capacity. Fast and intuitive, but one early pair can block two better ones.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from services.matching.domain import candidates
from services.matching.domain.constraints import Dissolved, RoundRules
from services.matching.domain.engine import RoundProblem
from services.matching.domain.model import Candidate, ExistingPair, ProgramSettings
from services.matching.domain.scoring import SCORE_RESOLUTION


def greedy_match(
    pool: Iterable[Candidate],
    settings: ProgramSettings,
    existing_pairs: Iterable[ExistingPair] = (),
    dissolved: Dissolved = frozenset(),
    withdrawn: frozenset[str] = frozenset(),
    per_mentee: int = 64,
) -> list[tuple[str, str, float]]:
    """(mentor id, mentee id, score) of the greedy pairs."""
    people = sorted(pool, key=lambda c: c.participant_id)
    problem = RoundProblem.of(people, settings, RoundRules.of(people, tuple(existing_pairs), withdrawn), dissolved)
    listed = candidates.shortlist(
        problem.embedding, problem.mentors, problem.mentees, per_mentee, settings.min_score, problem.forbidden
    )
    mentor, mentee, value = problem.eligible_values(listed.mentor, listed.mentee)
    order = np.lexsort((mentee, mentor, -value))
    capacity = problem.capacity.copy()
    taken = np.zeros(len(problem.mentees), dtype=bool)
    pairs = []
    for i, j, w in zip(mentor[order].tolist(), mentee[order].tolist(), value[order].tolist(), strict=True):
        if capacity[i] and not taken[j]:
            capacity[i] -= 1
            taken[j] = True
            q = (w - problem.objective.offset) // problem.objective.scale
            pairs.append((problem.mentors.ids[i], problem.mentees.ids[j], q / SCORE_RESOLUTION))
    return pairs
