"""Notifications' use cases: record what a cause calls for (once: the ids are derived from it), and send what is
due, each in a unit of work."""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from services.notifications.adapters.delivery import Delivery
from services.notifications.adapters.email import failure_class
from services.notifications.adapters.messages import Facts
from services.notifications.domain import model, preferences
from services.notifications.domain.branding import Branding
from services.notifications.domain.channels import ChannelsChange, ProgramChannels
from services.notifications.domain.model import Notification
from services.notifications.domain.preferences import Preferences, PreferencesVia, preferences_changed
from services.notifications.service_layer.rules import settings_of
from services.notifications.service_layer.unit_of_work import NotificationsUnitOfWork
from shared.contacts import ContactDetails
from shared.errors import NotFound
from shared.events import Event, PairFormed, ProgramBrandingChanged, ProgramChannelsChanged, SessionHeld

log = logging.getLogger(__name__)
DIGEST_HOUR = 8  # the default of TANDEM_DIGEST_HOUR


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
    uow: NotificationsUnitOfWork,
    delivery: Delivery,
    now: datetime,
    retries: Retries,
    limit: int,
    digest_hour: int = DIGEST_HOUR,
) -> int:
    """Send up to `limit` due notifications, each in its own transaction; return how many were attempted."""
    attempted = 0
    while attempted < limit and await send_next(uow, delivery, now, retries, digest_hour):
        attempted += 1
    return attempted


async def send_next(
    uow: NotificationsUnitOfWork, delivery: Delivery, now: datetime, retries: Retries, digest_hour: int = DIGEST_HOUR
) -> bool:
    """The oldest due notification no other sender has claimed: held back as its person asked (quiet hours, digest,
    unsubscribed) or sent, its outcome recorded with its event. No transaction is open while it is sent (ADR 0010:
    one would hold back every relay of the database); the claim keeps other senders off it. A crash after the
    destination accepted it and before the outcome commits sends it again, with the same Message-ID /
    Idempotency-Key."""
    claimed = await _claim_next(uow, now)
    if claimed is None:
        return False
    try:
        async with uow:
            # Read again under the claim: another sender may have finished it between the look and the claim.
            notification = await uow.notifications.get(claimed)
            if notification is None or notification.status != "pending" or notification.next_attempt_at > now:
                return True
            held = await _hold(uow, notification, now, digest_hour)
            if not isinstance(held, preferences.Send):
                await _keep(uow, notification, held)
                return True
            facts = await _facts_or_failure(uow, notification)
        after, event = await _attempt(delivery, notification, facts, now, retries)
        async with uow:
            await uow.notifications.save(after)
            await uow.append(after.stream_id, None, [event])
        return True
    finally:
        await uow.claims.release(claimed)


async def _claim_next(uow: NotificationsUnitOfWork, now: datetime, look_ahead: int = 8) -> str | None:
    async with uow:
        due = await uow.notifications.due(now, look_ahead)
    for candidate in due:
        if await uow.claims.claim(candidate.notification_id):
            return candidate.notification_id
    return None


async def _hold(
    uow: NotificationsUnitOfWork, notification: Notification, now: datetime, digest_hour: int
) -> preferences.Hold:
    """What the recipient's preferences make of it now (the program's admins have none: sent)."""
    if notification.participant_id is None:
        return preferences.Send()
    prefs = await uow.preferences.get(notification.participant_id)
    contact = await uow.contacts.get(notification.participant_id) if prefs else None
    zone = preferences.zone(contact.time_zone if contact else None)
    return preferences.hold(notification.rule, prefs, zone, now, digest_hour)


async def _keep(uow: NotificationsUnitOfWork, notification: Notification, held: preferences.Hold) -> None:
    """Not sent now: deferred to the end of quiet hours, batched into a digest, or suppressed for good."""
    if isinstance(held, preferences.Defer):
        await uow.notifications.save(notification.deferred(held.until))
    elif isinstance(held, preferences.Batch):
        assert notification.participant_id is not None
        digest = model.daily_digest(notification.participant_id, notification.program_id, held.day, held.at)
        await uow.notifications.add(digest)  # the day's first batched notification records it; others find it
        await uow.notifications.save(notification.batched(digest.notification_id))
    elif isinstance(held, preferences.Suppress):
        after, event = notification.suppressed()
        await uow.notifications.save(after)
        await uow.append(after.stream_id, None, [event])


async def _facts_or_failure(uow: NotificationsUnitOfWork, notification: Notification) -> Facts | Exception:
    """The facts, or why they cannot be had: a failed attempt like a refused send (retried, then dead-lettered)."""
    try:
        return await _facts(uow, notification)
    except Exception as error:
        return error


async def _attempt(
    delivery: Delivery, notification: Notification, facts: Facts | Exception, now: datetime, retries: Retries
) -> tuple[Notification, Event]:
    try:
        if isinstance(facts, Exception):
            raise facts
        notification = replace(notification, channel=delivery.channel_for(notification, facts))
        await delivery.deliver(notification, facts, now)
    except Exception as error:
        after, event = notification.failed(
            failure_class(error), now, max_attempts=retries.max_attempts, retry_after=retries.retry_after
        )
        log.warning(
            "notification %s (%s over %s) attempt %d failed: %s%s",
            notification.notification_id,
            notification.rule,
            notification.channel,
            after.attempts,
            after.last_error,
            "; dead-lettered" if after.status == "dead" else "",
        )
        return after, event
    return notification.sent(now)


async def _facts(uow: NotificationsUnitOfWork, notification: Notification) -> Facts:
    """The program, its destinations, the people the message names and the recipient's preferences, as known now.
    A person the message needs whose details have not arrived (or were erased) makes the attempt fail: retried,
    then dead-lettered. A digest's notifications bring their own facts; one that cannot be told any more (its
    partner was erased) is left out."""
    program = await uow.directory.program(notification.program_id)
    if program is None:
        raise NotYetDeliverable("program not received")
    recipient = partner = prefs = None
    if notification.participant_id is not None:
        recipient = await uow.contacts.get(notification.participant_id)
        if recipient is None:
            raise NotYetDeliverable("contact details not received")
        prefs = await uow.preferences.get(notification.participant_id)
    if "partner_id" in notification.context:
        partner = await uow.contacts.get(notification.context["partner_id"])
        if partner is None:
            raise NotYetDeliverable("contact details not received")
    digest: list[tuple[Notification, Facts]] = []
    if notification.rule == "daily-digest":
        for member in await uow.notifications.in_digest(notification.notification_id):
            with suppress(NotYetDeliverable):
                digest.append((member, await _facts(uow, member)))
        if not digest:
            raise NotYetDeliverable("nothing left to tell in the digest")
    channels = await uow.channels.get(notification.program_id)
    branding = await uow.branding.get(notification.program_id)
    return Facts(program, recipient, partner, channels, prefs, tuple(digest), branding)


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


# A program's destinations and a person's preferences: each change is an event for auditors (which channels, never
# a URL, an address or a secret).


async def program_channels(uow: NotificationsUnitOfWork, program_id: str) -> ProgramChannels:
    async with uow:
        return await uow.channels.get(program_id) or ProgramChannels(program_id)


async def change_channels(uow: NotificationsUnitOfWork, change: ChannelsChange) -> tuple[ProgramChannels, str | None]:
    """The program's new destinations, and its new webhook signing secret when one was made (shown once)."""
    async with uow:
        before = await uow.channels.get(change.program_id) or ProgramChannels(change.program_id)
        after, secret = before.changed(**change.values())
        await uow.channels.put(after)
        event = ProgramChannelsChanged(
            program_id=after.program_id,
            configured=after.configured(),
            admin_mailbox_count=len(after.admin_emails),
            webhook_secret_rotated=secret is not None,
        )
        await uow.append(f"program-channels-{after.program_id}", None, [event])
        return after, secret


async def program_branding(uow: NotificationsUnitOfWork, program_id: str) -> Branding:
    async with uow:
        return await uow.branding.get(program_id) or Branding(program_id)


async def brand(uow: NotificationsUnitOfWork, branding: Branding) -> Branding:
    """The program's new branding of its messages, and an event saying so (program words only)."""
    async with uow:
        await uow.branding.put(branding)
        event = ProgramBrandingChanged(**branding.__dict__)
        await uow.append(f"program-branding-{branding.program_id}", None, [event])
        return branding


async def recipient_id(uow: NotificationsUnitOfWork, per_program: str, legacy: str) -> str:
    """Which of a person's two possible ids in a program they are notified under (ADR 0011): the per-program one
    when enrolment sent contact details for it (they are enrolled there under it), else the legacy one."""
    async with uow:
        return per_program if await uow.contacts.get(per_program) is not None else legacy


async def preferences_of(uow: NotificationsUnitOfWork, participant_id: str) -> Preferences:
    async with uow:
        return await uow.preferences.get(participant_id) or Preferences(participant_id)


async def change_preferences(
    uow: NotificationsUnitOfWork, wanted: Preferences, via: PreferencesVia = "preferences"
) -> Preferences:
    """Store them; an event when they changed (a repeated PUT or a second unsubscribe click records nothing)."""
    async with uow:
        before = await uow.preferences.get(wanted.participant_id) or Preferences(wanted.participant_id)
        if wanted != before:
            await uow.preferences.put(wanted)
            await uow.append(f"preferences-{wanted.participant_id}", None, [preferences_changed(wanted, via)])
        return wanted


async def unsubscribe(uow: NotificationsUnitOfWork, participant_id: str) -> Preferences:
    """The one-click unsubscribe: idempotent, and it keeps their other preferences for when they come back."""
    current = await preferences_of(uow, participant_id)
    return await change_preferences(uow, replace(current, unsubscribed=True), "unsubscribe-link")
