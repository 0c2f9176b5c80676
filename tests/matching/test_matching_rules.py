"""Hard constraints, rounds and reasons: what the engine must never do, and what it must always say."""

from hypothesis import given, settings
from hypothesis import strategies as st
from matching_pools import dissolved_pairs, person, pools, settings_strategy

from services.matching.domain.constraints import RoundRules, is_eligible
from services.matching.domain.engine import match
from services.matching.domain.model import ExistingPair, ProgramSettings

FEW = settings(max_examples=60, deadline=None)


@FEW
@given(st.data())
def test_no_pair_ever_breaks_a_hard_constraint_or_a_capacity(data):
    pool = data.draw(pools(max_size=10))
    dissolved, program = data.draw(dissolved_pairs(pool)), data.draw(settings_strategy)
    result = match(pool, program, dissolved=dissolved)
    by_id = {c.participant_id: c for c in pool}
    assert all(is_eligible(by_id[p.mentor_id], by_id[p.mentee_id], dissolved) for p in result.pairs)
    assert all(p.score >= program.min_score for p in result.pairs)
    _assert_capacities_and_single_roles(result.pairs, by_id)


@FEW
@given(pools(max_size=10), st.randoms(use_true_random=False))
def test_the_same_pool_in_any_order_gives_the_same_result(pool, rnd):
    shuffled = list(pool)
    rnd.shuffle(shuffled)
    assert match(shuffled) == match(pool)


def test_a_round_is_reproducible_from_its_input_hash():
    pool = [person("a", "mentor", 1), person("b", "mentee", 5)]
    assert match(pool).input_hash == match(list(reversed(pool))).input_hash
    assert match(pool).input_hash != match(pool, ProgramSettings(optimize_for="participation")).input_hash


@FEW
@given(pools(max_size=10))
def test_every_participant_is_paired_or_told_why_not(pool):
    result = match(pool)
    paired = {pid for p in result.pairs for pid in (p.mentor_id, p.mentee_id)}
    explained = {u.participant_id for u in result.unmatched}
    assert paired | explained == {c.participant_id for c in pool} and not paired & explained


@FEW
@given(st.data())
def test_incremental_round_keeps_existing_pairs_and_only_matches_the_rest(data):
    pool = data.draw(pools(min_size=4, max_size=10))
    first = match(pool)
    kept = tuple(ExistingPair(p.mentor_id, p.mentee_id) for p in first.pairs[: len(first.pairs) // 2])
    second = match(pool, existing_pairs=kept)
    by_id = {c.participant_id: c for c in pool}
    kept_mentees = {p.mentee_id for p in kept}
    assert not kept_mentees & {p.mentee_id for p in second.pairs}
    _assert_capacities_and_single_roles((*kept, *second.pairs), by_id)


def test_a_mentor_with_capacity_k_takes_k_mentees():
    pool = [person("m", "mentor", 1, capacity=2), *(person(f"e{i}", "mentee", 5) for i in range(3))]
    assert [p.mentor_id for p in match(pool).pairs] == ["m", "m"]


def test_existing_pairs_use_up_mentor_capacity():
    pool = [person("m", "mentor", 1, capacity=2), *(person(f"e{i}", "mentee", 5) for i in range(3))]
    result = match(pool, existing_pairs=[ExistingPair("m", "e0")])
    assert [(p.mentor_id, p.mentee_id) for p in result.pairs] == [("m", "e1")]


def test_withdrawn_participants_are_never_matched_and_their_partners_are_free_again():
    pool = [person("m", "mentor", 1), person("e", "mentee", 5), person("gone", "mentee", 5)]
    result = match(pool, existing_pairs=[ExistingPair("m", "gone")], withdrawn=frozenset({"gone"}))
    assert [(p.mentor_id, p.mentee_id) for p in result.pairs] == [("m", "e")]
    assert [(u.participant_id, u.reason) for u in result.unmatched] == [("gone", "withdrawn")]


def test_a_dissolved_pair_is_never_proposed_again():
    pool = [person("m", "mentor", 1), person("e", "mentee", 5)]
    assert match(pool, dissolved=frozenset({frozenset({"e", "m"})})).pairs == ()


def test_no_eligible_partner_names_the_constraints_that_excluded_partners():
    pool = [
        person("boss", "mentee", 9),
        person("report", "mentor", 1, reporting_chain=("boss",)),
        person("senior", "mentor", 9),
        person("other", "mentor", 2, languages=frozenset({"fr"})),
    ]
    (reason,) = [u for u in match(pool).unmatched if u.participant_id == "boss"]
    assert reason.reason == "no_eligible_partner"
    assert all(f"{name} 1" in reason.detail for name in ("grade", "language", "reporting_line"))


def test_a_participant_whose_partners_are_taken_is_told_capacity():
    pool = [person("m", "mentor", 1), person("e1", "mentee", 5), person("e2", "mentee", 5)]
    assert [u.reason for u in match(pool).unmatched] == ["capacity"]


def test_a_both_participant_plays_one_side_per_round():
    pool = [person("junior", "mentor", 1), person("middle", "both", 5, capacity=2), person("senior", "mentee", 9)]
    result = match(pool)
    sides = RoundRules.of(pool, (), frozenset()).sides
    assert sides["middle"] == "mentee" and len(result.pairs) == 1


def test_pairs_below_the_minimum_score_are_not_formed():
    pool = [person("m", "mentor", 1), person("e", "mentee", 5)]
    assert match(pool, ProgramSettings(min_score=2.5)).pairs == ()
    assert match(pool, ProgramSettings(min_score=1.0)).pairs != ()


def _assert_capacities_and_single_roles(pairs, by_id) -> None:
    mentors = [p.mentor_id for p in pairs]
    mentees = [p.mentee_id for p in pairs]
    assert len(mentees) == len(set(mentees))
    assert not set(mentors) & set(mentees)
    assert all(mentors.count(m) <= by_id[m].capacity for m in set(mentors))
