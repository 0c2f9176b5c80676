"""Notifications' use cases: record what a cause calls for (once: the ids are derived from it), and send what is
due, each in a unit of work."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.notifications.adapters.delivery import Delivery
from services.notifications.adapters.email import failure_class
from services.notifications.adapters.messages import Facts
from services.notifications.domain import model
from services.notifications.domain.model import Notification
from services.notifications.service_layer.rules import settings_of
from services.notifications.service_layer.unit_of_work import NotificationsUnitOfWork
from shared.contacts import ContactDetails
from shared.errors import NotFound
from shared.events import Event, PairFormed, SessionHeld

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Retries:
    max_attempts: int
    retry_after: timedelta


class NotYetDeliverable(Exception):
    """A fact the message needs (a contact's details, the program) has not arrived: retried like a failed send."""


async def introduce(uow: NotificationsUnitOfWork, event: PairFormed, cause_event_id: str, formed_at: datetime) -> int:
    """Both members of a new pair are introduced; sessions that waited for the pair get their prompts now."""
    async with uow:
        settings = await settings_of(uow, event.program_id)
        notifications = model.introductions(
            cause_event_id=cause_event_id,
            program_id=event.program_id,
            pair_id=event.pair_id,
            mentor_id=event.mentor_id,
            mentee_id=event.mentee_id,
            breakdown=event.breakdown,
            formed_at=formed_at,
        )
        pair = model.PairMembers(event.pair_id, event.program_id, event.mentor_id, event.mentee_id)
        for cause, held_on in await uow.directory.sessions_awaiting(event.pair_id):
            notifications += model.feedback_prompts(cause_event_id=cause, pair=pair, held_on=held_on, now=formed_at)
        return sum([await uow.notifications.add(n) for n in notifications if settings.enabled(n.rule)])


async def prompt_feedback(uow: NotificationsUnitOfWork, event: SessionHeld, cause_event_id: str, now: datetime) -> int:
    """Both members are asked for feedback on a logged session (once its pair is known here)."""
    async with uow:
        pair = await uow.directory.pair(event.pair_id)
        if pair is None:
            await uow.directory.await_pair(cause_event_id, event.pair_id, event.held_on)
            return 0
        if not (await settings_of(uow, event.program_id)).feedback_prompt.enabled:
            return 0
        prompts = model.feedback_prompts(cause_event_id=cause_event_id, pair=pair, held_on=event.held_on, now=now)
        return sum([await uow.notifications.add(n) for n in prompts])


async def send_due(
    uow: NotificationsUnitOfWork, delivery: Delivery, now: datetime, retries: Retries, limit: int
) -> int:
    """Send up to `limit` due notifications, each in its own transaction; return how many were attempted."""
    attempted = 0
    while attempted < limit and await send_next(uow, delivery, now, retries):
        attempted += 1
    return attempted


async def send_next(uow: NotificationsUnitOfWork, delivery: Delivery, now: datetime, retries: Retries) -> bool:
    """The oldest due notification, locked, sent, and its outcome recorded with its event in one transaction. A
    crash after the server accepted it and before the commit sends it again, with the same Message-ID."""
    async with uow:
        due = await uow.notifications.due(now, 1)
        if not due:
            return False
        notification = due[0]
        event: Event
        try:
            await delivery.deliver(notification, await _facts(uow, notification), now)
        except Exception as error:
            after, event = notification.failed(
                failure_class(error), now, max_attempts=retries.max_attempts, retry_after=retries.retry_after
            )
            log.warning(
                "notification %s (%s) attempt %d failed: %s%s",
                notification.notification_id,
                notification.rule,
                after.attempts,
                after.last_error,
                "; dead-lettered" if after.status == "dead" else "",
            )
        else:
            after, event = notification.sent(now)
        await uow.notifications.save(after)
        await uow.append(after.stream_id, None, [event])
        return True


async def _facts(uow: NotificationsUnitOfWork, notification: Notification) -> Facts:
    """The program and the people the message names, as known now. A person the message needs whose details have
    not arrived (or were erased) makes the attempt fail: retried, then dead-lettered."""
    program = await uow.directory.program(notification.program_id)
    if program is None:
        raise NotYetDeliverable("program not received")
    recipient = partner = None
    if notification.participant_id is not None:
        recipient = await uow.contacts.get(notification.participant_id)
        if recipient is None:
            raise NotYetDeliverable("contact details not received")
    if "partner_id" in notification.context:
        partner = await uow.contacts.get(notification.context["partner_id"])
        if partner is None:
            raise NotYetDeliverable("contact details not received")
    return Facts(program, recipient, partner)


async def contact_received(uow: NotificationsUnitOfWork, participant_id: str, details: ContactDetails | None) -> None:
    """A record of the contacts topic: the person's newest details, or (None) their tombstone."""
    async with uow:
        if details is None:
            await uow.contacts.forget(participant_id)
        else:
            await uow.contacts.put(details)


async def notifications_of(
    uow: NotificationsUnitOfWork, program_id: str, offset: int, limit: int
) -> tuple[list[Notification], int]:
    async with uow:
        return await uow.notifications.of_program(program_id, offset, limit)


async def notification(uow: NotificationsUnitOfWork, program_id: str, notification_id: str) -> Notification:
    async with uow:
        found = await uow.notifications.get(notification_id)
    if found is None or found.program_id != program_id:
        raise NotFound(f"no notification {notification_id} in program {program_id}")
    return found
