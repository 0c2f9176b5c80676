"""Sessions' composition root: settings -> runtime (relay + pairs projection) -> app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.sessions.config import SessionsSettings
from services.sessions.entrypoints import http
from services.sessions.entrypoints.pairs_consumer import PairsProjection
from services.sessions.service_layer.unit_of_work import PostgresSessionsUnitOfWork
from shared.http import create_app
from shared.projection import Projection
from shared.runtime import ServiceRuntime
from shared.topics import events_topic

PREFIX = "/sessions/v1"
MIGRATIONS = Path(__file__).parent / "adapters" / "sql"


def settings() -> SessionsSettings:
    return SessionsSettings()


def projections(settings: SessionsSettings) -> list[Projection]:
    """Read models `tandem replay` can rebuild: the pairs matching announced."""
    return [PairsProjection(events_topic("matching", settings.topic_prefix))]


def build(settings: SessionsSettings | None = None) -> FastAPI:
    settings = settings or SessionsSettings()
    runtime = ServiceRuntime("sessions", settings, migrations=MIGRATIONS, projections=projections(settings))
    app = create_app(runtime, PREFIX, [http.router], "Tandem sessions")
    app.dependency_overrides[http.unit_of_work] = lambda: PostgresSessionsUnitOfWork(runtime.pool, runtime.store)
    app.dependency_overrides[http.settings] = lambda: settings
    return app
