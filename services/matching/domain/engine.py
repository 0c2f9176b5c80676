"""`match`: the optimal pairs of a round, with a certificate that no eligible pair was overlooked.

Objective. Scores are integers in micro-points (q). A new pair's value is w = q·(n+1) + 1 when optimising
for score (n bounds the number of pairs, so the +1 only breaks ties between equal totals in favour of
more pairs) and w = q + B with B = n·q_max + 1 when optimising for participation (one more pair always
outweighs any score difference, so the count is maximised first and the score second). The engine
maximises Σ w over all matchings that respect the hard constraints and capacities.

Method.
1. Candidates: per mentee a short list of its best-scoring eligible mentors (`candidates.shortlist`),
   with a bound on the score of every eligible pair left off.
2. Solve the sparse problem exactly with `scipy.sparse.csgraph.min_weight_full_bipartite_matching`:
   rows are mentees, columns are mentor slots (a mentor of capacity k is k columns) plus one "stays
   unmatched" column per mentee, so a full matching always exists; cost = w_max + 1 - w.
3. Duals: LP dual prices (u per mentor, v per mentee) of that matching from shortest paths (`duals`).
4. Certificate over the *whole* pool: the duals are checked to be feasible on every candidate edge and
   to price the matching exactly (Σ capacity·u + Σ v = Σ w). A left-off pair (i, j) could only improve
   the result if w_ij > u_i + v_j. Its score is at most the mentee's bound, so a mentee with
   w(bound_j) ≤ v_j needs no further look (u ≥ 0). For every other mentee all pairs are rescored
   (`candidates.rescan`, exact integer check); violating pairs are added to the candidates and the
   problem is solved again. When none is left, (u, v) is feasible for every eligible pair of the pool
   and weak LP duality proves the matching optimal among all matchings of the pool, not just among the
   candidates. All checks are exact integer arithmetic; the float32 shortcut only ever *bounds* scores,
   with a proven error margin.

Determinism: participants are sorted by id before anything else, so the same pool gives the same pairs
whatever the input order; every step after that is deterministic.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, fields, is_dataclass
from functools import cache

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from services.matching.domain import candidates, duals
from services.matching.domain.candidates import unique_keys
from services.matching.domain.constraints import Dissolved, RoundRules, forbidden_by_history
from services.matching.domain.explain import explain_unmatched
from services.matching.domain.model import (
    ActivePair,
    Candidate,
    Certificate,
    MatchResult,
    Pair,
    ProgramSettings,
)
from services.matching.domain.scoring import (
    CRITERIA,
    SCORE_RESOLUTION,
    Embedding,
    IntArray,
    Side,
    Vocabulary,
    criterion_matrix,
    embed,
    max_quantized_score,
    min_quantized,
    quantized_contributions,
    quantized_scores,
)

ENGINE_VERSION = "tandem-matching/1.0.0"
DEFAULT_PER_MENTEE = 24
DEFAULT_SETTINGS = ProgramSettings()
# Add-back takes, per mentee, the most violating pairs, and pairs within 3% of the top score of violating:
# those would likely violate the next duals, so taking them now saves re-solves. Capped per mentee, so a
# mentee who could use any of thousands of free mentors adds a few, not thousands.
NEAR_VIOLATION = 0.03
NEAR_PER_MENTEE = 64
_EXACT_FLOAT = 2**52  # costs handed to the float64 solver must stay exactly representable


class InvalidPool(ValueError):
    """The round's input contradicts itself (duplicate ids, pairs naming unknown participants)."""


def match(
    pool: Iterable[Candidate],
    settings: ProgramSettings = DEFAULT_SETTINGS,
    existing_pairs: Iterable[ActivePair] = (),
    dissolved: Dissolved = frozenset(),
    withdrawn: frozenset[str] = frozenset(),
    *,
    per_mentee: int = DEFAULT_PER_MENTEE,
) -> MatchResult:
    """Pairs for everyone still available in `pool`; active pairs stay and use their mentor's capacity."""
    people = sorted(pool, key=lambda c: c.participant_id)
    existing = tuple(existing_pairs)
    _check(people, existing)
    rules = RoundRules.of(people, existing, withdrawn)
    problem = RoundProblem.of(people, settings, rules, dissolved)
    chosen, certificate = _solve_certified(problem, per_mentee)
    pairs = _pairs(problem, chosen)
    matched = {p.mentor_id for p in pairs} | {p.mentee_id for p in pairs}
    unmatched = explain_unmatched(people, settings, rules, dissolved, withdrawn, matched, problem.has_partner(chosen))
    return MatchResult(
        pairs=pairs,
        unmatched=unmatched,
        total_score=round(sum(p.score for p in pairs), 6),
        engine_version=ENGINE_VERSION,
        input_hash=input_hash(people, settings, existing, dissolved, withdrawn, per_mentee),
        certificate=certificate,
    )


def input_hash(
    pool: Iterable[Candidate],
    settings: ProgramSettings,
    existing_pairs: Iterable[ActivePair],
    dissolved: Dissolved,
    withdrawn: frozenset[str],
    per_mentee: int = DEFAULT_PER_MENTEE,
) -> str:
    """sha256 of a canonical JSON of everything the result depends on, so a round can be replayed."""
    snapshot = {
        "engine_version": ENGINE_VERSION,
        "per_mentee": per_mentee,
        "settings": _canonical(settings),
        "pool": [_candidate_row(c) for c in sorted(pool, key=lambda c: c.participant_id)],
        "pool_fields": _field_names(Candidate),
        "existing_pairs": sorted([p.mentor_id, p.mentee_id] for p in existing_pairs),
        "dissolved": sorted(sorted(pair) for pair in dissolved),
        "withdrawn": sorted(withdrawn),
    }
    text = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical(value: object) -> object:
    """JSON-ready and order-free: sets become sorted lists, dataclasses dicts of their fields."""
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, tuple):
        return list(value)
    if is_dataclass(value) and not isinstance(value, type):
        return {name: _canonical(getattr(value, name)) for name in _field_names(type(value))}
    return value


def _candidate_row(c: Candidate) -> list[object]:
    return [
        sorted(v) if isinstance(v, frozenset) else list(v) if isinstance(v, tuple) else v
        for v in (getattr(c, name) for name in _field_names(Candidate))
    ]


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _check(people: list[Candidate], existing: tuple[ActivePair, ...]) -> None:
    ids = [c.participant_id for c in people]
    if len(set(ids)) != len(ids):
        raise InvalidPool("participant ids must be unique")
    unknown = {pid for p in existing for pid in (p.mentor_id, p.mentee_id)} - set(ids)
    if unknown:
        raise InvalidPool(f"active pairs name participants not in the pool: {sorted(unknown)}")


@dataclass(frozen=True)
class _Objective:
    """w = scale·q + offset: integer values of a pair with score q micro-points."""

    scale: int
    offset: int

    @classmethod
    def of(cls, settings: ProgramSettings, max_pairs: int) -> _Objective:
        q_max = max_quantized_score(settings.weights)
        if settings.optimize_for == "participation":
            objective = cls(scale=1, offset=max_pairs * q_max + 1)
        else:
            objective = cls(scale=max_pairs + 1, offset=1)
        if objective.value(np.array([q_max]))[0] >= _EXACT_FLOAT:
            raise InvalidPool("weights or pool too large for exact optimisation")
        return objective

    def value(self, q: IntArray) -> IntArray:
        return q * self.scale + self.offset


@dataclass(frozen=True)
class RoundProblem:
    """The round reduced to arrays: available mentors (with remaining capacity) and available mentees."""

    settings: ProgramSettings
    mentors: Side
    mentees: Side
    capacity: IntArray
    embedding: Embedding
    forbidden: IntArray  # sorted keys mentor_row * n_mentees + mentee_row
    objective: _Objective
    min_q: int

    @classmethod
    def of(
        cls, people: list[Candidate], settings: ProgramSettings, rules: RoundRules, dissolved: Dissolved
    ) -> RoundProblem:
        by_id = {c.participant_id: c for c in people}
        mentor_ids, mentee_ids = rules.available("mentor"), rules.available("mentee")
        vocab = Vocabulary.of(people, settings.focus_areas)
        mentors = Side.of([by_id[i] for i in mentor_ids], vocab)
        mentees = Side.of([by_id[i] for i in mentee_ids], vocab)
        capacity = np.array([rules.remaining_capacity[i] for i in mentor_ids], dtype=np.int64)
        return cls(
            settings=settings,
            mentors=mentors,
            mentees=mentees,
            capacity=capacity,
            embedding=embed(mentors, mentees, vocab, settings.weights),
            forbidden=_forbidden_keys(people, dissolved, mentor_ids, mentee_ids),
            objective=_Objective.of(settings, min(len(mentee_ids), int(capacity.sum()))),
            min_q=min_quantized(settings.min_score),
        )

    def key(self, mentor: IntArray, mentee: IntArray) -> IntArray:
        return mentor * len(self.mentees) + mentee

    def eligible_values(self, mentor: IntArray, mentee: IntArray) -> tuple[IntArray, IntArray, IntArray]:
        """The eligible pairs among those given (history and min_score filtered) with their values w."""
        allowed = ~np.isin(self.key(mentor, mentee), self.forbidden)
        mentor, mentee = mentor[allowed], mentee[allowed]
        q = quantized_scores(
            criterion_matrix(self.mentors, self.mentees, mentor, mentee, self._n_focus()), self.settings.weights
        )
        enough = q >= self.min_q
        return mentor[enough], mentee[enough], self.objective.value(q[enough])

    def has_partner(self, chosen: _Edges) -> set[str]:
        """Ids with at least one eligible edge seen: evidence that an eligible partner exists."""
        return {self.mentors.ids[i] for i in np.unique(chosen.seen_mentor)} | {
            self.mentees.ids[j] for j in np.unique(chosen.seen_mentee)
        }

    def _n_focus(self) -> int:
        return len(self.settings.focus_areas)


def _forbidden_keys(
    people: list[Candidate], dissolved: Dissolved, mentor_ids: list[str], mentee_ids: list[str]
) -> IntArray:
    mentor_row = {pid: i for i, pid in enumerate(mentor_ids)}
    mentee_row = {pid: j for j, pid in enumerate(mentee_ids)}
    keys = []
    for pair in forbidden_by_history(people, dissolved):
        a, b = sorted(pair)
        for mentor, mentee in ((a, b), (b, a)):
            if mentor in mentor_row and mentee in mentee_row:
                keys.append(mentor_row[mentor] * len(mentee_ids) + mentee_row[mentee])
    return unique_keys(np.array(keys, dtype=np.int64))


@dataclass(frozen=True)
class _Edges:
    """Every eligible edge seen (candidates and each mentor's best mentee) and the edges of the matching."""

    seen_mentor: IntArray
    seen_mentee: IntArray
    mentor: IntArray
    mentee: IntArray


def _solve_certified(problem: RoundProblem, per_mentee: int) -> tuple[_Edges, Certificate]:
    listed = candidates.shortlist(
        problem.embedding, problem.mentors, problem.mentees, per_mentee, problem.settings.min_score
    )
    mentor, mentee, value = problem.eligible_values(listed.mentor, listed.mentee)
    q_bound = np.where(np.isfinite(listed.bound), np.ceil(listed.bound * SCORE_RESOLUTION) + 1, -np.inf)
    rechecked, added, solves, shortlist_primal = 0, 0, 0, 0
    reach = int(NEAR_VIOLATION * max_quantized_score(problem.settings.weights)) * problem.objective.scale
    while True:
        in_matching = _solve(mentor, mentee, value, problem.capacity, len(problem.mentees))
        solves += 1
        u, v = duals.duals(mentor, mentee, value, in_matching, problem.capacity, len(problem.mentees))
        primal = int(value[in_matching].sum())
        if solves == 1:
            shortlist_primal = primal
        dual = duals.dual_objective(u, v, problem.capacity)
        if dual != primal or duals.violations(mentor, mentee, value, u, v).any() or (u < 0).any() or (v < 0).any():
            raise duals.NotOptimal("duals do not certify the sparse solution")
        suspects = _suspects(problem, q_bound, v)
        rechecked += len(suspects)
        near = _pairs_near_duals(problem, suspects, u, v, reach)
        if not duals.violations(*near, u, v).any():
            break
        fresh = ~np.isin(problem.key(near[0], near[1]), problem.key(mentor, mentee))
        added += int(fresh.sum())
        mentor, mentee, value = (
            np.concatenate([old, new[fresh]]) for old, new in zip((mentor, mentee, value), near, strict=True)
        )
    has_best = np.flatnonzero(listed.best_mentee >= 0)
    best_mentor, best_mentee, _ = problem.eligible_values(has_best, listed.best_mentee[has_best])
    edges = _Edges(
        seen_mentor=np.concatenate([mentor, best_mentor]),
        seen_mentee=np.concatenate([mentee, best_mentee]),
        mentor=mentor[in_matching],
        mentee=mentee[in_matching],
    )
    certificate = Certificate(
        primal=primal,
        dual=dual,
        shortlist_primal=shortlist_primal,
        candidate_edges=len(mentor),
        rechecked_mentees=rechecked,
        added_back_edges=added,
        solves=solves,
    )
    return edges, certificate


def _suspects(problem: RoundProblem, q_bound: np.ndarray, v: IntArray) -> IntArray:
    """Mentees whose left-off pairs are not ruled out by their bound alone: w(bound) > v_j."""
    finite = np.isfinite(q_bound)
    bound_value = np.full(len(v), np.iinfo(np.int64).min)
    bound_value[finite] = problem.objective.value(q_bound[finite].astype(np.int64))
    return np.flatnonzero(bound_value > v)


def _pairs_near_duals(
    problem: RoundProblem, suspects: IntArray, u: IntArray, v: IntArray, reach: int
) -> tuple[IntArray, IntArray, IntArray]:
    """Eligible pairs of the suspect mentees with w > u_i + v_j - reach: every violating pair, and (reach > 0)
    the nearly violating ones too, which the next solve would otherwise likely turn into violations."""
    if not len(suspects):
        return (np.zeros(0, np.int64),) * 3
    per_unit = problem.objective.scale * SCORE_RESOLUTION
    mentor_slack = u / per_unit
    mentee_slack = (v - reach - problem.objective.offset) / per_unit
    mentor, mentee = candidates.rescan(
        problem.embedding,
        problem.mentors,
        problem.mentees,
        suspects,
        mentor_slack,
        mentee_slack,
        problem.settings.min_score,
        NEAR_PER_MENTEE,
    )
    mentor, mentee, value = problem.eligible_values(mentor, mentee)
    slack = value - u[mentor] - v[mentee]
    order = np.lexsort((mentor, -slack, mentee))
    mentor, mentee, value, slack = mentor[order], mentee[order], value[order], slack[order]
    rank = np.arange(len(mentee)) - np.searchsorted(mentee, mentee)
    keep = (slack > -reach) & (rank < NEAR_PER_MENTEE)
    return mentor[keep], mentee[keep], value[keep]


def _solve(mentor: IntArray, mentee: IntArray, value: IntArray, capacity: IntArray, n_mentees: int) -> np.ndarray:
    """Mask of the edges in a maximum-value matching of this edge set (mentor i used at most capacity[i]).

    LAPJVsp needs a full matching to exist and skips its fast initial reductions on non-square input, so
    the problem is posed as a square perfect matching: rows are mentees plus one "slot stays empty" row
    per mentor slot; columns are slots plus one "mentee stays unmatched" column per mentee. Pair (j, s)
    costs top - w; mentee j's own column costs top; an empty-slot row takes its own slot for 1 or, when
    the slot is used by some j, j's unmatched column for 1 (one such edge per candidate pair). A perfect
    matching with pair set M then costs mentees·top + slots - Σ_M w, so the cheapest is the most
    valuable M. All costs are ≥ 1 because the solver drops zero entries.
    """
    if not len(mentor):
        return np.zeros(0, dtype=bool)
    degree = np.bincount(mentor, minlength=len(capacity))
    slots = np.minimum(capacity, degree)  # a mentor never needs more slots than it has edges
    first_slot = np.concatenate([[0], np.cumsum(slots)])
    n_slots = int(first_slot[-1])
    copies = slots[mentor]
    edge = np.repeat(np.arange(len(mentor)), copies)
    slot = first_slot[mentor[edge]] + (np.arange(len(edge)) - np.repeat(np.cumsum(copies) - copies, copies))
    top = float(value.max()) + 1
    pair_mentee = mentee[edge]
    rows = np.concatenate([pair_mentee, np.arange(n_mentees), n_mentees + slot, n_mentees + np.arange(n_slots)])
    cols = np.concatenate([slot, n_slots + np.arange(n_mentees), n_slots + pair_mentee, np.arange(n_slots)])
    costs = np.concatenate(
        [top - value[edge].astype(np.float64), np.full(n_mentees, top), np.ones(len(edge) + n_slots)]
    )
    size = n_mentees + n_slots
    graph = sp.csr_array((costs, (rows, cols)), shape=(size, size))
    row, col = min_weight_full_bipartite_matching(graph)
    real = (row < n_mentees) & (col < n_slots)
    slot_owner = np.repeat(np.arange(len(capacity)), slots)
    chosen_keys = slot_owner[col[real]] * n_mentees + row[real]
    return np.isin(mentor * n_mentees + mentee, chosen_keys)


def _pairs(problem: RoundProblem, chosen: _Edges) -> tuple[Pair, ...]:
    rows = criterion_matrix(
        problem.mentors, problem.mentees, chosen.mentor, chosen.mentee, len(problem.settings.focus_areas)
    )
    contributions = quantized_contributions(rows, problem.settings.weights)
    pairs = [
        Pair(
            mentor_id=problem.mentors.ids[i],
            mentee_id=problem.mentees.ids[j],
            score=int(parts.sum()) / SCORE_RESOLUTION,
            breakdown={name: int(x) / SCORE_RESOLUTION for name, x in zip(CRITERIA, parts, strict=True)},
        )
        for i, j, parts in zip(chosen.mentor, chosen.mentee, contributions, strict=True)
    ]
    return tuple(sorted(pairs, key=lambda p: (p.mentor_id, p.mentee_id)))
