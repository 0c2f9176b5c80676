"""Soft criteria: each in [0, 1], the fast paths equal to the reference, the breakdown adding up."""

import numpy as np
import pytest
from hypothesis import given, settings
from matching_pools import FOCUS, person, pools

from services.matching.domain.engine import match
from services.matching.domain.model import ProgramSettings
from services.matching.domain.scoring import (
    CRITERIA,
    SCORE_RESOLUTION,
    Side,
    Vocabulary,
    criteria,
    criterion_matrix,
    embed,
    quantized_scores,
)
from shared.events import MATCHING_CRITERIA, MatchingWeights

FEW = settings(max_examples=50, deadline=None)


def test_the_reference_scores_the_published_criteria_in_their_order():
    mentor, mentee = person("m", "mentor", 1), person("e", "mentee", 5)
    assert tuple(criteria(mentor, mentee, FOCUS)) == MATCHING_CRITERIA == CRITERIA


@FEW
@given(pools(min_size=2, max_size=8))
def test_every_criterion_lies_between_zero_and_one(pool):
    values = [v for a in pool for b in pool for v in criteria(a, b, FOCUS).values()]
    assert all(0.0 <= v <= 1.0 for v in values)


@FEW
@given(pools(min_size=2, max_size=8))
def test_vectorised_criteria_equal_the_reference(pool):
    side, rows, cols = _all_pairs(pool)
    matrix = criterion_matrix(side, side, rows, cols, len(FOCUS))
    expected = [[criteria(pool[i], pool[j], FOCUS)[c] for c in CRITERIA] for i, j in zip(rows, cols, strict=True)]
    assert np.array_equal(matrix, np.array(expected))


@FEW
@given(pools(min_size=2, max_size=8))
def test_the_matrix_product_stays_within_its_error_bound(pool):
    side, rows, cols = _all_pairs(pool)
    embedding = embed(side, side, Vocabulary.of(pool, FOCUS), MatchingWeights())
    approximate = (embedding.a @ embedding.b.T)[rows, cols].astype(np.float64)
    exact = quantized_scores(criterion_matrix(side, side, rows, cols, len(FOCUS)), MatchingWeights()) / SCORE_RESOLUTION
    assert np.all(exact <= approximate + embedding.error)
    assert np.all(exact >= approximate - 1e-4 - embedding.error)


def test_a_pairs_breakdown_adds_up_to_its_score():
    pool = [
        person("m", "mentor", 1, skills_offered=frozenset({"ai"}), birth_year=2000),
        person("e", "mentee", 5, skills_wanted=frozenset({"ai", "data", "python"}), department="hr"),
    ]
    (pair,) = match(pool, ProgramSettings(focus_areas=FOCUS)).pairs
    assert pair.breakdown["skills_to_mentee"] == 1.0 and pair.score == pytest.approx(sum(pair.breakdown.values()))


def test_time_zone_overlap_fades_to_zero_at_twelve_hours():
    a, b, c = (person(p, utc_offset_hours=h) for p, h in (("a", -5.0), ("b", 1.0), ("c", 9.0)))
    assert criteria(a, b, FOCUS)["time_zone_overlap"] == 0.5 and criteria(a, c, FOCUS)["time_zone_overlap"] == 0.0


def _all_pairs(pool):
    side = Side.of(pool, Vocabulary.of(pool, FOCUS))
    rows, cols = np.divmod(np.arange(len(pool) ** 2), len(pool))
    return side, rows, cols
