"""No small cells (issue #19): no cut shows fewer than k people, and none can be worked out from the total."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.insights.domain import metrics
from services.insights.domain.facts import Facts, Feedback, Pair, Profile, Program
from services.insights.domain.small_cells import protect

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def test_a_cell_below_k_is_withheld_with_the_next_smallest_so_the_total_gives_nothing_away():
    assert protect({"IT": 12, "Sales": 7, "Legal": 3}, 5) == {"IT": 12, "Sales": None, "Legal": None}


def test_two_small_cells_that_together_are_still_small_take_a_third_with_them():
    assert protect({"IT": 12, "Sales": 6, "Legal": 2, "Tax": 1}, 5) == {
        "IT": 12,
        "Sales": None,
        "Legal": None,
        "Tax": None,
    }


def test_two_small_cells_that_together_reach_k_are_enough():
    assert protect({"IT": 12, "Legal": 3, "Tax": 2}, 5) == {"IT": 12, "Legal": None, "Tax": None}


def test_empty_and_large_cells_stay_and_nothing_small_changes_nothing():
    assert protect({"IT": 12, "Sales": 0, "Legal": 5}, 5) == {"IT": 12, "Sales": 0, "Legal": 5}


@given(st.dictionaries(st.text(min_size=1, max_size=3), st.integers(0, 40), max_size=8), st.integers(2, 10))
def test_no_shown_cell_is_small_and_what_is_withheld_is_never_a_small_group(counts, k):
    shown = protect(counts, k)
    assert all(n is None or n == 0 or n >= k for n in shown.values())
    withheld = [counts[key] for key, n in shown.items() if n is None]
    # What the total minus the shown cells gives: the withheld cells together, never fewer than k people, and never
    # one cell alone, unless every non-empty cell is withheld (then the total is all there is to know).
    everything_withheld = all(n is None or counts[key] == 0 for key, n in shown.items())
    assert not withheld or everything_withheld or (len(withheld) >= 2 and sum(withheld) >= k)


def program(k: int = 5) -> Program:
    return Program("prg-1", "Digital leaders", 14, 26, {}, T0, min_group_size=k)


def people(department: str, count: int, role: str = "mentor", year: int = 1990) -> list[Profile]:
    return [Profile(f"{department}-{n}", role, department, year, T0) for n in range(count)]  # type: ignore[arg-type]


def test_a_department_of_four_shows_no_count_in_the_report():
    facts = Facts(program=program(), profiles=[*people("IT", 9), *people("Legal", 4), *people("Sales", 6)])
    report = metrics.program_report(facts, T0 + timedelta(days=1))
    assert report.participants.enrolled == 19
    assert report.participants.by_department == {"IT": 9, "Legal": None, "Sales": None}
    assert report.small_cells.min_group_size == 5
    assert "fewer than 5" in report.small_cells.explanation


def test_the_programs_threshold_is_the_one_used():
    facts = Facts(program=program(k=3), profiles=[*people("IT", 9), *people("Legal", 4), *people("Sales", 6)])
    assert metrics.participants(facts, T0 + timedelta(days=1)).by_department == {"IT": 9, "Legal": 4, "Sales": 6}


def test_rating_averages_of_fewer_than_k_people_are_withheld_on_both_sides_but_the_overall_stays():
    mentors = people("IT", 6)
    mentees = people("Sales", 6, role="mentee")
    pairs = [Pair(f"pair-{n}", mentors[n].participant_id, mentees[n].participant_id, T0) for n in range(6)]
    later = T0 + timedelta(days=3)
    feedback = [Feedback(f"f-m{n}", f"pair-{n}", "mentor", 4, later) for n in range(6)]
    feedback += [Feedback(f"f-e{n}", f"pair-{n}", "mentee", 2, later) for n in range(3)]  # three mentees rated
    facts = Facts(program=program(), profiles=[*mentors, *mentees], pairs=pairs, feedback=feedback)
    ratings = metrics.ratings(facts, later)
    assert (ratings.mentor.average, ratings.mentee.average) == (None, None)
    assert (ratings.mentor.count, ratings.mentee.count) == (6, 3)
    assert ratings.overall.average == (6 * 4 + 3 * 2) / 9
