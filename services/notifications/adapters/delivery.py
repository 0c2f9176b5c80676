"""Delivery: a rendered notification to its destination. The sender (service_layer/handlers.send_next) calls one
`Delivery`; which channel carries a notification is decided here:
- a participant's: the channel of their preferences when their program has it configured (Slack, Teams or the
  generic webhook; the message then names them), else their e-mail address, with RFC 8058 unsubscribe headers and
  a footer link;
- the program's admins': every destination the program configured (its admin e-mail addresses in one message, its
  Slack and Teams channels), or, when it configured none, the `TANDEM_ADMIN_MAILBOX` setting.
A destination that does not accept it raises; the sender retries the whole notification with the same id
(Message-ID, Idempotency-Key), so an admin notification whose Slack post failed after its e-mail went out is
e-mailed again with the same Message-ID on the retry."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import replace
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr
from html import escape

from services.notifications.adapters import webhooks
from services.notifications.adapters.digest import render_digest
from services.notifications.adapters.email import Mailer
from services.notifications.adapters.messages import Facts, Rendered, Sender, branded, email, render
from services.notifications.adapters.unsubscribe import UnsubscribeLinks
from services.notifications.domain.channels import ProgramChannels
from services.notifications.domain.model import Notification
from shared.events import NotificationChannel

_BODY_END = re.compile(r"</body>", re.IGNORECASE)


class NoDestination(Exception):
    """Nowhere to deliver it (no admin destination nor mailbox configured): a failed attempt, retried and then
    dead-lettered, so an admin sees it."""


class Delivery(ABC):
    def channel_for(self, notification: Notification, facts: Facts) -> NotificationChannel:
        """The channel that will carry it (NotificationSent/Failed say so)."""
        return notification.channel

    @abstractmethod
    async def deliver(self, notification: Notification, facts: Facts, now: datetime) -> None:
        """Deliver it; raise when the destination did not accept it (the sender retries with the same id)."""


class ChannelDelivery(Delivery):
    def __init__(
        self,
        mailer: Mailer,
        sender: Sender,
        admin_mailbox: str = "",
        *,
        poster: webhooks.Poster | None = None,
        links: UnsubscribeLinks | None = None,
    ):
        self.mailer = mailer
        self.sender = sender
        self.admin_mailbox = admin_mailbox
        self.poster = poster
        self.links = links

    def channel_for(self, notification: Notification, facts: Facts) -> NotificationChannel:
        if notification.audience == "program-admins":
            return self._admin_channels(facts.channels)[0]
        wanted = facts.preferences.channel if facts.preferences else "email"
        # A chat channel the program has not configured (or no longer has): the person still hears, by e-mail.
        usable = self.poster is not None and facts.channels is not None and facts.channels.has(wanted)
        return wanted if usable else "email"

    async def deliver(self, notification: Notification, facts: Facts, now: datetime) -> None:
        rendered = self._render(notification, facts, now)
        if notification.audience == "program-admins":
            for channel in self._admin_channels(facts.channels):
                await self._to_admins(channel, notification, rendered, facts, now)
            return
        channel = self.channel_for(notification, facts)
        if channel == "email":
            await self.mailer.send(self._participant_email(notification, rendered, facts, now))
        else:
            assert facts.channels is not None
            await self._post(channel, facts.channels, notification, rendered, facts, now)

    def _render(self, notification: Notification, facts: Facts, now: datetime) -> Rendered:
        if notification.rule != "daily-digest":
            return render(notification, facts, now, sender=self.sender)
        items = [render(n, f, now, sender=self.sender, with_branding=False) for n, f in facts.digest]
        return branded(render_digest(items, facts.program.title), facts)

    def _admin_channels(self, channels: ProgramChannels | None) -> list[NotificationChannel]:
        chats: tuple[NotificationChannel, ...] = ("slack", "teams")
        if channels is None:
            return ["email"]
        posted = [c for c in chats if self.poster is not None and channels.has(c)]
        # E-mail when the program named addresses, or when it configured nothing (the TANDEM_ADMIN_MAILBOX).
        mail: list[NotificationChannel] = ["email"] if channels.admin_emails or not posted else []
        return mail + posted

    async def _to_admins(
        self, channel: NotificationChannel, notification: Notification, rendered: Rendered, facts: Facts, now: datetime
    ) -> None:
        if channel != "email":
            assert facts.channels is not None
            await self._post(channel, facts.channels, notification, rendered, facts, now)
            return
        addresses = list(facts.channels.admin_emails) if facts.channels else []
        addresses = addresses or ([self.admin_mailbox] if self.admin_mailbox else [])
        if not addresses:
            raise NoDestination("no admin destination")
        name = f"{facts.program.title} admins"
        message = email(notification, rendered, (name, addresses[0]), now, sender=self.sender)
        message.replace_header("To", ", ".join(formataddr((name, a)) for a in addresses))
        await self.mailer.send(message)

    def _participant_email(
        self, notification: Notification, rendered: Rendered, facts: Facts, now: datetime
    ) -> EmailMessage:
        assert facts.recipient is not None and notification.participant_id is not None
        to = (facts.recipient.display_name, facts.recipient.email)
        if self.links is None:
            return email(notification, rendered, to, now, sender=self.sender)
        link = self.links.url(notification.participant_id)
        message = email(notification, with_footer(rendered, link), to, now, sender=self.sender)
        # RFC 8058: mail clients show an unsubscribe button that POSTs "List-Unsubscribe=One-Click" to this URL.
        message["List-Unsubscribe"] = f"<{link}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        return message

    async def _post(
        self,
        channel: NotificationChannel,
        channels: ProgramChannels,
        notification: Notification,
        rendered: Rendered,
        facts: Facts,
        now: datetime,
    ) -> None:
        assert self.poster is not None
        person = facts.recipient if notification.audience == "participant" else None
        if channel == "webhook":
            assert channels.webhook_url is not None and channels.webhook_secret is not None
            raw = webhooks.body(webhooks.generic(notification, rendered, person))
            headers = webhooks.headers(notification, now, channels.webhook_secret, raw)
            await self.poster.post(channels.webhook_url, raw, headers)
            return
        url = channels.slack_url if channel == "slack" else channels.teams_url
        assert url is not None
        payload = webhooks.slack(rendered, person) if channel == "slack" else webhooks.teams(rendered, person)
        await self.poster.post(url, webhooks.body(payload), webhooks.headers(notification, now))


# The first slice's name: an e-mail-only delivery is a ChannelDelivery without a poster.
EmailDelivery = ChannelDelivery


def with_footer(rendered: Rendered, link: str) -> Rendered:
    """The unsubscribe link at the foot of both parts (templates stay channel-neutral: chat posts have none)."""
    text = f"{rendered.text.rstrip()}\n\n--\nStop these e-mails: {link}\n"
    footer = f'<p style="font-size:small">Stop these e-mails: <a href="{escape(link)}">unsubscribe</a></p>\n'
    html, n = _BODY_END.subn(footer + "</body>", rendered.html, count=1)
    return replace(rendered, text=text, html=html if n else rendered.html + footer)
