"""The metrics a program's `targets` may name: what insights computes, by name, with its meaning.

Enrolment checks a program's targets against these names (an unknown one is a 422 listing them); insights compares
each target with the figure of the same name in a program's report (services/insights/domain/metrics.py MEASURES
holds one measure per name here). Shares and rates are fractions from 0 to 1.
"""

from __future__ import annotations

from types import MappingProxyType

METRICS: MappingProxyType[str, str] = MappingProxyType(
    {
        "participants_enrolled": "Participants enrolled, withdrawn ones included.",
        "active_participants": "Participants enrolled and not withdrawn.",
        "pairs_formed": "Pairs that started, whatever became of them.",
        "active_pairs": "Pairs started and neither dissolved nor completed.",
        "match_rate": "Share of active participants who are in an active pair.",
        "sessions_held": "Sessions held by the program's pairs.",
        "sessions_per_pair": "Sessions held per pair formed.",
        "minutes_per_pair": "Minutes of sessions per pair formed.",
        "cadence_adherence": "Mean share of the sessions due (by the program's cadence) that active pairs held.",
        "average_rating": "Mean rating (1 to 5) members gave their pair.",
        "cross_generation_share": "Share of pairs whose mentor and mentee belong to different generations.",
        "cross_department_share": "Share of pairs whose mentor and mentee work in different departments.",
        "acceptance_rate": "Share of proposals answered or expired whose pair started.",
        "agreements_in_force": "Active pairs whose agreement both members signed.",
        "agreements_signed": "Pairs, active or ended, whose agreement came into force at least once.",
        "goals_advanced": "Advances of agreed goals named by sessions, both directions together.",
        "pairs_completed": "Pairs that ran their course (not dissolved).",
        "completion_rate": "Share of ended pairs that completed rather than dissolved.",
        "would_recommend_rate": "Share of closing reflections that would recommend the program.",
    }
)
