"""Insights' composition root: settings -> runtime (the facts projection, no relay: it publishes nothing) -> app."""

from __future__ import annotations

from fastapi import FastAPI

from services.insights.config import InsightsSettings
from services.insights.entrypoints import http, web
from services.insights.entrypoints.facts_consumer import FactsProjection
from services.insights.service_layer.queries import Insights
from shared.http import create_app
from shared.projection import Projection
from shared.runtime import ServiceRuntime
from shared.topics import events_topic

PREFIX = "/insights/v1"
SOURCES = ("enrolment", "matching", "sessions")


def settings() -> InsightsSettings:
    return InsightsSettings()


def projections(settings: InsightsSettings) -> list[Projection]:
    """Read models `tandem replay` can rebuild: the facts every figure is computed from."""
    return [FactsProjection([events_topic(s, settings.topic_prefix) for s in SOURCES])]


def build(settings: InsightsSettings | None = None) -> FastAPI:
    settings = settings or InsightsSettings()
    runtime = ServiceRuntime("insights", settings, projections=projections(settings), publishes=False)
    app = create_app(runtime, PREFIX, [http.router, web.router], "Tandem insights")
    app.mount(f"{PREFIX}/static", web.static_files(), name="static")
    app.state.insights = lambda: Insights(runtime.pool)
    app.state.settings = settings
    return app
