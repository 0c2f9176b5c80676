"""Insights follows recognition (issue #16) from hand-built facts: training completion by role with small cells
suppressed, certificates, kudos, and stories counted only for pairs whose two members shared; as of any instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.insights.domain import metrics
from services.insights.domain.facts import Facts, Pair, Profile, Program, Recognition, TrainingCompletion

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
LATER = T0 + timedelta(days=30)


def program() -> Program:
    return Program("prg-1", "Reverse mentoring", 14, 12, {}, T0)


def profiles(role: str, count: int, prefix: str) -> list[Profile]:
    return [Profile(f"{prefix}{n}", role, "Sales", 1990, T0) for n in range(count)]  # type: ignore[arg-type]


def trained(ids: list[str], at: datetime = T0 + timedelta(days=1)) -> list[TrainingCompletion]:
    return [TrainingCompletion(i, "listening", 1, at) for i in ids]


def facts() -> Facts:
    mentors, mentees = profiles("mentor", 6, "m"), profiles("mentee", 3, "l")
    pairs = [Pair(f"pair-{n}", f"m{n}", f"l{n}", T0 + timedelta(days=2)) for n in range(4)]
    return Facts(
        program=program(),
        profiles=[*mentors, *mentees, *profiles("both", 1, "b")],
        pairs=pairs,
        # Six mentors trained (one twice, one module in two versions), three mentees, no "both"; m5 after LATER.
        trainings=[
            *trained(["m0", "m1", "m2", "m3", "m4", "l0", "l1", "l2", "m0"]),
            TrainingCompletion("m1", "listening", 2, T0 + timedelta(days=1)),
            *trained(["m5"], LATER + timedelta(days=1)),
        ],
        recognitions=[
            Recognition("certificate", "pair-0", "m0", "crt-1", T0 + timedelta(days=10)),
            Recognition("certificate", "pair-0", "l0", "crt-2", T0 + timedelta(days=10)),
            Recognition("certificate", "pair-0", "l0", "crt-2", T0 + timedelta(days=11)),  # redelivered
            Recognition("kudos", "pair-0", "l0", "kds-1", T0 + timedelta(days=12)),
            Recognition("kudos", "pair-0", "l0", "kds-2", T0 + timedelta(days=12)),
            Recognition("kudos", "pair-1", "m1", "kds-3", LATER + timedelta(days=1)),
            # pair-0: both shared; pair-1: only its mentor; pair-2: both, but its mentee after LATER.
            Recognition("story", "pair-0", "m0", "", T0 + timedelta(days=13)),
            Recognition("story", "pair-0", "l0", "", T0 + timedelta(days=14)),
            Recognition("story", "pair-1", "m1", "", T0 + timedelta(days=14)),
            Recognition("story", "pair-2", "m2", "", T0 + timedelta(days=14)),
            Recognition("story", "pair-2", "l2", "", LATER + timedelta(days=2)),
            # pair-3: both shared, then its mentee took the story back after LATER.
            Recognition("story", "pair-3", "m3", "e1", T0 + timedelta(days=14)),
            Recognition("story", "pair-3", "l3", "e2", T0 + timedelta(days=14)),
            Recognition("story_withdrawn", "pair-3", "l3", "e3", LATER + timedelta(days=1)),
        ],
    )


def test_recognition_figures_as_of_an_instant():
    shown = metrics.recognition(facts(), LATER)
    # 3 mentees: fewer than 5, not shown; and the 5 mentors neither, or `trained` (8) minus 5 would give the 3 away.
    assert shown.trained_by_role == {"mentor": None, "mentee": None, "both": 0}
    assert shown.trained == 8
    assert shown.modules_completed == 9, "m0's repeat counts once; m1's second version counts"
    assert (shown.certificates_issued, shown.kudos_given, shown.stories_shared) == (2, 2, 2), "pair-0 and pair-3"


def test_later_facts_count_later():
    shown = metrics.recognition(facts(), LATER + timedelta(days=3))
    assert shown.trained_by_role == {"mentor": None, "mentee": None, "both": 0}, "6 + 3: the 3 still withheld"
    assert shown.trained == 9
    assert (shown.kudos_given, shown.stories_shared) == (3, 2), "pair-2 told, pair-3's story taken back"
    before = metrics.recognition(facts(), T0)
    assert before.model_dump() == {
        "small_group": 5,
        "trained_by_role": {"mentor": 0, "mentee": 0, "both": 0},
        "trained": 0,
        "modules_completed": 0,
        "certificates_issued": 0,
        "kudos_given": 0,
        "stories_shared": 0,
    }


def test_the_report_carries_recognition():
    report = metrics.program_report(facts(), LATER)
    assert report.recognition == metrics.recognition(facts(), LATER)
    assert "recognition" in report.model_dump(mode="json")
