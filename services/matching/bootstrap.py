"""Matching's composition root: its declared spec (relay, pool projection, withdrawal policy, proposal expiry on
the clock), its ports bound to the runtime's connections."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi import FastAPI

from services.matching.config import MatchingSettings
from services.matching.entrypoints import http
from services.matching.entrypoints.pool_consumer import (
    CompletionEndsPairs,
    ErasureForgetsWords,
    PoolProjection,
    ProfileChangeRechecksPairs,
    WithdrawalDissolvesPairs,
)
from services.matching.service_layer import handlers
from services.matching.service_layer.unit_of_work import PostgresMatchingUnitOfWork
from shared.clock import Schedule
from shared.http import create_app
from shared.projection import Policy
from shared.runtime import ServiceRuntime
from shared.service import Bindings, ServiceSpec


def unit_of_work(runtime: ServiceRuntime) -> PostgresMatchingUnitOfWork:
    return PostgresMatchingUnitOfWork(runtime.pool, runtime.store)


def bindings(runtime: ServiceRuntime) -> Bindings:
    return {http.unit_of_work: lambda: unit_of_work(runtime), http.clock: lambda: runtime.clock}


def schedules(runtime: ServiceRuntime) -> list[Schedule]:
    async def expire_proposals(now: datetime) -> int:
        return await handlers.expire_proposals(unit_of_work(runtime), now)

    return [Schedule("expire-proposals", expire_proposals)]


def policies(runtime: ServiceRuntime) -> list[Policy]:
    return [
        WithdrawalDissolvesPairs(lambda: unit_of_work(runtime)),
        ProfileChangeRechecksPairs(lambda: unit_of_work(runtime)),
        CompletionEndsPairs(lambda: unit_of_work(runtime)),
        ErasureForgetsWords(lambda: unit_of_work(runtime)),
    ]


SPEC = ServiceSpec(
    name="matching",
    title="Tandem matching",
    settings=MatchingSettings,
    routers=[http.router],
    migrations=[Path(__file__).parent / "adapters" / "sql"],
    projections=[PoolProjection()],
    policies=policies,
    bindings=bindings,
    schedules=schedules,
)


def build(settings: MatchingSettings | None = None) -> FastAPI:
    return create_app(SPEC, settings)
