"""The metrics a program may set targets on: each a figure insights computes for the program's report.

Enrolment refuses a target outside this catalogue (a typo would otherwise sit in the program forever with no
figure to compare it with) and insights measures every name in it (services/insights/domain/metrics.py MEASURES
maps each to its report figure; a test holds the two to the same names). Name -> what the figure means.
"""

from __future__ import annotations

from collections.abc import Iterable

METRICS: dict[str, str] = {
    "participants_enrolled": "People enrolled in the program, withdrawn ones included.",
    "active_participants": "People enrolled and not withdrawn.",
    "pairs_formed": "Pairs formed since launch, whatever became of them.",
    "active_pairs": "Pairs formed and not dissolved.",
    "match_rate": "Share of active participants who are matched (0 to 1).",
    "sessions_held": "Sessions the pairs logged.",
    "sessions_per_pair": "Average sessions logged per pair formed.",
    "minutes_per_pair": "Average minutes of sessions per pair formed.",
    "cadence_adherence": "Share of the sessions the program's cadence expected that pairs held (0 to 1).",
    "average_rating": "Average feedback rating, both sides (1 to 5).",
    "cross_generation_share": "Share of pairs whose members are a generation apart (0 to 1).",
    "cross_department_share": "Share of pairs whose members work in different departments (0 to 1).",
}


def unknown_targets(names: Iterable[str]) -> list[str]:
    """The names among `names` that are no metric of the catalogue, sorted."""
    return sorted(n for n in names if n not in METRICS)
