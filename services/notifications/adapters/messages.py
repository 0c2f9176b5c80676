"""Renders a notification, whatever its channel: a subject, text and HTML parts from the Jinja2 templates beside
this module (`<rule>.txt.j2`, `<rule>.html.j2`), and the introduction's iCalendar invitation. `email` wraps a
rendering in an e-mail whose Message-ID is derived from the notification id, so a retried send carries the same
id and a receiver can recognise it; the other channels (adapters/delivery.py) post the same rendering."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.notifications.adapters.calendar import invitation
from services.notifications.domain.branding import Branding
from services.notifications.domain.channels import ProgramChannels
from services.notifications.domain.model import Notification, ProgramFacts
from services.notifications.domain.preferences import Preferences
from shared.contacts import ContactDetails

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=True),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)

SUBJECTS = {
    "proposal": "Tandem proposes a partner for you: {partner}",
    "introduction": "Meet your Tandem partner, {partner}",
    "acceptance-reminder": "Your proposal with {partner} is waiting for your answer",
    "agreement-reminder": "Agree with {partner} how your pair will work",
    "session-due": "A session with {partner} is due",
    "at-risk-nudge": "Time for a session with {partner}?",
    "at-risk-escalation": "A pair in {program} needs attention",
    "feedback-prompt": "How did your session with {partner} go?",
    "program-ended": "{program} has ended",
    "completion": "Your pair with {partner} is complete: your certificate is ready",
    "admin-digest": "{program}: this week's pairs",
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


@dataclass(frozen=True)
class Facts:
    """What a message says beyond its notification's ids: the program, and the people it names, looked up when it
    is sent (so a changed name or address is used, and an erased person's never). `recipient` is None when the
    audience is the program's admins; `partner` when the rule names no partner. `channels` and `preferences` say
    where it goes (adapters/delivery.py); `digest` holds a daily digest's notifications with their own facts."""

    program: ProgramFacts
    recipient: ContactDetails | None
    partner: ContactDetails | None = None
    channels: ProgramChannels | None = None
    preferences: Preferences | None = None
    digest: tuple[tuple[Notification, Facts], ...] = ()
    branding: Branding | None = None  # None: the program set none (its title, the default colour, no footer)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    calendar: bytes | None = None  # an iCalendar METHOD:REQUEST invitation (the introduction)


def render(
    notification: Notification, facts: Facts, now: datetime, *, sender: Sender, with_branding: bool = True
) -> Rendered:
    """The words of `notification` for its recipient. `sender` is keyword-only: the composition root binds it.
    `with_branding=False`: a part of a digest, which is branded once as a whole."""
    context: dict[str, Any] = {
        "recipient": facts.recipient,
        "partner": facts.partner,
        "program": facts.program,
        **notification.context,
    }
    if "breakdown" in notification.context:
        context["reasons"] = reasons(notification.context["breakdown"])
    partner = facts.partner.display_name if facts.partner else ""
    calendar = None
    if notification.rule == "introduction" and facts.recipient and facts.partner:
        calendar = introduction_invitation(
            notification, facts.recipient, facts.partner, facts.program, now, sender=sender
        )
    rendered = Rendered(
        subject=SUBJECTS[notification.rule].format(partner=partner, program=facts.program.title),
        text=TEMPLATES.get_template(f"{notification.rule}.txt.j2").render(context),
        html=TEMPLATES.get_template(f"{notification.rule}.html.j2").render(context),
        calendar=calendar,
    )
    return branded(rendered, facts) if with_branding else rendered


def branded(rendered: Rendered, facts: Facts) -> Rendered:
    """The program's branding around a rule's words: its name in its accent colour above the HTML, its footer
    below both parts (escaped like every template's values)."""
    context = {"branding": facts.branding or Branding(facts.program.program_id), "program": facts.program}
    header = TEMPLATES.get_template("branding-header.html.j2").render(context)
    footer = TEMPLATES.get_template("branding-footer.html.j2").render(context)
    html = rendered.html.replace("<body>", "<body>\n" + header, 1).replace("</body>", footer + "</body>", 1)
    text = rendered.text + TEMPLATES.get_template("branding-footer.txt.j2").render(context)
    return replace(rendered, text=text, html=html)


def email(
    notification: Notification, rendered: Rendered, to: tuple[str, str], now: datetime, *, sender: Sender
) -> EmailMessage:
    """`rendered` as an e-mail to `to` (display name, address): text and HTML alternatives, the invitation as a
    text/calendar alternative, and the notification's stable Message-ID."""
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message["From"] = sender.mail_from
    message["To"] = formataddr(to)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(notification.notification_id, sender.message_id_domain)
    message["X-Tandem-Notification-Id"] = notification.notification_id
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    if rendered.calendar is not None:
        message.add_alternative(rendered.calendar.decode(), subtype="calendar", params={"method": "REQUEST"})
    return message


def compose(notification: Notification, facts: Facts, now: datetime, *, sender: Sender) -> EmailMessage:
    """The e-mail of `notification` to its participant."""
    assert facts.recipient is not None, "a participant's e-mail needs their contact details"
    to = (facts.recipient.display_name, facts.recipient.email)
    return email(notification, render(notification, facts, now, sender=sender), to, now, sender=sender)


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
