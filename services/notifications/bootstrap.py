"""Notifications' composition root: its declared spec (the directory projection and its notification rules, the
program-staff projection, the contacts follower, the sender on the clock), its ports bound to the runtime."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import FastAPI

from services.notifications.adapters import metrics
from services.notifications.adapters.delivery import ChannelDelivery
from services.notifications.adapters.email import SmtpMailer
from services.notifications.adapters.messages import Sender
from services.notifications.adapters.unsubscribe import UnsubscribeLinks
from services.notifications.adapters.webhooks import HttpxPoster
from services.notifications.config import NotificationsSettings
from services.notifications.entrypoints import destinations, http, outbox_http, unsubscribe
from services.notifications.entrypoints.contacts_consumer import ContactsFollower
from services.notifications.entrypoints.directory_consumer import DirectoryProjection, NotificationRules
from services.notifications.service_layer import handlers, rules
from services.notifications.service_layer.unit_of_work import PostgresNotificationsUnitOfWork
from shared.clock import Schedule
from shared.health import TaskHealth
from shared.http import create_app
from shared.program_staff import PostgresProgramStaff, ProgramStaffProjection
from shared.projection import Policy
from shared.runtime import ServiceRuntime
from shared.service import Bindings, ServiceSpec, Worker
from shared.topics import contacts_topic


def _settings(runtime: ServiceRuntime) -> NotificationsSettings:
    assert isinstance(runtime.settings, NotificationsSettings)
    return runtime.settings


def bindings(runtime: ServiceRuntime) -> Bindings:
    return {
        http.unit_of_work: lambda: PostgresNotificationsUnitOfWork(runtime.pool, runtime.store),
        http.staff: lambda: PostgresProgramStaff(runtime.pool),
        unsubscribe.links: lambda: _links(_settings(runtime)),
        outbox_http.clock: lambda: runtime.clock,
    }


def _links(settings: NotificationsSettings) -> UnsubscribeLinks:
    return UnsubscribeLinks(settings.unsubscribe_key, settings.public_url)


def policies(runtime: ServiceRuntime) -> list[Policy]:
    return [NotificationRules(lambda: PostgresNotificationsUnitOfWork(runtime.pool, runtime.store))]


def schedules(runtime: ServiceRuntime) -> list[Schedule]:
    """The clock-driven rules (`remind`: reminders, nudges, escalations, the weekly digest, recorded once per
    cause) and the sender (`send`: due notifications out by SMTP, Slack, Teams or signed webhooks, as each person
    and program asked, retried with a doubling back-off, dead-lettered at the last)."""
    settings = _settings(runtime)
    sender = Sender(settings.mail_from, settings.message_id_domain)
    delivery = ChannelDelivery(
        SmtpMailer(settings),
        sender,
        settings.admin_mailbox,
        poster=HttpxPoster(settings.webhook_timeout_s),
        links=_links(settings),
    )
    retries = handlers.Retries(settings.max_attempts, settings.retry_after)

    async def send(now):
        uow = PostgresNotificationsUnitOfWork(runtime.pool, runtime.store)
        attempted = await handlers.send_due(uow, delivery, now, retries, settings.send_batch_size, settings.digest_hour)
        await metrics.refresh(runtime.pool)  # the outbox by status on /metrics, as of this run
        return attempted

    def remind(now):
        return rules.remind(PostgresNotificationsUnitOfWork(runtime.pool, runtime.store), now)

    # `remind` first: what falls due at this instant is recorded before the sender runs, so it goes out at once.
    return [Schedule("remind", remind), Schedule("send", send)]


def workers(runtime: ServiceRuntime) -> list[Worker]:
    """The contacts follower: enrolment's compacted contacts topic into `contacts` (docs/adr/0008)."""
    prefix = runtime.settings.topic_prefix

    async def follow_contacts(stop: asyncio.Event, health: TaskHealth) -> None:
        follower = ContactsFollower(
            runtime.connections,
            contacts_topic(prefix),
            f"{prefix}.{runtime.service}.contacts",
            lambda: PostgresNotificationsUnitOfWork(runtime.pool, runtime.store),
        )
        await follower.run(stop, health)

    return [Worker("contacts follower", follow_contacts)]


SPEC = ServiceSpec(
    name="notifications",
    title="Tandem notifications",
    settings=NotificationsSettings,
    routers=[http.router, destinations.router, unsubscribe.router, outbox_http.router],
    migrations=[Path(__file__).parent / "adapters" / "sql"],
    projections=[DirectoryProjection(), ProgramStaffProjection()],
    policies=policies,
    bindings=bindings,
    schedules=schedules,
    workers=workers,
)


def build(settings: NotificationsSettings | None = None) -> FastAPI:
    return create_app(SPEC, settings)
