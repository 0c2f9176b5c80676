"""Sessions' composition root: its declared spec (relay, pairs projection, the pair-end schedule), its ports bound
to the runtime."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.sessions.config import SessionsSettings
from services.sessions.entrypoints import http
from services.sessions.entrypoints.pairs_consumer import ErasureForgetsWords, PairsProjection
from services.sessions.service_layer import handlers
from services.sessions.service_layer.unit_of_work import PostgresSessionsUnitOfWork
from shared.clock import Schedule
from shared.http import create_app
from shared.program_staff import ProgramStaffProjection
from shared.projection import Policy
from shared.runtime import ServiceRuntime
from shared.service import Bindings, ServiceSpec


def bindings(runtime: ServiceRuntime) -> Bindings:
    return {
        http.unit_of_work: lambda: PostgresSessionsUnitOfWork(runtime.pool, runtime.store),
        http.settings: lambda: runtime.settings,
        http.clock: lambda: runtime.clock,
    }


def schedules(runtime: ServiceRuntime) -> list[Schedule]:
    """A pair ends by itself at its agreement's `ends_on` (else its start plus the program's duration)."""

    def unit_of_work() -> PostgresSessionsUnitOfWork:
        return PostgresSessionsUnitOfWork(runtime.pool, runtime.store)

    return [Schedule("pair-end", lambda now: handlers.complete_due_pairs(unit_of_work, now))]


def policies(runtime: ServiceRuntime) -> list[Policy]:
    return [ErasureForgetsWords(lambda: PostgresSessionsUnitOfWork(runtime.pool, runtime.store))]


SPEC = ServiceSpec(
    name="sessions",
    title="Tandem sessions",
    settings=SessionsSettings,
    routers=[http.router],
    migrations=[Path(__file__).parent / "adapters" / "sql"],
    projections=[PairsProjection(), ProgramStaffProjection()],
    policies=policies,
    bindings=bindings,
    schedules=schedules,
)


def build(settings: SessionsSettings | None = None) -> FastAPI:
    return create_app(SPEC, settings)
