"""Enrolment's composition root: settings -> runtime -> app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.enrolment.config import EnrolmentSettings
from services.enrolment.entrypoints import http
from services.enrolment.service_layer.unit_of_work import PostgresEnrolmentUnitOfWork
from shared.http import create_app
from shared.runtime import ServiceRuntime

PREFIX = "/enrolment/v1"
MIGRATIONS = Path(__file__).parent / "adapters" / "sql"


def settings() -> EnrolmentSettings:
    return EnrolmentSettings()


def projections(_settings: EnrolmentSettings) -> list:
    """Read models `tandem replay` can rebuild: enrolment reads no other service's events."""
    return []


def build(settings: EnrolmentSettings | None = None) -> FastAPI:
    settings = settings or EnrolmentSettings()
    runtime = ServiceRuntime("enrolment", settings, migrations=MIGRATIONS)
    app = create_app(runtime, PREFIX, [http.router], "Tandem enrolment")
    app.dependency_overrides[http.unit_of_work] = lambda: PostgresEnrolmentUnitOfWork(runtime.pool, runtime.store)
    app.dependency_overrides[http.pseudonym_key] = lambda: settings.pseudonym_key
    app.state.settings = settings
    return app
