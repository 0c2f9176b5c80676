"""The pure parts around the engine: a pair's life, and a round's translation of the pool (no I/O)."""

from __future__ import annotations

import pytest

from services.matching.domain import rounds
from services.matching.domain.pairs import Pair
from tests.support.matching_pool import constrained_pool, launched

PROGRAM = "prg-domain"


def a_pair(**overrides) -> Pair:
    return Pair(
        **{
            "pair_id": "pair-1",
            "program_id": PROGRAM,
            "round_id": "rnd-1",
            "mentor_id": "p-J1",
            "mentee_id": "p-M1",
            "score": 0.7,
            "breakdown": {"skills_to_mentee": 0.7},
            **overrides,
        }
    )


def test_dissolving_an_active_pair_records_the_reason_and_says_so_once():
    dissolved, event = a_pair().dissolve("moved team")
    assert (dissolved.status, dissolved.dissolve_reason) == ("dissolved", "moved team")
    assert event is not None and (event.pair_id, event.program_id, event.reason) == ("pair-1", PROGRAM, "moved team")
    again, no_event = dissolved.dissolve("another reason")
    assert again == dissolved and no_event is None


def test_a_pair_has_its_two_members_and_its_own_stream():
    pair = a_pair()
    assert pair.has_member("p-J1") and pair.has_member("p-M1") and not pair.has_member("p-J2")
    assert pair.stream_id == "pair-pair-1"


@pytest.mark.parametrize(("zone", "hours"), [("Europe/Paris", 1.0), ("America/New_York", -5.0), ("Asia/Kolkata", 5.5)])
def test_utc_offsets_are_read_at_one_fixed_instant(zone, hours):
    assert rounds.utc_offset_hours(zone) == hours


def program() -> dict:
    return launched(PROGRAM, optimize_for="participation")


def test_the_same_pool_in_any_order_proposes_the_same_round_with_the_same_hash():
    pool = constrained_pool(PROGRAM)
    first = rounds.propose(program(), pool, [], [])
    second = rounds.propose(program(), list(reversed(pool)), [], [])
    assert first == second and first.pairs


def test_a_proposal_leaves_out_members_of_active_pairs_at_capacity_and_dissolved_couples():
    pool = constrained_pool(PROGRAM)
    active = [a_pair(mentor_id="p-J6", mentee_id="p-M4")]
    proposal = rounds.propose(program(), pool, active, [("p-J1", "p-M2")])
    formed = {(p.mentor_id, p.mentee_id) for p in proposal.pairs}
    assert all("p-J6" not in couple and "p-M4" not in couple for couple in formed)
    assert ("p-J1", "p-M2") not in formed
    assert proposal.total_score == pytest.approx(sum(p.score for p in proposal.pairs))


def test_every_criterion_the_engine_scores_is_explained():
    proposal = rounds.propose(program(), constrained_pool(PROGRAM), [], [])
    for pair in proposal.pairs:
        assert set(pair.breakdown) <= set(rounds.CRITERIA_EXPLAINED)
