"""A person's say in how they are notified (issue #17): their channel, immediate or one digest a day, quiet hours
in their own time zone, or no notifications at all. Pure: the sender (service_layer/handlers.py) asks `hold` what
to do with a due notification before anything is delivered.

Decisions written down here (services/notifications/README.md repeats them):
- Unsubscribed means nothing at all: not even an introduction. RFC 8058's one-click unsubscribe promises that the
  mail stops; a person who unsubscribed and then still receives "meet your partner" would rightly call it spam. The
  program's admins still see the pair on their dashboard, and the person can subscribe again under /me/preferences.
- The introduction is never batched into a digest: it carries the calendar invitation and starts the pair's work.
  It does wait for the end of quiet hours like everything else.
- A digest is sent at `digest_hour` local time: the notifications due before that hour today go in today's digest,
  the later ones in tomorrow's. A digest falling in quiet hours waits for their end like any notification.
- Quiet hours are a half-open interval [start, end) of local wall-clock time; start > end spans midnight
  (22:00-07:00); start == end means none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.events import NotificationChannel, NotificationPreferencesChanged

DeliveryMode = Literal["immediate", "daily-digest"]
PreferencesVia = Literal["preferences", "unsubscribe-link"]
NEVER_BATCHED = frozenset({"introduction", "daily-digest"})


@dataclass(frozen=True)
class Preferences:
    participant_id: str
    channel: NotificationChannel = "email"
    delivery: DeliveryMode = "immediate"
    quiet_start: time | None = None
    quiet_end: time | None = None
    unsubscribed: bool = False


def preferences_changed(prefs: Preferences, via: PreferencesVia) -> NotificationPreferencesChanged:
    return NotificationPreferencesChanged(
        participant_id=prefs.participant_id,
        channel=prefs.channel,
        delivery=prefs.delivery,
        quiet_hours_start=prefs.quiet_start,
        quiet_hours_end=prefs.quiet_end,
        unsubscribed=prefs.unsubscribed,
        via=via,
    )


def zone(name: str | None) -> ZoneInfo:
    """The person's time zone from contacts; an unknown or missing name reads as UTC rather than failing a send."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _at(day: date, at: time, tz: ZoneInfo) -> datetime:
    # fold=0 and zoneinfo's normalisation: a wall time skipped by a DST jump lands just after the jump.
    return datetime.combine(day, at, tz)


def quiet_until(prefs: Preferences | None, tz: ZoneInfo, now: datetime) -> datetime | None:
    """The end of the quiet hours `now` falls in (an aware instant), or None when it is not in quiet hours."""
    if prefs is None or prefs.quiet_start is None or prefs.quiet_end is None or prefs.quiet_start == prefs.quiet_end:
        return None
    local = now.astimezone(tz)
    wall, start, end = local.time().replace(tzinfo=None), prefs.quiet_start, prefs.quiet_end
    if start < end:
        return _at(local.date(), end, tz) if start <= wall < end else None
    # Spans midnight: quiet from start to 24:00 (ends tomorrow) and from 00:00 to end (ends today).
    if wall >= start:
        return _at(local.date() + timedelta(days=1), end, tz)
    if wall < end:
        return _at(local.date(), end, tz)
    return None


def next_digest(tz: ZoneInfo, now: datetime, digest_hour: int) -> tuple[datetime, date]:
    """When the digest that takes a notification due `now` is sent, and the local day it is named by."""
    local = now.astimezone(tz)
    today = _at(local.date(), time(digest_hour), tz)
    if local < today:
        return today, local.date()
    day = local.date() + timedelta(days=1)
    return _at(day, time(digest_hour), tz), day


@dataclass(frozen=True)
class Send:
    """Deliver it now."""


@dataclass(frozen=True)
class Defer:
    """Not now (quiet hours): due again at `until`; not an attempt."""

    until: datetime


@dataclass(frozen=True)
class Batch:
    """Into the person's digest sent at `at`, named by the local `day`."""

    at: datetime
    day: date


@dataclass(frozen=True)
class Suppress:
    """The person unsubscribed: never sent."""


Hold = Send | Defer | Batch | Suppress


def hold(rule: str, prefs: Preferences | None, tz: ZoneInfo, now: datetime, digest_hour: int) -> Hold:
    """What to do with a participant's notification due `now`. A program's admins have no preferences: None."""
    if prefs is None:
        return Send()
    if prefs.unsubscribed:
        return Suppress()
    if prefs.delivery == "daily-digest" and rule not in NEVER_BATCHED:
        at, day = next_digest(tz, now, digest_hour)
        return Batch(quiet_until(prefs, tz, at) or at, day)
    until = quiet_until(prefs, tz, now)
    return Defer(until) if until else Send()
