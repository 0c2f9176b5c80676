"""Matching's composition root: its declared spec (relay, pool projection, withdrawal policy), its ports bound
to the runtime's connections."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.matching.config import MatchingSettings
from services.matching.entrypoints import http
from services.matching.entrypoints.pool_consumer import PoolProjection, WithdrawalDissolvesPairs
from services.matching.service_layer.handlers import Matching
from shared.http import create_app
from shared.projection import Policy
from shared.runtime import ServiceRuntime
from shared.service import Bindings, ServiceSpec


def matching(runtime: ServiceRuntime) -> Matching:
    return Matching(runtime.pool, runtime.store)


def bindings(runtime: ServiceRuntime) -> Bindings:
    return {http.service: lambda: matching(runtime)}


def policies(runtime: ServiceRuntime) -> list[Policy]:
    return [WithdrawalDissolvesPairs(lambda: matching(runtime))]


SPEC = ServiceSpec(
    name="matching",
    title="Tandem matching",
    settings=MatchingSettings,
    routers=[http.router],
    migrations=[Path(__file__).parent / "adapters" / "sql"],
    projections=[PoolProjection()],
    policies=policies,
    bindings=bindings,
)


def build(settings: MatchingSettings | None = None) -> FastAPI:
    return create_app(SPEC, settings)
