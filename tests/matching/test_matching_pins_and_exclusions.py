"""Pins and exclusions in the engine (issue #15): an excluded couple is an edge removed, a feasible pin is fixed
first and the rest of the pool solved on the capacity it leaves; either way the result stays exact and certified."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matching_pools import brute_force, dissolved_pairs, micro_score, person, pools, settings_strategy

from services.matching.domain.engine import feasible_pins, input_hash, match
from services.matching.domain.model import ExistingPair, ProgramSettings

FEW = settings(max_examples=100, deadline=None)


def couples(result) -> set[tuple[str, str]]:
    return {(p.mentor_id, p.mentee_id) for p in result.pairs}


def some_couples(pool) -> st.SearchStrategy[list[ExistingPair]]:
    ids = [c.participant_id for c in pool]
    return st.lists(st.builds(ExistingPair, st.sampled_from(ids), st.sampled_from(ids)), max_size=3)


@FEW
@given(st.data())
def test_excluded_couples_are_never_proposed_and_the_rest_is_optimal(data):
    pool = data.draw(pools())
    program, excluded = data.draw(settings_strategy), data.draw(dissolved_pairs(pool))
    result = match(pool, program, excluded=excluded)
    assert not {frozenset(c) for c in couples(result)} & excluded
    best_total, most_pairs = brute_force(pool, program, excluded)
    assert result.total_score == pytest.approx(best_total, abs=1e-6)
    if program.optimize_for == "participation":
        assert len(result.pairs) == most_pairs
    assert result.certificate.primal == result.certificate.dual


@FEW
@given(st.data())
def test_feasible_pins_are_proposed_and_the_rest_is_the_optimum_around_them(data):
    pool = data.draw(pools())
    program, excluded = data.draw(settings_strategy), data.draw(dissolved_pairs(pool))
    pins = data.draw(some_couples(pool))
    result = match(pool, program, excluded=excluded, pinned=pins)
    fixed = feasible_pins(sorted(pool, key=lambda c: c.participant_id), (), excluded, frozenset(), pins)
    assert {(p.mentor_id, p.mentee_id) for p in fixed} <= couples(result)
    by_id = {c.participant_id: c for c in pool}
    pinned_total = sum(micro_score(by_id[p.mentor_id], by_id[p.mentee_id], program) for p in fixed)
    # The rest is exactly the optimum of the pool with the pins already formed.
    best_total, most_pairs = brute_force(pool, program, excluded, existing=fixed)
    assert result.total_score == pytest.approx(pinned_total + best_total, abs=1e-6)
    if program.optimize_for == "participation":
        assert len(result.pairs) == len(fixed) + most_pairs
    assert result.certificate.primal == result.certificate.dual


def test_a_pin_beats_the_better_scoring_partner():
    pool = [
        person("j1", "mentor", 1, skills_offered=frozenset({"ai"})),
        person("j2", "mentor", 1),
        person("s1", "mentee", 5, skills_wanted=frozenset({"ai"})),
    ]
    program = ProgramSettings(optimize_for="score")
    assert couples(match(pool, program)) == {("j1", "s1")}
    pinned = match(pool, program, pinned=[ExistingPair("j2", "s1")])
    assert couples(pinned) == {("j2", "s1")}
    assert pinned.certificate.primal == pinned.certificate.dual


def test_a_pin_every_hard_rule_forbids_is_not_forced():
    pool = [
        person("j1", "mentor", 1, reporting_chain=("s1",)),
        person("j2", "mentor", 1, languages=frozenset({"fi"})),
        person("j3", "mentor", 9),
        person("s1", "mentee", 5),
    ]
    for mentor in ("j1", "j2", "j3"):
        result = match(pool, pinned=[ExistingPair(mentor, "s1")])
        assert (mentor, "s1") not in couples(result)


def test_an_excluded_pin_and_a_pin_over_capacity_wait():
    pool = [person("j1", "mentor", 1, capacity=1), person("s1", "mentee", 5), person("s2", "mentee", 5)]
    pins = [ExistingPair("j1", "s1"), ExistingPair("j1", "s2")]
    assert couples(match(pool, pinned=pins)) == {("j1", "s1")}  # in (mentor, mentee) order, capacity one
    assert couples(match(pool, pinned=pins, excluded={frozenset({"j1", "s1"})})) == {("j1", "s2")}
    busy = match(pool, existing_pairs=[ExistingPair("j1", "s2")], pinned=[ExistingPair("j1", "s1")])
    assert busy.pairs == ()  # the mentor's only place is taken by an active pair


def test_pins_and_exclusions_are_part_of_the_input_hash():
    pool = [person("j1", "mentor", 1), person("s1", "mentee", 5)]
    plain, pinned = match(pool), match(pool, pinned=[ExistingPair("j1", "s1")])
    excluded = match(pool, excluded={frozenset({"j1", "s1"})})
    assert len({plain.input_hash, pinned.input_hash, excluded.input_hash}) == 3
    assert plain.input_hash == input_hash(pool, ProgramSettings(), (), frozenset(), frozenset())
