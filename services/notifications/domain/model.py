"""Notifications, decided from events and sent once per cause (issue #17).

A notification's id is derived from its cause: the causing event's id, the rule that fired and the recipient. A
redelivered event, a replayed batch or a second replica derives the same id, and the table's primary key makes
the second record a no-op. The record is made before anything is sent, in the transaction that applies the event;
the sender then delivers what is due, retries with a doubling back-off, and dead-letters after `max_attempts`.

No personal data here: recipients are pseudonymous participant ids, and `context` holds only facts of the event
(ids, the score breakdown, dates). Names and addresses are looked up in `contacts` when the message is composed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal

from shared.errors import Conflict
from shared.events import (
    NotificationAudience,
    NotificationChannel,
    NotificationFailed,
    NotificationRequeued,
    NotificationRule,
    NotificationSent,
    NotificationSettings,
    NotificationSuppressed,
)

# Fixed forever: changing it would give every past cause a new notification id, and so a second notification.
NAMESPACE = uuid.UUID("5d0b3f6e-3c1a-4d8e-9a51-0c7e2f4b9a17")

# digested: batched into its person's daily digest (`digest_id`); suppressed: its person unsubscribed.
Status = Literal["pending", "sent", "dead", "digested", "suppressed"]


PROGRAM_ADMINS = "program-admins"  # the recipient part of the id of a notification to the program's admins


def notification_id(cause_event_id: str, rule: NotificationRule, participant_id: str | None) -> str:
    """The same cause, rule and recipient give the same id, in every process and every replay. A cause that is
    not one event (a cadence falling due) is named by a stable key of what it is, e.g. `<pair id>/due/<date>`."""
    return str(uuid.uuid5(NAMESPACE, f"{cause_event_id}/{rule}/{participant_id or PROGRAM_ADMINS}"))


@dataclass(frozen=True)
class Notification:
    notification_id: str
    rule: NotificationRule
    cause_event_id: str
    participant_id: str | None  # None: the audience is the program's admins
    program_id: str
    channel: NotificationChannel
    next_attempt_at: datetime
    context: dict[str, Any] = field(default_factory=dict)
    audience: NotificationAudience = "participant"
    status: Status = "pending"
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None
    digest_id: str | None = None

    def sent(self, now: datetime) -> tuple[Notification, NotificationSent]:
        done = replace(self, status="sent", attempts=self.attempts + 1, sent_at=now, last_error=None)
        return done, NotificationSent(**done._ids(), attempts=done.attempts)

    def failed(
        self, error: str, now: datetime, *, max_attempts: int, retry_after: timedelta
    ) -> tuple[Notification, NotificationFailed]:
        """After a failed attempt: due again after `retry_after` doubled per earlier failure, or dead-lettered once
        `max_attempts` are spent. `error` is a class of failure (never a message that could quote an address)."""
        attempts = self.attempts + 1
        dead = attempts >= max_attempts
        after = replace(
            self,
            status="dead" if dead else "pending",
            attempts=attempts,
            last_error=error[:200],
            next_attempt_at=now + retry_after * 2 ** (attempts - 1),
        )
        return after, NotificationFailed(**after._ids(), attempts=attempts, dead_lettered=dead)

    def deferred(self, until: datetime) -> Notification:
        """Quiet hours: due again at their end. Not an attempt, so no event and no back-off."""
        return replace(self, next_attempt_at=until)

    def batched(self, digest_id: str) -> Notification:
        return replace(self, status="digested", digest_id=digest_id)

    def suppressed(self) -> tuple[Notification, NotificationSuppressed]:
        assert self.participant_id is not None, "only a participant unsubscribes"
        after = replace(self, status="suppressed")
        return after, NotificationSuppressed(
            notification_id=self.notification_id,
            rule=self.rule,
            participant_id=self.participant_id,
            program_id=self.program_id,
            cause_event_id=self.cause_event_id,
        )

    def requeued(self, now: datetime) -> tuple[Notification, NotificationRequeued]:
        """A dead letter back in the outbox, due now, with a fresh run of attempts: whoever re-queues it has fixed
        what made it fail, so it deserves the whole back-off again. Only a dead letter: a pending one is queued
        already, and a sent one would be a second notification for its cause."""
        if self.status != "dead":
            raise Conflict(f"notification {self.notification_id} is {self.status}, not dead-lettered")
        after = replace(self, status="pending", attempts=0, next_attempt_at=now)
        return after, NotificationRequeued(**self._ids(), attempts_spent=self.attempts)

    def _ids(self) -> dict[str, Any]:
        return {
            "notification_id": self.notification_id,
            "rule": self.rule,
            "channel": self.channel,
            "audience": self.audience,
            "participant_id": self.participant_id,
            "program_id": self.program_id,
            "cause_event_id": self.cause_event_id,
        }

    @property
    def stream_id(self) -> str:
        return f"notification-{self.notification_id}"


def _for(
    rule: NotificationRule,
    cause_event_id: str,
    participant_id: str | None,
    program_id: str,
    now: datetime,
    audience: NotificationAudience = "participant",
    **context: Any,
) -> Notification:
    """A notification of `rule` for its cause and recipient (None: the program's admins), due at `now`."""
    return Notification(
        notification_id=notification_id(cause_event_id, rule, participant_id),
        rule=rule,
        cause_event_id=cause_event_id,
        participant_id=participant_id,
        program_id=program_id,
        channel="email",
        next_attempt_at=now,
        context=context,
        audience=audience,
    )


def introductions(
    *,
    cause_event_id: str,
    program_id: str,
    pair_id: str,
    mentor_id: str,
    mentee_id: str,
    breakdown: dict[str, float],
    formed_at: datetime,
) -> list[Notification]:
    """A pair started: each member hears who the partner is and why they were matched."""
    return [
        _for(
            "introduction",
            cause_event_id,
            member,
            program_id,
            formed_at,
            pair_id=pair_id,
            partner_id=partner,
            side=side,
            breakdown=breakdown,
            formed_at=formed_at.isoformat(),
        )
        for member, partner, side in ((mentor_id, mentee_id, "mentor"), (mentee_id, mentor_id, "mentee"))
    ]


def daily_digest(participant_id: str, program_id: str, day: date, at: datetime) -> Notification:
    """The person's digest of `day` (their local date) in one program: one id per person, program and day, so
    every notification batched that day finds the same digest, however many senders batch them."""
    return _for("daily-digest", f"daily-digest/{program_id}/{day.isoformat()}", participant_id, program_id, at)


@dataclass(frozen=True)
class PairMembers:
    pair_id: str
    program_id: str
    mentor_id: str
    mentee_id: str


def feedback_prompts(*, cause_event_id: str, pair: PairMembers, held_on: date, now: datetime) -> list[Notification]:
    """A session was logged: both members are asked how it went."""
    return [
        _for(
            "feedback-prompt",
            cause_event_id,
            member,
            pair.program_id,
            now,
            pair_id=pair.pair_id,
            partner_id=partner,
            held_on=held_on.isoformat(),
        )
        for member, partner in ((pair.mentor_id, pair.mentee_id), (pair.mentee_id, pair.mentor_id))
    ]


@dataclass(frozen=True)
class ProgramFacts:
    """What a message and the rules need of its program: its title, rhythm and notification settings (from
    ProgramLaunched / ProgramSettingsChanged)."""

    program_id: str
    title: str
    cadence_days: int
    duration_weeks: int
    # Each rule on or off and its timing, as the newest settings_version says (issue #17).
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
