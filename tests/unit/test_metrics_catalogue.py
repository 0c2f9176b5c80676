"""The targets a program may set (shared/metrics_catalogue.py) are exactly the figures insights measures them by:
a name enrolment accepts always shows progress on the dashboard, and every figure insights measures can be a target."""

from __future__ import annotations

from services.insights.domain.metrics import MEASURES
from shared.metrics_catalogue import METRICS


def test_every_target_enrolment_accepts_is_a_figure_insights_measures():
    assert set(METRICS) == set(MEASURES)
