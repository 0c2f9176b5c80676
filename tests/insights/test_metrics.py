"""Insights' figures as pure functions of hand-built facts; every expected value is worked out by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.insights.domain import metrics
from services.insights.domain.facts import Facts, Feedback, Pair, Profile, Program, Session, Withdrawal
from services.insights.domain.generations import generation
from services.insights.entrypoints.http import to_csv

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
# These tests check the counting itself on a handful of people, so no group is withheld (min_group_size 1, below
# what a program may set); tests/insights/test_small_cells.py checks the withholding.
PROGRAM = Program(
    "prg-1", "Digital leaders", cadence_days=14, duration_weeks=26, targets={}, launched_at=T0, min_group_size=1
)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def profile(pid: str, role="mentor", department="IT", birth_year=1999, at=T0) -> Profile:
    return Profile(pid, role, department, birth_year, at)


def session(sid: str, pair_id: str, held: int, minutes=30, topics=(), direction="mentor_to_mentee", at=None):
    held_on = day(held).date()
    return Session(sid, pair_id, held_on, minutes, tuple(topics), direction, at or day(held))


def facts(**kw) -> Facts:
    return Facts(program=kw.pop("program", PROGRAM), **kw)


@pytest.mark.parametrize(
    "year, expected",
    [
        (1950, "baby_boomers"),
        (1964, "baby_boomers"),
        (1965, "gen_x"),
        (1980, "gen_x"),
        (1981, "millennials"),
        (1996, "millennials"),
        (1997, "gen_z"),
        (2005, "gen_z"),
    ],
)
def test_generations_follow_the_documented_birth_year_bounds(year, expected):
    assert generation(year) == expected


def test_enrolment_counts_by_role_department_and_generation_with_withdrawals():
    f = facts(
        profiles=[
            profile("a", "mentor", "IT", 1999),
            profile("b", "mentor", "Sales", 1990),
            profile("c", "mentee", "Finance", 1962),
            profile("d", "both", "Finance", 1975),
            profile("b", "mentor", "Marketing", 1990, at=day(3)),  # b moved department
        ],
        withdrawals=[Withdrawal("a", day(5))],
    )
    counts = metrics.participants(f, day(10))
    assert (counts.enrolled, counts.active, counts.withdrawn) == (4, 3, 1)
    assert counts.by_role == {"mentor": 2, "mentee": 1, "both": 1}
    assert counts.by_department == {"Finance": 2, "IT": 1, "Marketing": 1}
    assert counts.by_generation == {"baby_boomers": 1, "gen_x": 1, "millennials": 1, "gen_z": 1}
    assert metrics.participants(f, day(2)).by_department == {"Finance": 2, "IT": 1, "Sales": 1}


def test_as_of_cuts_off_later_enrolments_and_withdrawals():
    f = facts(profiles=[profile("a"), profile("b", at=day(4))], withdrawals=[Withdrawal("a", day(6))])
    assert (metrics.participants(f, day(3)).enrolled, metrics.participants(f, day(3)).withdrawn) == (1, 0)
    assert (metrics.participants(f, day(5)).enrolled, metrics.participants(f, day(5)).withdrawn) == (2, 0)
    assert (metrics.participants(f, day(6)).active, metrics.participants(f, day(6)).withdrawn) == (1, 1)


def test_match_rate_counts_active_participants_in_an_active_pair():
    f = facts(
        profiles=[profile(p) for p in "abcdef"],
        withdrawals=[Withdrawal("f", day(2))],
        pairs=[
            Pair("p1", "a", "b", day(1)),
            Pair("p2", "c", "d", day(1), dissolved_at=day(3)),  # dissolved: c and d no longer matched
            Pair("p3", "e", "f", day(1)),  # f withdrew (not counted); e still in an active pair
        ],
    )
    m = metrics.matching(f, day(5))
    assert (m.active_participants, m.matched_participants) == (5, 3)  # a, b, e of a..e
    assert m.match_rate == pytest.approx(3 / 5)
    assert metrics.matching(f, day(2)).match_rate == pytest.approx(5 / 5)  # p2 not yet dissolved, f withdrawn


def test_median_days_from_enrolment_to_first_pair():
    f = facts(
        profiles=[profile("a", at=day(0)), profile("b", at=day(1)), profile("c", at=day(2)), profile("x", at=day(9))],
        pairs=[
            Pair("p1", "a", "b", day(3)),  # a waited 3 days, b 2
            Pair("p2", "c", "b", day(8)),  # c waited 6 days; b's first pair stays p1
            Pair("p3", "q", "a", day(4)),  # q never enrolled (not known yet): no wait counted
        ],
    )
    m = metrics.matching(f, day(10))
    assert m.paired_participants == 3
    assert m.median_days_to_first_pair == pytest.approx(3.0)  # median of 3, 2, 6
    assert metrics.matching(
        f,
        day(
            3,
        ),
    ).median_days_to_first_pair == pytest.approx(2.5)  # only p1: 3 and 2


def test_median_uses_fractional_days():
    f = facts(profiles=[profile("a", at=day(0)), profile("b", at=day(0.5))], pairs=[Pair("p1", "a", "b", day(2))])
    assert metrics.matching(f, day(3)).median_days_to_first_pair == pytest.approx((2 + 1.5) / 2)


def test_cadence_adherence_is_held_over_expected_capped_and_averaged_over_pairs_with_a_session_due():
    f = facts(
        profiles=[profile(p) for p in "abcdefgh"],
        pairs=[
            Pair("p1", "a", "b", day(0)),  # 45 days: 3 expected, 2 held -> 2/3
            Pair("p2", "c", "d", day(0)),  # 3 expected, 5 held -> capped at 1
            Pair("p3", "e", "f", day(10)),  # 35 days: 2 expected, 0 held -> 0
            Pair("p4", "g", "h", day(40)),  # 5 days: none expected -> not counted
        ],
        sessions=[session("s1", "p1", 10), session("s2", "p1", 24)] + [session(f"t{i}", "p2", 2 + i) for i in range(5)],
    )
    s = metrics.sessions(f, day(45))
    assert s.pairs_due == 3
    assert s.cadence_adherence == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert {r.pair_id: r.cadence_adherence for r in metrics.pair_rows(f, day(45))} == {
        "p1": pytest.approx(2 / 3),
        "p2": 1.0,
        "p3": 0.0,
        "p4": None,
    }


def test_session_totals_and_averages_cover_every_pair_formed():
    f = facts(
        pairs=[
            Pair("p1", "a", "b", day(0)),
            Pair("p2", "c", "d", day(0), dissolved_at=day(20)),
            Pair("p3", "e", "g", day(1)),
        ],
        sessions=[session("s1", "p1", 5, 30), session("s2", "p1", 15, 45), session("s3", "p2", 6, 60)],
    )
    s = metrics.sessions(f, day(30))
    assert (s.total, s.minutes) == (3, 135)
    assert s.average_per_pair == pytest.approx(1.0)
    assert s.average_minutes_per_pair == pytest.approx(45.0)
    assert metrics.pairs(f, day(30)).model_dump() == {
        "formed": 3,
        "active": 2,
        "dissolved": 1,
        "completed": 0,
        "at_risk": 1,
    }


def test_a_pair_without_a_session_is_at_risk_after_one_and_a_half_cadences_since_formation():
    f = facts(pairs=[Pair("p1", "a", "b", day(0))])
    assert metrics.at_risk_pairs(f, day(21)) == []  # 21 days is not more than 1.5 x 14
    [risk] = metrics.at_risk_pairs(f, day(22))
    assert (risk.reasons, risk.days_without_session) == (["no_recent_session"], 22)


def test_a_pair_is_at_risk_after_one_and_a_half_cadences_since_its_last_session():
    f = facts(pairs=[Pair("p1", "a", "b", day(0))], sessions=[session("s1", "p1", 3), session("s2", "p1", 10)])
    assert metrics.at_risk_pairs(f, day(31)) == []
    [row] = metrics.pair_rows(f, day(32))
    assert (row.at_risk, row.at_risk_reasons, row.last_session) == (True, ["no_recent_session"], day(10).date())


def test_a_pair_is_at_risk_when_a_sides_latest_rating_is_two_or_less():
    f = facts(
        pairs=[Pair("p1", "a", "b", day(0)), Pair("p2", "c", "d", day(0))],
        sessions=[session("s1", "p1", 1), session("s2", "p2", 1)],
        feedback=[
            Feedback("f1", "p1", "mentee", 5, day(1)),
            Feedback("f2", "p1", "mentee", 2, day(2)),  # latest mentee rating of p1: 2 -> at risk
            Feedback("f3", "p2", "mentor", 1, day(1)),
            Feedback("f4", "p2", "mentor", 4, day(2)),  # latest mentor rating of p2: 4 -> fine
        ],
    )
    rows = {r.pair_id: r for r in metrics.pair_rows(f, day(3))}
    assert (rows["p1"].at_risk_reasons, rows["p1"].latest_mentee_rating, rows["p1"].latest_mentor_rating) == (
        ["low_rating"],
        2,
        None,
    )
    assert (rows["p2"].at_risk, rows["p2"].latest_mentor_rating) == (False, 4)
    assert rows["p1"].at_risk and metrics.pairs(f, day(3)).at_risk == 1


def test_both_reasons_are_reported_together_and_a_dissolved_pair_is_never_at_risk():
    f = facts(
        pairs=[Pair("p1", "a", "b", day(0)), Pair("p2", "c", "d", day(0), dissolved_at=day(5))],
        feedback=[Feedback("f1", "p1", "mentor", 1, day(1)), Feedback("f2", "p2", "mentor", 1, day(1))],
    )
    [risk] = metrics.at_risk_pairs(f, day(30))
    assert (risk.pair_id, risk.reasons) == ("p1", ["no_recent_session", "low_rating"])


def test_average_rating_by_side():
    f = facts(
        pairs=[Pair("p1", "a", "b", day(0)), Pair("p2", "c", "d", day(0))],
        feedback=[
            Feedback("f1", "p1", "mentor", 5, day(1)),
            Feedback("f2", "p2", "mentor", 2, day(1)),
            Feedback("f3", "p1", "mentee", 4, day(1)),
        ],
    )
    r = metrics.ratings(f, day(2))
    assert (r.mentor.average, r.mentor.count) == (pytest.approx(3.5), 2)
    assert (r.mentee.average, r.mentee.count) == (pytest.approx(4.0), 1)
    assert r.overall.average == pytest.approx(11 / 3)
    assert metrics.ratings(facts(), day(2)).mentor.average is None


def test_learning_ledger_counts_topics_per_direction_and_both_in_each():
    f = facts(
        pairs=[Pair("p1", "a", "b", day(0))],
        sessions=[
            session("s1", "p1", 1, topics=["tiktok", "genai"], direction="mentor_to_mentee"),
            session("s2", "p1", 2, topics=["tiktok", "strategy", "tiktok"], direction="both"),
            session("s3", "p1", 3, topics=["strategy"], direction="mentee_to_mentor"),
        ],
    )
    ledger = metrics.learning_ledger(f, day(4))
    assert ledger.mentor_to_mentee == {"tiktok": 2, "genai": 1, "strategy": 1}
    assert ledger.mentee_to_mentor == {"strategy": 2, "tiktok": 1}
    assert list(ledger.mentor_to_mentee) == ["tiktok", "genai", "strategy"]  # most learned first, then by name


def test_cross_generation_and_cross_department_shares_over_pairs_with_known_profiles():
    f = facts(
        profiles=[
            profile("m1", "mentor", "IT", 1999),
            profile("e1", "mentee", "Finance", 1965),  # p1: gen_z/gen_x, IT/Finance -> both cross
            profile("m2", "mentor", "Sales", 1985),
            profile("e2", "mentee", "Sales", 1990),  # p2: millennials both, same department -> neither
            profile("m3", "mentor", "HR", 1998),
            profile("e3", "mentee", "IT", 1970),  # p3: both cross
        ],
        pairs=[
            Pair("p1", "m1", "e1", day(1)),
            Pair("p2", "m2", "e2", day(1)),
            Pair("p3", "m3", "e3", day(1), dissolved_at=day(2)),
            Pair("p4", "m1", "unknown", day(1)),  # a member whose enrolment has not arrived: not considered
        ],
    )
    mix = metrics.mix(f, day(3))
    assert (mix.pairs_considered, mix.cross_generation, mix.cross_department) == (3, 2, 2)
    assert mix.cross_generation_share == pytest.approx(2 / 3) and mix.cross_department_share == pytest.approx(2 / 3)


def test_as_of_ignores_facts_known_later():
    f = facts(
        profiles=[profile("a"), profile("b", "mentee", birth_year=1960)],
        pairs=[Pair("p1", "a", "b", day(1), dissolved_at=day(20)), Pair("p2", "a", "c", day(15))],
        sessions=[
            session("s1", "p1", 5, 40, topics=["x"]),
            session("s2", "p1", 8, 50, topics=["y"], at=day(12)),  # held day 8, logged day 12
            session("s3", "p2", 16, 60),
        ],
        feedback=[Feedback("f1", "p1", "mentee", 1, day(11))],
    )
    r = metrics.program_report(f, day(10))
    assert (r.pairs.formed, r.pairs.active, r.sessions.total, r.sessions.minutes) == (1, 1, 1, 40)
    assert r.learning_ledger.mentor_to_mentee == {"x": 1}
    assert r.ratings.overall.count == 0 and r.pairs.at_risk == 0
    later = metrics.program_report(f, day(21))
    assert (later.pairs.formed, later.pairs.active, later.pairs.dissolved, later.sessions.total) == (2, 1, 1, 3)


def test_facts_about_a_pair_not_yet_known_wait_for_it():
    f = facts(sessions=[session("s1", "p9", 2)], feedback=[Feedback("f1", "p9", "mentor", 5, day(2))])
    r = metrics.program_report(f, day(3))
    assert (r.sessions.total, r.ratings.overall.count) == (0, 0)
    known = replace(f, pairs=[Pair("p9", "a", "b", day(1))])
    assert metrics.program_report(known, day(3)).sessions.total == 1


def test_the_report_does_not_depend_on_the_order_facts_arrived_in():
    f = facts(
        profiles=[profile("a", at=day(0)), profile("b", "mentee", at=day(1)), profile("a", department="HR", at=day(2))],
        pairs=[Pair("p1", "a", "b", day(2)), Pair("p2", "b", "a", day(3))],
        sessions=[session("s1", "p1", 4, topics=["t"]), session("s2", "p2", 5, topics=["u"], direction="both")],
        feedback=[Feedback("f1", "p1", "mentor", 3, day(4)), Feedback("f2", "p1", "mentor", 1, day(5))],
    )
    shuffled = replace(
        f,
        profiles=f.profiles[::-1],
        pairs=f.pairs[::-1],
        sessions=f.sessions[::-1],
        feedback=f.feedback[::-1],
    )
    assert metrics.program_report(shuffled, day(9)) == metrics.program_report(f, day(9))


def test_targets_report_actual_and_progress_and_unknown_names_with_null():
    program = replace(
        PROGRAM,
        targets={
            "pairs_formed": 4,
            "sessions_per_pair": 2,
            "average_rating": 4,
            "match_rate": 0.5,
            "participants_enrolled": 8,
            "happiness": 10,
            "active_pairs": 0,
        },
    )
    f = facts(
        program=program,
        profiles=[profile(p) for p in "abcd"],
        pairs=[Pair("p1", "a", "b", day(1))],
        sessions=[session("s1", "p1", 2), session("s2", "p1", 3), session("s3", "p1", 4)],
        feedback=[Feedback("f1", "p1", "mentor", 5, day(4)), Feedback("f2", "p1", "mentee", 4, day(4))],
    )
    targets = metrics.program_report(f, day(5)).targets
    assert [(t.name, t.target, t.actual, t.progress) for t in targets] == [  # by name
        ("active_pairs", 0, 1, None),
        ("average_rating", 4, 4.5, pytest.approx(1.125)),
        ("happiness", 10, None, None),
        ("match_rate", 0.5, 0.5, pytest.approx(1.0)),
        ("pairs_formed", 4, 1, pytest.approx(0.25)),
        ("participants_enrolled", 8, 4, pytest.approx(0.5)),
        ("sessions_per_pair", 2, 3, pytest.approx(1.5)),
    ]


def test_csv_export_has_a_header_and_one_line_per_pair():
    f = facts(pairs=[Pair("p1", "a", "b", day(0)), Pair("p2", "c", "d", day(0))], sessions=[session("s1", "p1", 1)])
    lines = to_csv(metrics.pair_rows(f, day(30))).splitlines()
    assert lines[0].startswith("pair_id,mentor_id,mentee_id,status,")
    assert len(lines) == 3
    assert lines[2].endswith(",true,no_recent_session")  # p2: no session in 30 days


def test_median_of_an_even_number_of_waits_is_the_mean_of_the_middle_two():
    waits = [1.0, 2.0, 4.0, 10.0]
    f = facts(
        profiles=[profile(f"m{i}", at=day(0)) for i in range(4)] + [profile(f"e{i}", at=day(20)) for i in range(4)],
        pairs=[Pair(f"p{i}", f"m{i}", f"e{i}", day(20 + w)) for i, w in enumerate(waits)],
    )
    # mentors waited 21, 22, 24, 30 days, mentees 1, 2, 4, 10: the middle two are 10 and 21
    assert metrics.matching(f, day(40)).median_days_to_first_pair == pytest.approx(15.5)


def test_days_are_counted_in_utc_whatever_zone_as_of_is_given_in():
    paris = timezone(timedelta(hours=2))
    f = facts(pairs=[Pair("p1", "a", "b", datetime(2026, 1, 1, 23, 0, tzinfo=UTC))])
    late_evening_utc = datetime(2026, 1, 23, 1, 0, tzinfo=paris)  # 2026-01-22 23:00 UTC: 21 days, not 22
    [row] = metrics.pair_rows(f, late_evening_utc)
    assert (row.days_without_session, row.at_risk) == (21, False)
