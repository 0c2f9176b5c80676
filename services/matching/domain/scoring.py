"""Soft criteria: how well a (mentor, mentee) pair fits, as a weighted sum of criteria each in [0, 1].

With O = skills offered, W = skills wanted, F = the program's focus areas, f = a participant's focus areas:

- skills_to_mentee     = |O_mentor ∩ W_mentee| / |W_mentee|          (0 when the mentee wants nothing)
- skills_to_mentor     = |O_mentee ∩ W_mentor| / |W_mentor|          (two-way mentoring; 0 likewise)
- cross_department     = 1 if the departments differ, else 0
- generation_gap       = min(|birth_year_mentor - birth_year_mentee|, 25) / 25   (25 years ≈ one generation)
- program_focus        = |F ∩ f_mentor ∩ f_mentee| / |F|              (0 when the program has no focus)
- communication_style  = 1 if both state the same style, else 0
- time_zone_overlap    = max(0, 1 - |offset difference in hours| / 12)

score = Σ weight_c · criterion_c, each term rounded to `SCORE_RESOLUTION` (micro-points): the engine
optimises these integers, so totals are exact and its certificate needs no floating-point tolerance, and
a pair's breakdown adds up to its score exactly.

Three implementations, kept equal by tests: `criteria` (one pair, the reference), `criterion_matrix`
(many pairs, exact, vectorised) and `embed` (every pair at once as a matrix product A·Bᵀ, approximate,
with a proven error bound, used only to find and to rule out candidates).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.matching.domain.model import Candidate
from shared.events import MATCHING_CRITERIA, MatchingWeights

CRITERIA = MATCHING_CRITERIA  # the contract's names, in the order the breakdown lists them
GENERATION_YEARS = 25.0
SCORE_RESOLUTION = 1_000_000
JITTER = 1e-4  # breaks ties between equal approximate scores so candidate lists spread over equal partners
JITTER_DIMENSIONS = 8

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BitArray = npt.NDArray[np.uint64]


def criteria(mentor: Candidate, mentee: Candidate, focus_areas: frozenset[str]) -> dict[str, float]:
    """Each criterion of the pair, unweighted, in [0, 1]."""
    return {
        "skills_to_mentee": _share(mentor.skills_offered, mentee.skills_wanted),
        "skills_to_mentor": _share(mentee.skills_offered, mentor.skills_wanted),
        "cross_department": float(mentor.department != mentee.department),
        "generation_gap": min(abs(mentor.birth_year - mentee.birth_year), GENERATION_YEARS) / GENERATION_YEARS,
        "program_focus": _share(mentor.focus_areas & mentee.focus_areas, focus_areas),
        "communication_style": float(
            bool(mentor.communication_style) and mentor.communication_style == mentee.communication_style
        ),
        "time_zone_overlap": time_zone_overlap(mentor.utc_offset_hours, mentee.utc_offset_hours),
    }


def time_zone_overlap(a: float, b: float) -> float:
    return max(0.0, 1.0 - abs(a - b) / 12.0)


def time_zone_overlaps(a: FloatArray, b: FloatArray) -> FloatArray:
    return np.maximum(0.0, 1.0 - np.abs(a - b) / 12.0)


def _share(have: frozenset[str], want: frozenset[str]) -> float:
    return len(have & want) / len(want) if want else 0.0


@dataclass(frozen=True)
class Vocabulary:
    """Codes for every string attribute of a round, sorted so the encoding never depends on input order."""

    skills: dict[str, int]
    languages: dict[str, int]
    departments: dict[str, int]
    styles: dict[str, int]
    focus: dict[str, int]

    @classmethod
    def of(cls, pool: Sequence[Candidate], focus_areas: frozenset[str]) -> Vocabulary:
        def codes(values: set[str]) -> dict[str, int]:
            return {v: i for i, v in enumerate(sorted(values))}

        return cls(
            skills=codes({s for c in pool for s in c.skills_offered | c.skills_wanted}),
            languages=codes({lang for c in pool for lang in c.languages}),
            departments=codes({c.department for c in pool}),
            styles=codes({c.communication_style for c in pool if c.communication_style}),
            focus=codes(set(focus_areas)),
        )


@dataclass(frozen=True)
class Side:
    """One side of the round (mentors or mentees) as arrays, row i describing `ids[i]`."""

    ids: tuple[str, ...]
    grade: IntArray
    birth_year: IntArray
    department: IntArray
    style: IntArray  # -1: no style stated
    utc_offset: FloatArray
    languages: BitArray  # (n, words) bitsets
    offered: BitArray
    wanted: BitArray
    focus: BitArray  # the participant's focus areas that are also the program's

    @classmethod
    def of(cls, candidates: Sequence[Candidate], vocab: Vocabulary) -> Side:
        return cls(
            ids=tuple(c.participant_id for c in candidates),
            grade=np.array([c.grade for c in candidates], dtype=np.int64),
            birth_year=np.array([c.birth_year for c in candidates], dtype=np.int64),
            department=np.array([vocab.departments[c.department] for c in candidates], dtype=np.int64),
            style=np.array([vocab.styles.get(c.communication_style, -1) for c in candidates], dtype=np.int64),
            utc_offset=np.array([c.utc_offset_hours for c in candidates], dtype=np.float64),
            languages=bitsets([c.languages for c in candidates], vocab.languages),
            offered=bitsets([c.skills_offered for c in candidates], vocab.skills),
            wanted=bitsets([c.skills_wanted for c in candidates], vocab.skills),
            focus=bitsets([c.focus_areas for c in candidates], vocab.focus),
        )

    def __len__(self) -> int:
        return len(self.ids)


def bitsets(sets: Sequence[frozenset[str]], codes: dict[str, int]) -> BitArray:
    words = max(1, (len(codes) + 63) // 64)
    flat = np.zeros((len(sets), words * 64), dtype=bool)
    rows = [i for i, s in enumerate(sets) for v in s if v in codes]
    cols = [codes[v] for s in sets for v in s if v in codes]
    flat[rows, cols] = True
    return np.packbits(flat, axis=1, bitorder="little").view(np.uint64).reshape(len(sets), words)


def count_common(a: BitArray, b: BitArray) -> IntArray:
    return np.bitwise_count(a & b).sum(axis=-1, dtype=np.int64)


def criterion_matrix(
    mentors: Side, mentees: Side, mentor_rows: IntArray, mentee_rows: IntArray, n_focus: int
) -> FloatArray:
    """Unweighted criteria of the pairs (mentors[mentor_rows[k]], mentees[mentee_rows[k]]), one row per pair."""
    m, e = mentor_rows, mentee_rows
    wanted_by_mentee = count_common(mentees.wanted[e], mentees.wanted[e])
    wanted_by_mentor = count_common(mentors.wanted[m], mentors.wanted[m])
    columns = (
        _ratio(count_common(mentors.offered[m], mentees.wanted[e]), wanted_by_mentee),
        _ratio(count_common(mentees.offered[e], mentors.wanted[m]), wanted_by_mentor),
        (mentors.department[m] != mentees.department[e]).astype(np.float64),
        np.minimum(np.abs(mentors.birth_year[m] - mentees.birth_year[e]), GENERATION_YEARS) / GENERATION_YEARS,
        _ratio(count_common(mentors.focus[m], mentees.focus[e]), np.full(len(m), n_focus)),
        ((mentors.style[m] == mentees.style[e]) & (mentors.style[m] >= 0)).astype(np.float64),
        time_zone_overlaps(mentors.utc_offset[m], mentees.utc_offset[e]),
    )
    return np.column_stack(columns) if len(m) else np.zeros((0, len(CRITERIA)))


def quantized_contributions(criteria_rows: FloatArray, weights: MatchingWeights) -> IntArray:
    """Each criterion's weighted contribution in micro-points, one row per pair."""
    w = np.array([weights.model_dump()[name] for name in CRITERIA])
    return np.rint(criteria_rows * w * SCORE_RESOLUTION).astype(np.int64)


def quantized_scores(criteria_rows: FloatArray, weights: MatchingWeights) -> IntArray:
    """Scores in micro-points: the integers the engine optimises."""
    return quantized_contributions(criteria_rows, weights).sum(axis=1)


def max_quantized_score(weights: MatchingWeights) -> int:
    return int(np.ceil(sum(weights.model_dump().values()) * SCORE_RESOLUTION)) + len(CRITERIA)


def min_quantized(min_score: float) -> int:
    """The lowest eligible score in micro-points for a program's `min_score`."""
    return math.ceil(round(min_score * SCORE_RESOLUTION, 6))


def _ratio(count: IntArray, total: IntArray) -> FloatArray:
    return np.divide(count, total, out=np.zeros(len(count)), where=total > 0)


@dataclass(frozen=True)
class Embedding:
    """Feature matrices with mentors.a[i] · mentees.b[j] ≈ score(i, j) + jitter, jitter in [0, 1e-4].

    `error` bounds |float32 product - q/10⁶ - jitter| where q is the quantized score: Higham's gamma bound for
    a length-d dot product (any summation order) applied to Σ|a_k·b_k| ≤ max‖a‖₁·max|b|, plus the rounding
    of each criterion to micro-points, plus a few float32 ulps for comparisons. So for every pair
    q/10⁶ ≤ a·b + error and q/10⁶ ≥ a·b - jitter - error.
    """

    a: npt.NDArray[np.float32]
    b: npt.NDArray[np.float32]
    error: float


def embed(mentors: Side, mentees: Side, vocab: Vocabulary, weights: MatchingWeights) -> Embedding:
    parts = [
        _skills_to_mentee(mentors, mentees, len(vocab.skills), weights.skills_to_mentee),
        _skills_to_mentor(mentors, mentees, len(vocab.skills), weights.skills_to_mentor),
        _cross_department(mentors, mentees, len(vocab.departments), weights.cross_department),
        _generation_gap(mentors, mentees, weights.generation_gap),
        _program_focus(mentors, mentees, len(vocab.focus), weights.program_focus),
        _style(mentors, mentees, len(vocab.styles), weights.communication_style),
        _time_zone(mentors, mentees, weights.time_zone_overlap),
        _jitter(len(mentors), len(mentees)),
    ]
    wide_a, wide_b = np.hstack([p[0] for p in parts]), np.hstack([p[1] for p in parts])
    # A feature zero on every mentor or on every mentee adds nothing to any product: a skill nobody offers, a
    # department no mentee is in. Dropped, the products every shortlist and rescan computes are that much shorter
    # (91 of 131 features remain on the 10 000 x 10 000 bench pool).
    used = (wide_a != 0).any(axis=0) & (wide_b != 0).any(axis=0)
    a = np.ascontiguousarray(wide_a[:, used], dtype=np.float32)
    b = np.ascontiguousarray(wide_b[:, used], dtype=np.float32)
    unit = 2.0**-24
    d = a.shape[1] + 3  # +3 covers rounding the features themselves to float32
    gamma = d * unit / (1 - d * unit)
    largest_a = float(np.abs(a).sum(axis=1).max(initial=0.0))
    largest_b = float(np.abs(b).max(initial=0.0))
    # The float32 slack added when comparing approximate scores with thresholds: a few ulps of any score.
    comparison = 8 * float(np.spacing(np.float32(largest_a * largest_b)))
    rounding = len(CRITERIA) * 0.5 / SCORE_RESOLUTION
    return Embedding(a=a, b=b, error=2 * gamma * largest_a * largest_b + comparison + rounding + 1e-9)


Features = tuple[FloatArray, FloatArray]


def _dense(bits: BitArray, width: int) -> FloatArray:
    flat = np.unpackbits(bits.view(np.uint8), axis=1, bitorder="little")[:, :width]
    return flat.astype(np.float64)


def _skills_to_mentee(mentors: Side, mentees: Side, n_skills: int, weight: float) -> Features:
    wanted = _dense(mentees.wanted, n_skills)
    per_skill = np.divide(
        weight,
        wanted.sum(axis=1, keepdims=True),
        out=np.zeros((len(mentees), 1)),
        where=wanted.sum(axis=1, keepdims=True) > 0,
    )
    return _dense(mentors.offered, n_skills), wanted * per_skill


def _skills_to_mentor(mentors: Side, mentees: Side, n_skills: int, weight: float) -> Features:
    b, a = _skills_to_mentee(mentees, mentors, n_skills, weight)  # the same formula, sides swapped
    return a, b


def _cross_department(mentors: Side, mentees: Side, n_departments: int, weight: float) -> Features:
    a = np.hstack([np.ones((len(mentors), 1)), _one_hot(mentors.department, n_departments)])
    b = np.hstack([np.full((len(mentees), 1), weight), -weight * _one_hot(mentees.department, n_departments)])
    return a, b


def _generation_gap(mentors: Side, mentees: Side, weight: float) -> Features:
    years, mentor_codes = np.unique(mentors.birth_year, return_inverse=True)
    gap = np.minimum(np.abs(years[None, :] - mentees.birth_year[:, None]), GENERATION_YEARS) / GENERATION_YEARS
    return _one_hot(mentor_codes, len(years)), weight * gap


def _program_focus(mentors: Side, mentees: Side, n_focus: int, weight: float) -> Features:
    if n_focus == 0:
        return np.zeros((len(mentors), 0)), np.zeros((len(mentees), 0))
    return _dense(mentors.focus, n_focus), weight / n_focus * _dense(mentees.focus, n_focus)


def _style(mentors: Side, mentees: Side, n_styles: int, weight: float) -> Features:
    return _one_hot(mentors.style, n_styles), weight * _one_hot(mentees.style, n_styles)


def _time_zone(mentors: Side, mentees: Side, weight: float) -> Features:
    offsets, mentor_codes = np.unique(mentors.utc_offset, return_inverse=True)
    overlap = time_zone_overlaps(offsets[None, :], mentees.utc_offset[:, None])
    return _one_hot(mentor_codes, len(offsets)), weight * overlap


def _jitter(n_mentors: int, n_mentees: int) -> Features:
    """a·b in [0, JITTER]: signed random directions, so that among equal scores each mentee prefers mentors of its
    own. With positive features every mentee preferred the same few mentors (those with the largest a): on the
    1 M org chart about 56 000 mentees rescanned for much the same 16 free mentors, round after round."""
    rng = np.random.default_rng(20_240_601)  # fixed: the same pool always gets the same jitter
    a = rng.uniform(-1.0, 1.0, (n_mentors, JITTER_DIMENSIONS))
    b = rng.uniform(-1.0, 1.0, (n_mentees, JITTER_DIMENSIONS)) * (JITTER / (2 * JITTER_DIMENSIONS))
    # One constant feature lifts every product to at least 0: |a·b| <= Σ|b_k| as |a_k| <= 1.
    return np.hstack([a, np.ones((n_mentors, 1))]), np.hstack([b, np.abs(b).sum(axis=1, keepdims=True)])


def _one_hot(codes: IntArray, width: int) -> FloatArray:
    out = np.zeros((len(codes), width))
    known = codes >= 0
    out[np.flatnonzero(known), codes[known]] = 1.0
    return out
