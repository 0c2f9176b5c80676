"""Matching's composition root: settings -> runtime (relay + pool projection) -> app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.matching.config import MatchingSettings
from services.matching.entrypoints import http
from services.matching.entrypoints.pool_consumer import PoolProjection
from services.matching.service_layer.unit_of_work import PostgresMatchingUnitOfWork
from shared.http import create_app
from shared.runtime import ServiceRuntime
from shared.topics import events_topic

PREFIX = "/matching/v1"
MIGRATIONS = Path(__file__).parent / "adapters" / "sql"


def settings() -> MatchingSettings:
    return MatchingSettings()


def projections(_settings: MatchingSettings) -> list:
    """Read models `tandem replay` can rebuild. None here: the pool also dissolves pairs on withdrawal (it is a
    policy, not only a view), and replaying it would record those decisions again."""
    return []


def build(settings: MatchingSettings | None = None) -> FastAPI:
    settings = settings or MatchingSettings()
    pool_projection = PoolProjection(events_topic("enrolment", settings.topic_prefix))
    runtime = ServiceRuntime("matching", settings, migrations=MIGRATIONS, projections=[pool_projection])
    app = create_app(runtime, PREFIX, [http.router], "Tandem matching")
    app.dependency_overrides[http.unit_of_work] = lambda: PostgresMatchingUnitOfWork(runtime.pool, runtime.store)
    # The projection runs inside the runtime; it reaches the service once the runtime's pool exists.
    pool_projection.matching_factory = app.dependency_overrides[http.unit_of_work]
    return app
