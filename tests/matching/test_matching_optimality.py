"""The engine's result is optimal: equal to exhaustive search and to dense assignment, whatever the pool."""

import gc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matching_pools import SKILLS, brute_force, dissolved_pairs, micro_score, person, pools, settings_strategy
from scipy.optimize import linear_sum_assignment

from services.matching.domain import engine
from services.matching.domain.constraints import RoundRules, is_eligible
from services.matching.domain.engine import match
from services.matching.domain.model import Candidate, ProgramSettings
from shared import collector

FEW = settings(max_examples=100, deadline=None)


@FEW
@given(st.data())
def test_total_equals_exhaustive_search_on_tiny_pools(data):
    pool = data.draw(pools())
    program, dissolved = data.draw(settings_strategy), data.draw(dissolved_pairs(pool))
    result = match(pool, program, dissolved=dissolved)
    best_total, most_pairs = brute_force(pool, program, dissolved)
    assert result.total_score == pytest.approx(best_total, abs=1e-6)
    if program.optimize_for == "participation":
        assert len(result.pairs) == most_pairs


@settings(max_examples=20, deadline=None)
@given(pools(min_size=20, max_size=60, roles=("mentor", "mentee"), max_capacity=1))
def test_total_equals_dense_linear_sum_assignment_on_medium_pools(pool):
    # Ineligible pairs get weight 0: an assignment using one is no better than leaving both unmatched.
    weights = _dense_scores(pool, ProgramSettings())
    rows, cols = linear_sum_assignment(weights, maximize=True)
    assert match(pool).total_score == pytest.approx(weights[rows, cols].sum(), abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(pools(max_size=9))
def test_participation_matches_at_least_as_many_mentees_as_score(pool):
    by_score = match(pool, ProgramSettings(optimize_for="score"))
    by_participation = match(pool, ProgramSettings(optimize_for="participation"))
    assert len(by_participation.pairs) >= len(by_score.pairs)
    assert by_participation.total_score <= by_score.total_score + 1e-9


@settings(max_examples=60, deadline=None)
@given(pools(max_size=10))
def test_certificate_is_tight(pool):
    certificate = match(pool).certificate
    assert certificate.primal == certificate.dual


def _dense_scores(pool: list[Candidate], program: ProgramSettings) -> np.ndarray:
    rules = RoundRules.of(pool, (), frozenset())
    by_id = {c.participant_id: c for c in pool}
    mentors, mentees = rules.available("mentor"), rules.available("mentee")
    weights = np.zeros((len(mentors), len(mentees)))
    for i, m in enumerate(mentors):
        for j, e in enumerate(mentees):
            if is_eligible(by_id[m], by_id[e]):
                weights[i, j] = micro_score(by_id[m], by_id[e], program)
    return weights


def test_add_back_recovers_the_optimum_a_one_edge_shortlist_misses():
    pool = _square_pool(seed=0)
    result = match(pool, per_mentee=1)
    weights = _dense_scores(pool, ProgramSettings())
    rows, cols = linear_sum_assignment(weights, maximize=True)
    assert result.certificate.shortlist_primal < result.certificate.primal
    assert result.certificate.added_back_edges > 0
    assert result.total_score == pytest.approx(weights[rows, cols].sum(), abs=1e-6)


def test_shortlist_length_changes_the_work_not_the_optimum():
    pool = _square_pool(seed=3)
    assert match(pool, per_mentee=1).total_score == match(pool, per_mentee=24).total_score


def _square_pool(seed: int, n: int = 12) -> list[Candidate]:
    rng = np.random.default_rng(seed)

    def drawn(pid: str, role: str, grade: int) -> Candidate:
        return person(
            pid,
            role,
            grade,
            birth_year=int(rng.integers(1960, 2000)),
            department=str(rng.choice(["a", "b", "c"])),
            skills_offered=frozenset(rng.choice(SKILLS, 2, replace=False)),
            skills_wanted=frozenset(rng.choice(SKILLS, 2, replace=False)),
        )

    return [drawn(f"m{i:03d}", "mentor", 1) for i in range(n)] + [drawn(f"e{i:03d}", "mentee", 5) for i in range(n)]


@pytest.mark.parametrize("seed", range(4))
def test_rescans_that_look_only_at_mentors_whose_price_fell_keep_the_optimum(seed, monkeypatch):
    # Late in a round most suspects are suspect only because a few mentors got cheaper: they look at those
    # mentors alone (`engine._rescan_suspects`). The result must stay the dense optimum, certified.
    looks: list[bool] = []
    everyone = engine._pairs_near_duals

    def spied(*args, **kwargs):
        looks.append(args[-1] is not None)
        return everyone(*args, **kwargs)

    monkeypatch.setattr(engine, "_pairs_near_duals", spied)
    pool = _square_pool(seed, n=150)
    result = match(pool, per_mentee=2)
    weights = _dense_scores(pool, ProgramSettings())
    rows, cols = linear_sum_assignment(weights, maximize=True)
    assert any(looks), "no rescan looked at some mentors only: the test no longer exercises that path"
    assert result.certificate.primal == result.certificate.dual
    assert result.total_score == pytest.approx(weights[rows, cols].sum(), abs=1e-6)


@settings(max_examples=15, deadline=None)
@given(pools(min_size=20, max_size=60, roles=("mentor", "mentee"), max_capacity=1))
def test_participation_equals_dense_assignment_with_a_per_pair_bonus(pool):
    # Participation prices every pair far above any score; this is where the engine's float filters must
    # widen their tolerance. The dense reference: a bonus larger than all scores together on eligible pairs.
    program = ProgramSettings(optimize_for="participation")
    scores, eligible = _dense_scores(pool, program), _dense_eligibility(pool)
    bonus = 10.0 * (1 + scores.sum())
    rows, cols = linear_sum_assignment(np.where(eligible, scores + bonus, 0.0), maximize=True)
    chosen = eligible[rows, cols]
    result = match(pool, program)
    assert len(result.pairs) == int(chosen.sum())
    assert result.total_score == pytest.approx(scores[rows, cols][chosen].sum(), abs=1e-6)


@pytest.mark.parametrize("optimize_for", ["score", "participation"])
@pytest.mark.parametrize("mentors", [40, 300])
def test_ties_the_float_bounds_cannot_split_are_settled_by_exact_scores(mentors, optimize_for, monkeypatch):
    # Identical mentors: every left-off pair is exactly as good as the chosen one, so no float bound can prove it
    # no better. The rescan returns every pair that may tie, to be scored exactly (`candidates._Ties`), instead of
    # the engine widening its look round after round (with the ties path off, the cap grew to 256 here).
    caps: list[int] = []
    everyone = engine._pairs_near_duals

    def spied(problem, suspects, u, v, reach, cap, *rest):
        caps.append(cap)
        return everyone(problem, suspects, u, v, reach, cap, *rest)

    monkeypatch.setattr(engine, "_pairs_near_duals", spied)
    pool = [person(f"m{i:03d}", "mentor", 1, skills_offered=frozenset(SKILLS[:2])) for i in range(mentors)]
    pool += [person(f"e{j}", "mentee", 5, skills_wanted=frozenset(SKILLS[:2])) for j in range(3)]
    program = ProgramSettings(optimize_for=optimize_for)
    result = match(pool, program, per_mentee=1)
    one_pair = micro_score(pool[0], pool[-1], program)
    assert len(result.pairs) == 3
    assert result.total_score == pytest.approx(3 * one_pair, abs=1e-6)
    assert result.certificate.primal == result.certificate.dual
    assert set(caps) == {engine.NEAR_PER_MENTEE[0]}, f"the look was widened: caps {caps}"


def _dense_eligibility(pool: list[Candidate]) -> np.ndarray:
    rules = RoundRules.of(pool, (), frozenset())
    by_id = {c.participant_id: c for c in pool}
    mentors, mentees = rules.available("mentor"), rules.available("mentee")
    return np.array([[is_eligible(by_id[m], by_id[e]) for e in mentees] for m in mentors], dtype=bool).reshape(
        len(mentors), len(mentees)
    )


def test_a_round_pauses_the_cyclic_collector_and_restores_it_even_when_rounds_overlap(monkeypatch):
    """The collector is off while a round solves (`shared.collector.paused`), back on
    once the last overlapping round ends, and left off when it was off before."""
    seen: list[bool] = []
    solve = engine._solve_certified

    def observed(problem, per_mentee):
        seen.append(gc.isenabled())
        return solve(problem, per_mentee)

    monkeypatch.setattr(engine, "_solve_certified", observed)
    pool = [person("a", "mentor", grade=3), person("b", "mentee")]
    assert gc.isenabled()
    with collector.paused():  # an overlapping round, as another program's thread would run one
        match(pool, ProgramSettings())
        assert not gc.isenabled()  # the inner round ended, the outer one still runs
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:
        match(pool, ProgramSettings())
        assert not gc.isenabled()
    finally:
        gc.enable()
