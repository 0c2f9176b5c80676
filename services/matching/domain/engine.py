"""`match`: the optimal pairs of a round, with a certificate that no eligible pair was overlooked.

Objective. Scores are integers in micro-points (q). A new pair's value is w = q·(n+1) + 1 when optimising
for score (n bounds the number of pairs, so the +1 only breaks ties between equal totals in favour of
more pairs) and w = q + B with B = n·q_max + 1 when optimising for participation (one more pair always
outweighs any score difference, so the count is maximised first and the score second). The engine
maximises Σ w over all matchings that respect the hard constraints and capacities.

Method.
1. Candidates: per mentee a short list of its best-scoring eligible mentors (`candidates.shortlist`),
   with a bound on the score of every eligible pair left off.
2. Solve the sparse problem exactly as a min-cost flow (OR-Tools, `_solve`): mentees send one unit each
   to a sink, through a mentor (cost -w, mentor capacity on its arc to the sink) or straight (unmatched).
3. Duals: LP dual prices (u per mentor, v per mentee) of that matching from shortest paths (`duals`).
4. Certificate over the *whole* pool: the duals are checked to be feasible on every candidate edge and
   to price the matching exactly (Σ capacity·u + Σ v = Σ w). A left-off pair (i, j) could only improve
   the result if w_ij > u_i + v_j. Each mentee keeps a bound L_j on w_ij - p_i over its left-off pairs,
   measured at some earlier prices p (the shortlist's bound at p = 0 to start: `_LeftOff`); at the new
   prices w_ij - u_i ≤ L_j + max_i(p_i - u_i), so a mentee whose shifted bound is ≤ v_j needs no look.
   The others are rescanned with the new prices (`candidates.rescan`: score minus mentor price, so the
   cheap mentors a popular shortlist missed come first; a mentee whose own bound still holds looks only at
   the mentors whose price fell by more than its slack v_j - L_j); their pairs near or over v_j are rescored
   exactly, violating ones are added and the problem solved again, and the rest of the scan becomes
   the mentee's new bound. A mentee with no clear violation whose float bound still cannot be brought
   to v_j (mentors scoring exactly what it holds: ties) has every pair that may exceed v_j scored
   exactly (`candidates._Ties`), within a budget per rescan. If a rescan finds no violation but still
   cannot bound a mentee tightly enough, it looks wider, up to every mentor. When no mentee is left
   suspect, (u, v) is feasible for every eligible pair of the pool and weak LP duality proves the
   matching optimal among all matchings of the pool, not just among the candidates. Values, duals and
   violations are exact integers; the float32 products only ever *bound* scores, with a proven error
   margin that grows with the prices.

Determinism: participants are sorted by id before anything else, so the same pool gives the same pairs
whatever the input order; every step after that is deterministic.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, fields, is_dataclass
from functools import cache
from operator import attrgetter

import numpy as np
from ortools.graph.python import min_cost_flow
from pydantic import BaseModel

from services.matching.domain import candidates, duals
from services.matching.domain.candidates import contains, unique_keys
from services.matching.domain.constraints import Dissolved, RoundRules, history_links, is_eligible
from services.matching.domain.explain import explain_unmatched
from services.matching.domain.model import (
    Candidate,
    Certificate,
    ExistingPair,
    MatchResult,
    ProgramSettings,
    ProposedPair,
)
from services.matching.domain.scoring import (
    CRITERIA,
    SCORE_RESOLUTION,
    Embedding,
    IntArray,
    Side,
    Vocabulary,
    criteria,
    criterion_matrix,
    embed,
    max_quantized_score,
    min_quantized,
    quantized_contributions,
    quantized_scores,
)
from shared import collector

# 2.0.0: min-cost flow solver (OR-Tools), price-aware rescans, shortlist of 16. Totals are the same optimum
# as 1.x, but among equally good matchings another may be chosen: the version travels on each round's events
# so an auditor re-running a round knows which engine's pairs to expect.
# 2.1.0: forbidden pairs masked before ranking, one short list per mentee across its languages (issue #18): same
# optimum, another candidate graph, so again possibly another of several equally good matchings.
# 2.1.1: features zero on every mentor or every mentee left out of the float products (shorter rescans): same
# optimum, but the products' rounding may move a candidate edge (545 460 -> 545 453 on org-chart-100k).
# 2.2.0: a suspect made suspect only by mentors whose price fell looks at those mentors alone (`_rescan_suspects`):
# same optimum, fewer near pairs added back, so again possibly another of several equally good matchings.
# 2.3.0: ties with a mentee's price scored exactly in the rescan rather than left in its float bound (`_Ties`): same
# optimum, other edges added back, so again possibly another of several equally good matchings.
ENGINE_VERSION = "tandem-matching/2.3.0"
DEFAULT_PER_MENTEE = 16
DEFAULT_SETTINGS = ProgramSettings()
# Add-back takes, per mentee, the most violating pairs, and pairs within 3% of the top score of violating:
# those would likely violate the next duals, so taking them now saves re-solves. Capped per mentee, so a
# mentee who could use any of thousands of free mentors adds a few, not thousands. The cap shrinks when
# many mentees are suspect, so one round adds at most about a quarter of the edges already solved on:
# every solve costs time in proportion to its edges, and a few suspects may take many edges cheaply.
NEAR_VIOLATION = 0.03
NEAR_PER_MENTEE = (16, 64)
# The flow solver scales costs by the node count + 1 and must not overflow int64 (it reports a bad cost range).
_COST_LIMIT = 2**62


class InvalidPool(ValueError):
    """The round's input contradicts itself (duplicate ids, pairs naming unknown participants)."""


# The pool's candidates, their sets and the rows built from them are millions of long-lived objects, which every full
# collection walks again: measured at 100 000 participants, collections took half of `input_hash` and 6 % of the round.
@collector.paused()  # a fresh pause per call (contextmanager objects recreate themselves as decorators)
def match(
    pool: Iterable[Candidate],
    settings: ProgramSettings = DEFAULT_SETTINGS,
    existing_pairs: Iterable[ExistingPair] = (),
    dissolved: Dissolved = frozenset(),
    withdrawn: frozenset[str] = frozenset(),
    *,
    excluded: Dissolved = frozenset(),
    pinned: Iterable[ExistingPair] = (),
    per_mentee: int = DEFAULT_PER_MENTEE,
) -> MatchResult:
    """Pairs for everyone still available in `pool`; active pairs stay and use their mentor's capacity.

    `excluded` couples (an admin's exclusion, a declined proposal) are edges removed, exactly as dissolved ones.
    `pinned` couples that every hard rule allows are fixed first, as if already active, and proposed with the
    round; the rest of the pool is then solved and certified on the capacity they leave (ADR 0002, addendum)."""
    people = sorted(pool, key=lambda c: c.participant_id)
    existing = tuple(existing_pairs)
    _check(people, existing)
    forbidden = frozenset(dissolved) | frozenset(excluded)
    fixed = feasible_pins(people, existing, forbidden, withdrawn, pinned)
    rules = RoundRules.of(people, existing + fixed, withdrawn)
    problem = RoundProblem.of(people, settings, rules, forbidden)
    chosen, certificate = _solve_certified(problem, per_mentee)
    pairs = tuple(sorted(_pinned_pairs(people, settings, fixed) + _pairs(problem, chosen), key=_couple))
    matched = {p.mentor_id for p in pairs} | {p.mentee_id for p in pairs}
    unmatched = explain_unmatched(people, settings, rules, forbidden, withdrawn, matched, problem.has_partner(chosen))
    return MatchResult(
        pairs=pairs,
        unmatched=unmatched,
        total_score=round(sum(p.score for p in pairs), 6),
        engine_version=ENGINE_VERSION,
        input_hash=input_hash(people, settings, existing, forbidden, withdrawn, per_mentee, pinned=fixed),
        certificate=certificate,
    )


def feasible_pins(
    people: list[Candidate],
    existing: tuple[ExistingPair, ...],
    forbidden: Dissolved,
    withdrawn: frozenset[str],
    pinned: Iterable[ExistingPair],
) -> tuple[ExistingPair, ...]:
    """The pins this round can honour, in (mentor, mentee) order: both present and free on their side, every pair
    rule kept (exclusions and history included), and capacity left once active pairs and earlier pins are counted.
    A pin that cannot be honoured now waits: the rest of the pool is matched as if it were not there."""
    by_id = {c.participant_id: c for c in people if c.participant_id not in withdrawn}
    kept = [p for p in existing if p.mentor_id in by_id and p.mentee_id in by_id]
    mentoring = Counter(p.mentor_id for p in kept)
    mentees = {p.mentee_id for p in kept}
    fixed: list[ExistingPair] = []
    for pin in sorted(set(pinned), key=lambda p: (p.mentor_id, p.mentee_id)):
        mentor, mentee = by_id.get(pin.mentor_id), by_id.get(pin.mentee_id)
        if mentor is None or mentee is None or not is_eligible(mentor, mentee, forbidden):
            continue
        if pin.mentee_id in mentees or pin.mentee_id in mentoring or pin.mentor_id in mentees:
            continue  # the mentee has a mentor, or one of them already plays the other side
        if mentoring[pin.mentor_id] >= mentor.capacity:
            continue
        mentoring[pin.mentor_id] += 1
        mentees.add(pin.mentee_id)
        fixed.append(pin)
    return tuple(fixed)


def _pinned_pairs(
    people: list[Candidate], settings: ProgramSettings, fixed: tuple[ExistingPair, ...]
) -> tuple[ProposedPair, ...]:
    by_id = {c.participant_id: c for c in people}
    return tuple(score_pair(by_id[pin.mentor_id], by_id[pin.mentee_id], settings) for pin in fixed)


def score_pair(mentor: Candidate, mentee: Candidate, settings: ProgramSettings) -> ProposedPair:
    """One couple's score and breakdown, as a round would give them (each weighted criterion in micro-points)."""
    weights = settings.weights.model_dump()
    unweighted = criteria(mentor, mentee, settings.focus_areas)
    parts = {name: round(unweighted[name] * weights[name] * SCORE_RESOLUTION) for name in CRITERIA}
    return ProposedPair(
        mentor_id=mentor.participant_id,
        mentee_id=mentee.participant_id,
        score=sum(parts.values()) / SCORE_RESOLUTION,
        breakdown={name: x / SCORE_RESOLUTION for name, x in parts.items()},
    )


def _couple(pair: ProposedPair) -> tuple[str, str]:
    return pair.mentor_id, pair.mentee_id


def input_hash(
    pool: Iterable[Candidate],
    settings: ProgramSettings,
    existing_pairs: Iterable[ExistingPair],
    dissolved: Dissolved,
    withdrawn: frozenset[str],
    per_mentee: int = DEFAULT_PER_MENTEE,
    *,
    pinned: Iterable[ExistingPair] = (),
) -> str:
    """sha256 of a canonical JSON of everything the result depends on, so a round can be replayed (exclusions are
    in `dissolved`; pins are hashed only when there are some, so rounds without any keep their earlier hashes)."""
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
    pins = sorted([p.mentor_id, p.mentee_id] for p in pinned)
    if pins:
        snapshot["pinned"] = pins
    text = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical(value: object) -> object:
    """JSON-ready and order-free: sets become sorted lists, dataclasses and pydantic models dicts of their fields."""
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, tuple):
        return list(value)
    if is_dataclass(value) and not isinstance(value, type):
        return {name: _canonical(getattr(value, name)) for name in _field_names(type(value))}
    return value


def _candidate_row(c: Candidate) -> list[object]:
    # Tuples stay tuples: JSON writes them as it writes lists, so the hash is the same.
    return [sorted(v) if isinstance(v, frozenset) else v for v in _CANDIDATE_VALUES(c)]


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


# Every field of a candidate in one call, in field order: a generator of getattrs cost 1.5x more at 100 000.
_CANDIDATE_VALUES = attrgetter(*_field_names(Candidate))


def _check(people: list[Candidate], existing: tuple[ExistingPair, ...]) -> None:
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
    def of(cls, settings: ProgramSettings, max_pairs: int, nodes: int) -> _Objective:
        q_max = max_quantized_score(settings.weights)
        if settings.optimize_for == "participation":
            objective = cls(scale=1, offset=max_pairs * q_max + 1)
        else:
            objective = cls(scale=max_pairs + 1, offset=1)
        if int(objective.value(np.array([q_max]))[0]) * (nodes + 2) >= _COST_LIMIT:
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
            objective=_Objective.of(
                settings, min(len(mentee_ids), int(capacity.sum())), nodes=len(mentor_ids) + len(mentee_ids)
            ),
            min_q=min_quantized(settings.min_score),
        )

    def key(self, mentor: IntArray, mentee: IntArray) -> IntArray:
        return mentor * len(self.mentees) + mentee

    def eligible_values(self, mentor: IntArray, mentee: IntArray) -> tuple[IntArray, IntArray, IntArray]:
        """The eligible pairs among those given (history and min_score filtered) with their values w."""
        allowed = ~contains(self.forbidden, self.key(mentor, mentee))
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
    """Sorted keys mentor_row * n_mentees + mentee_row of the pairs `forbidden_by_history` names, in both
    orientations. Built from index arrays rather than a set of id pairs: a 1 M-person tree has about 7 M
    (person, manager) links, which as Python frozensets took gigabytes and most of a minute."""
    person, other = history_links(people, dissolved)
    mentor_row = np.full(len(people), -1, dtype=np.int64)
    mentee_row = np.full(len(people), -1, dtype=np.int64)
    row_of = {pid: i for i, pid in enumerate(c.participant_id for c in people)}
    mentor_row[[row_of[pid] for pid in mentor_ids]] = np.arange(len(mentor_ids))
    mentee_row[[row_of[pid] for pid in mentee_ids]] = np.arange(len(mentee_ids))
    mentor = np.concatenate([mentor_row[person], mentor_row[other]])
    mentee = np.concatenate([mentee_row[other], mentee_row[person]])
    both = (mentor >= 0) & (mentee >= 0)
    return unique_keys(mentor[both] * len(mentee_ids) + mentee[both])


@dataclass(frozen=True)
class _Edges:
    """Every eligible edge seen (candidates and each mentor's best mentee) and the edges of the matching."""

    seen_mentor: IntArray
    seen_mentee: IntArray
    mentor: IntArray
    mentee: IntArray


_NO_BOUND = -(2**62)  # "no eligible pair was left off": below any value, and safe to add prices to
_EVERYTHING = 2**61  # a reach that makes every eligible pair "near"


@dataclass
class _LeftOff:
    """What is known of each mentee's eligible pairs that are *not* candidate edges: an upper bound on
    w_ij - u_i over them (`bound`), for the prices u of the solve it was measured at (`measured_at`).

    Prices move between solves, so a bound measured at prices p still holds at prices u after adding
    max_i (p_i - u_i) ≥ 0: a mentee needs a rescan only if that no longer rules out a violation."""

    bound: IntArray
    measured_at: IntArray
    prices: list[IntArray]

    def suspects(self, u: IntArray, v: IntArray) -> IntArray:
        drift = np.array([max(0, int((p - u).max(initial=0))) for p in self.prices], dtype=np.int64)
        return np.flatnonzero(self.bound + drift[self.measured_at] > v)


def _solve_certified(problem: RoundProblem, per_mentee: int) -> tuple[_Edges, Certificate]:
    listed = candidates.shortlist(
        problem.embedding, problem.mentors, problem.mentees, per_mentee, problem.settings.min_score, problem.forbidden
    )
    mentor, mentee, value = problem.eligible_values(listed.mentor, listed.mentee)
    left = _LeftOff(
        bound=_shortlist_bound(problem, listed.bound),
        measured_at=np.zeros(len(problem.mentees), dtype=np.int64),
        prices=[np.zeros(len(problem.mentors), dtype=np.int64)],  # the shortlist ranked by score alone
    )
    rechecked, added, solves, shortlist_primal = 0, 0, 0, 0
    reach = int(NEAR_VIOLATION * max_quantized_score(problem.settings.weights)) * problem.objective.scale
    certified = False
    while not certified:
        in_matching = _solve(mentor, mentee, value, problem.capacity, len(problem.mentees))
        solves += 1
        u, v = duals.duals(mentor, mentee, value, in_matching, problem.capacity, len(problem.mentees))
        primal = int(value[in_matching].sum())
        if solves == 1:
            shortlist_primal = primal
        dual = duals.dual_objective(u, v, problem.capacity)
        if dual != primal or duals.violations(mentor, mentee, value, u, v).any() or (u < 0).any() or (v < 0).any():
            raise duals.NotOptimal("duals do not certify the sparse solution")
        left.prices.append(u)
        lowest, highest = NEAR_PER_MENTEE
        suspects = left.suspects(u, v)
        cap = int(np.clip(len(mentor) // (4 * max(1, len(suspects))), lowest, highest))
        while True:
            if not len(suspects):
                certified = True  # every left-off pair of every mentee is proven to respect (u, v)
                break
            rechecked += len(suspects)
            # Once the cap covers every mentor, return every eligible pair: exact values, nothing left to bound.
            exhaustive = cap >= len(problem.mentors)
            near, near_bound = _rescan_suspects(
                problem, left, suspects, u, v, _EVERYTHING if exhaustive else reach, cap
            )
            violating = duals.violations(*near, u, v)
            if violating.any():
                fresh = ~contains(np.sort(problem.key(mentor, mentee)), problem.key(near[0], near[1]))
                added += int(fresh.sum())
                mentor, mentee, value = (
                    np.concatenate([old, new[fresh]]) for old, new in zip((mentor, mentee, value), near, strict=True)
                )
                left.bound[suspects], left.measured_at[suspects] = near_bound[suspects], len(left.prices) - 1
                break  # solve again with the added edges
            # No violation found, yet the float bounds could not rule one out for some mentees: their
            # returned pairs (all eligible, none violating) join the bound; widen the look for the rest.
            own = np.full(len(problem.mentees), _NO_BOUND)
            np.maximum.at(own, near[1], near[2] - u[near[0]])
            left.bound[suspects] = np.maximum(near_bound[suspects], own[suspects])
            left.measured_at[suspects] = len(left.prices) - 1
            suspects = suspects[left.bound[suspects] > v[suspects]]
            cap *= 4
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


def _shortlist_bound(problem: RoundProblem, score_bound: np.ndarray) -> IntArray:
    """The shortlist's per-mentee score bound as a value w (u = 0 then, so it bounds w - u too)."""
    finite = np.isfinite(score_bound)
    bound = np.full(len(score_bound), _NO_BOUND)
    q = np.ceil(score_bound[finite] * SCORE_RESOLUTION).astype(np.int64) + 1
    bound[finite] = problem.objective.value(q)
    return bound


def _rescan_suspects(
    problem: RoundProblem, left: _LeftOff, suspects: IntArray, u: IntArray, v: IntArray, reach: int, cap: int
) -> tuple[tuple[IntArray, IntArray, IntArray], IntArray]:
    """`_pairs_near_duals` of the suspects, each looking only at the mentors that can break its bound.

    A suspect whose bound B_j, measured at prices p, is still at most v_j is suspect only because some mentors'
    prices fell since: w_ij - u_i ≤ B_j + (p_i - u_i), so only mentors whose price fell by more than v_j - B_j can
    violate. Late in a round that is a few dozen mentors, where a full look scans them all. Per set of prices, one
    cut τ splits the suspects: those with v_j - B_j ≥ τ look at the mentors whose price fell by more than τ (the
    others add at most B_j + max fall ≤ v_j to the new bound), the rest at every mentor; τ minimises the pairs
    scanned."""
    slack = v[suspects] - left.bound[suspects]
    looks: list[tuple[IntArray, np.ndarray | None, int]] = []
    full = [suspects[slack < 0]]
    for at in np.unique(left.measured_at[suspects]):
        in_group = (slack >= 0) & (left.measured_at[suspects] == at)
        group, group_slack = suspects[in_group], slack[in_group]
        if not len(group):
            continue
        falls = left.prices[at] - u
        cuts = np.sort(group_slack)
        scanned = len(falls) - np.searchsorted(np.sort(falls), cuts, side="right")  # mentors whose price fell more
        cost = np.arange(len(cuts)) * len(falls) + (len(cuts) - np.arange(len(cuts))) * scanned
        best = int(np.argmin(cost))
        if cost[best] >= len(cuts) * len(falls):
            full.append(group)
            continue
        cut = int(cuts[best])
        full.append(group[group_slack < cut])
        outside = int(falls[falls <= cut].max(initial=_NO_BOUND))
        looks.append((group[group_slack >= cut], falls > cut, outside))
    looks.append((np.concatenate(full), None, _NO_BOUND))
    pairs: list[tuple[IntArray, IntArray, IntArray]] = []
    bound = np.full(len(problem.mentees), _NO_BOUND)
    for rows, only_mentors, outside in looks:
        if not len(rows):
            continue
        near, near_bound = _pairs_near_duals(problem, rows, u, v, reach, cap, only_mentors)
        if outside > _NO_BOUND:
            near_bound[rows] = np.maximum(near_bound[rows], left.bound[rows] + outside)
        pairs.append(near)
        bound[rows] = near_bound[rows]
    mentor, mentee, value = (np.concatenate(parts) for parts in zip(*pairs, strict=True))
    return (mentor, mentee, value), bound


def _pairs_near_duals(
    problem: RoundProblem,
    suspects: IntArray,
    u: IntArray,
    v: IntArray,
    reach: int,
    cap: int,
    only_mentors: np.ndarray | None = None,
) -> tuple[tuple[IntArray, IntArray, IntArray], IntArray]:
    """Eligible pairs of the suspect mentees with w > u_i + v_j - reach: every violating pair, and (reach > 0)
    the nearly violating ones too, which the next solve would otherwise likely turn into violations; at
    most `cap` per mentee. Also, per mentee, a bound on w_ij - u_i over its eligible pairs not returned (among
    `only_mentors`, when given)."""
    per_unit = problem.objective.scale * SCORE_RESOLUTION
    mentor_slack = u / per_unit
    mentee_slack = (v - reach - problem.objective.offset) / per_unit
    scanned = candidates.rescan(
        problem.embedding,
        problem.mentors,
        problem.mentees,
        suspects,
        mentor_slack,
        mentee_slack,
        problem.settings.min_score,
        cap,
        problem.forbidden,
        only_mentors,
        # Ties settle at v_j itself: a bound of this converts to at most v_j (ceil and the +1 below, and rounding).
        exact_slack=(v - problem.objective.offset - 4) / per_unit,
    )
    # score - u_i/per_unit ≤ bound  ⇒  w - u_i ≤ per_unit·bound + offset (+1 covers float rounding)
    bound = np.full(len(problem.mentees), _NO_BOUND)
    finite = np.isfinite(scanned.left_bound)
    bound[finite] = np.ceil(scanned.left_bound[finite] * per_unit).astype(np.int64) + problem.objective.offset + 1
    mentor, mentee, value = problem.eligible_values(scanned.mentor, scanned.mentee)
    net = value - u[mentor]
    order = np.lexsort((mentor, -net, mentee))
    mentor, mentee, value, net = mentor[order], mentee[order], value[order], net[order]
    rank = np.arange(len(mentee)) - np.searchsorted(mentee, mentee)
    keep = (net - v[mentee] > -reach) & (rank < cap)
    np.maximum.at(bound, mentee[~keep], net[~keep])  # rescored exactly but not returned
    return (mentor[keep], mentee[keep], value[keep]), bound


def _solve(mentor: IntArray, mentee: IntArray, value: IntArray, capacity: IntArray, n_mentees: int) -> np.ndarray:
    """Mask of the edges in a maximum-value matching of this edge set (mentor i used at most capacity[i]).

    Posed as a min-cost flow and solved by OR-Tools' cost-scaling push-relabel: every mentee supplies one
    unit that reaches the sink either through a mentor (arc mentee→mentor of cost -w, mentor→sink of
    capacity c_i) or straight ("stays unmatched", cost 0). The cheapest flow is the most valuable matching,
    capacities included, without copying mentors into slots. Integer costs keep it exact.
    """
    if not len(mentor):
        return np.zeros(0, dtype=bool)
    n_mentors = len(capacity)
    sink = n_mentees + n_mentors
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate([mentee, np.arange(n_mentees), n_mentees + np.arange(n_mentors)]),
        np.concatenate([n_mentees + mentor, np.full(n_mentees + n_mentors, sink)]),
        np.concatenate([np.ones(len(mentor) + n_mentees, dtype=np.int64), capacity]),
        np.concatenate([-value, np.zeros(n_mentees + n_mentors, dtype=np.int64)]),
    )
    supplies = np.zeros(sink + 1, dtype=np.int64)
    supplies[:n_mentees] = 1
    supplies[sink] = -n_mentees
    flow.set_nodes_supplies(np.arange(sink + 1), supplies)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise duals.NotOptimal(f"min-cost flow ended with status {status}")
    return np.asarray(flow.flows(np.arange(len(mentor)))) > 0


def _pairs(problem: RoundProblem, chosen: _Edges) -> tuple[ProposedPair, ...]:
    rows = criterion_matrix(
        problem.mentors, problem.mentees, chosen.mentor, chosen.mentee, len(problem.settings.focus_areas)
    )
    contributions = quantized_contributions(rows, problem.settings.weights)
    pairs = [
        ProposedPair(
            mentor_id=problem.mentors.ids[i],
            mentee_id=problem.mentees.ids[j],
            score=int(parts.sum()) / SCORE_RESOLUTION,
            breakdown={name: int(x) / SCORE_RESOLUTION for name, x in zip(CRITERIA, parts, strict=True)},
        )
        for i, j, parts in zip(chosen.mentor, chosen.mentee, contributions, strict=True)
    ]
    return tuple(sorted(pairs, key=lambda p: (p.mentor_id, p.mentee_id)))
