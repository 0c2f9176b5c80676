"""Composes a notification's e-mail: text and HTML parts from the Jinja2 templates beside this module, the
introduction's iCalendar invitation, and a Message-ID derived from the notification id, so a retried send carries
the same id and a receiver can recognise it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.notifications.adapters.calendar import invitation
from services.notifications.domain.model import Notification, ProgramFacts
from shared.contacts import ContactDetails

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=True),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)

SUBJECTS = {
    "introduction": "Meet your Tandem partner, {partner}",
    "feedback-prompt": "How did your session with {partner} go?",
}

# Why a pair was matched, in words, per criterion of the breakdown (shared.events.MATCHING_CRITERIA).
REASONS = {
    "skills_to_mentee": "the mentor has skills the mentee wants to learn",
    "skills_to_mentor": "the mentee can teach skills the mentor wants",
    "cross_department": "you work in different departments, so each sees another part of the company",
    "generation_gap": "you bring the views of different generations",
    "program_focus": "you share the program's focus areas",
    "communication_style": "your communication styles fit",
    "time_zone_overlap": "your working hours overlap",
}
FIRST_MEETING_AFTER = timedelta(days=7)
FIRST_MEETING_AT = time(10, 0)
MEETING_MINUTES = 45


@dataclass(frozen=True)
class Sender:
    """Who Tandem's e-mail comes from, and the domain of its Message-IDs."""

    mail_from: str
    message_id_domain: str


def reasons(breakdown: dict[str, float], at_most: int = 3) -> list[str]:
    """The criteria that counted most for the pair, strongest first (those that counted nothing are left out)."""
    ranked = sorted((v, k) for k, v in breakdown.items() if v > 0 and k in REASONS)
    return [REASONS[k] for _, k in reversed(ranked)][:at_most]


def message_id(notification_id: str, domain: str) -> str:
    return f"<{notification_id}@{domain}>"


def compose(
    notification: Notification,
    recipient: ContactDetails,
    partner: ContactDetails,
    program: ProgramFacts,
    now: datetime,
    *,
    sender: Sender,
) -> EmailMessage:
    """The message for `notification` to `recipient` (the partner's details fill the rule's template).
    `sender` is keyword-only: the composition root binds it, the sender calls the rest positionally."""
    context: dict[str, Any] = {
        "recipient": recipient,
        "partner": partner,
        "program": program,
        **notification.context,
    }
    if notification.rule == "introduction":
        context["reasons"] = reasons(notification.context.get("breakdown", {}))
    message = EmailMessage()
    message["Subject"] = SUBJECTS[notification.rule].format(partner=partner.display_name)
    message["From"] = sender.mail_from
    message["To"] = formataddr((recipient.display_name, recipient.email))
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(notification.notification_id, sender.message_id_domain)
    message["X-Tandem-Notification-Id"] = notification.notification_id
    message.set_content(TEMPLATES.get_template(f"{notification.rule}.txt.j2").render(context))
    message.add_alternative(TEMPLATES.get_template(f"{notification.rule}.html.j2").render(context), subtype="html")
    if notification.rule == "introduction":
        ics = introduction_invitation(notification, recipient, partner, program, now, sender=sender)
        message.add_alternative(ics.decode(), subtype="calendar", params={"method": "REQUEST"})
    return message


def introduction_invitation(
    notification: Notification,
    recipient: ContactDetails,
    partner: ContactDetails,
    program: ProgramFacts,
    now: datetime,
    *,
    sender: Sender,
) -> bytes:
    """The pair's recurring meeting. Both members' invitations have the same UID and start: 10:00 in the mentor's
    time zone, a week after the pair formed, so their calendars hold one series at one instant."""
    mentor = recipient if notification.context["side"] == "mentor" else partner
    formed = datetime.fromisoformat(notification.context["formed_at"])
    zone = _zone(mentor.time_zone)
    start = datetime.combine((formed + FIRST_MEETING_AFTER).astimezone(zone).date(), FIRST_MEETING_AT, zone)
    return invitation(
        uid=f"pair-{notification.context['pair_id']}@{sender.message_id_domain}",
        summary=f"Tandem: {recipient.display_name} and {partner.display_name}",
        description=f"Your {program.title} pair meeting, every {program.cadence_days} days.",
        organizer=parseaddr(sender.mail_from)[1],
        attendees=[(recipient.display_name, recipient.email), (partner.display_name, partner.email)],
        start=start,
        minutes=MEETING_MINUTES,
        cadence_days=program.cadence_days,
        duration_weeks=program.duration_weeks,
        stamp=now,
    )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
