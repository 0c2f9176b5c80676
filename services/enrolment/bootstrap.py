"""Enrolment's composition root: its declared spec, and its ports bound to the runtime's connections."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI

from services.enrolment.adapters.contacts_relay import ContactsRelay
from services.enrolment.config import EnrolmentSettings
from services.enrolment.entrypoints import http, people, recognition, roster, scim, training
from services.enrolment.entrypoints.partnerships_consumer import CompletionIssuesCertificates, PartnershipsProjection
from services.enrolment.service_layer import handlers
from services.enrolment.service_layer.unit_of_work import PostgresEnrolmentUnitOfWork
from shared.clock import Schedule
from shared.health import TaskHealth
from shared.http import create_app
from shared.projection import Policy
from shared.runtime import ServiceRuntime
from shared.service import Bindings, ServiceSpec, Worker
from shared.topics import contacts_topic


def bindings(runtime: ServiceRuntime) -> Bindings:
    settings = runtime.settings
    assert isinstance(settings, EnrolmentSettings)
    return {
        http.unit_of_work: lambda: PostgresEnrolmentUnitOfWork(runtime.pool, runtime.store),
        http.pseudonym_key: lambda: settings.pseudonym_key,
    }


def policies(runtime: ServiceRuntime) -> list[Policy]:
    return [CompletionIssuesCertificates(lambda: PostgresEnrolmentUnitOfWork(runtime.pool, runtime.store))]


def schedules(runtime: ServiceRuntime) -> list[Schedule]:
    """Retention (issue #19): a closed program's participants are erased once its retention_months have passed."""

    def retention(now: datetime) -> Awaitable[int]:
        return handlers.apply_retention(lambda: PostgresEnrolmentUnitOfWork(runtime.pool, runtime.store), now, 200)

    return [Schedule("retention", retention)]


def workers(runtime: ServiceRuntime) -> list[Worker]:
    """The contacts relay: participants' contact details to the compacted contacts topic (docs/adr/0008)."""

    async def relay_contacts(stop: asyncio.Event, health: TaskHealth) -> None:
        producer = await runtime.connections.producer()  # here, not at start: Kafka may come later
        topic = contacts_topic(runtime.settings.topic_prefix)
        await ContactsRelay(runtime.pool, runtime.schema, topic, producer).run(stop, health)

    return [Worker("contacts relay", relay_contacts)]


SPEC = ServiceSpec(
    name="enrolment",
    title="Tandem enrolment",
    settings=EnrolmentSettings,
    routers=[people.router, http.router, roster.router, scim.router, training.router, recognition.router],
    migrations=[Path(__file__).parent / "adapters" / "sql"],
    projections=[PartnershipsProjection()],
    policies=policies,
    bindings=bindings,
    schedules=schedules,
    workers=workers,
)


def build(settings: EnrolmentSettings | None = None) -> FastAPI:
    app = create_app(SPEC, settings)
    if settings is not None:
        # Callers are recognised with the key enrolment derives ids with (both are TANDEM_PSEUDONYM_KEY when read
        # from the environment): a caller's ids and the ids enrolment stores must agree (ADR 0011).
        app.state.auth = app.state.auth.model_copy(update={"pseudonym_key": settings.pseudonym_key})
    return app
