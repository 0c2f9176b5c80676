"""Insights' composition root: the facts projection, no relay (it publishes nothing), the web pages."""

from __future__ import annotations

from fastapi import FastAPI

from services.insights.cli import app as commands
from services.insights.config import InsightsSettings
from services.insights.entrypoints import http, web
from services.insights.entrypoints.facts_consumer import FactsProjection
from services.insights.service_layer.queries import Insights
from shared.http import create_app
from shared.runtime import ServiceRuntime
from shared.service import Bindings, ServiceSpec


def bindings(runtime: ServiceRuntime) -> Bindings:
    return {http.service: lambda: Insights(runtime.pool), web.settings: lambda: runtime.settings}


SPEC = ServiceSpec(
    name="insights",
    title="Tandem insights",
    settings=InsightsSettings,
    routers=[http.router, web.router],
    projections=[FactsProjection()],
    bindings=bindings,
    static_files=web.STATIC,
    commands=commands,
)


def build(settings: InsightsSettings | None = None) -> FastAPI:
    return create_app(SPEC, settings)
