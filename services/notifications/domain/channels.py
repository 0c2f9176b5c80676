"""A program's destinations (issue #17): where its admins hear from Tandem (team mailboxes, a Slack or Teams
channel) and the generic webhook the organisation's own systems receive. The URLs and the signing secret are
secrets (anyone holding an incoming-webhook URL can post to the channel): they live only in notifications' own
table, are masked when read back, and never enter an event or a log line."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from shared.errors import Invalid
from shared.events import NotificationChannel

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_ADMIN_EMAILS = 20


@dataclass(frozen=True)
class ChannelsChange:
    """What an admin asks for: the whole set of destinations (a PUT), and whether to rotate the webhook secret."""

    program_id: str
    admin_emails: tuple[str, ...] = ()
    slack_url: str | None = None
    teams_url: str | None = None
    webhook_url: str | None = None
    rotate_secret: bool = False

    def values(self) -> dict[str, Any]:
        return {
            "admin_emails": self.admin_emails,
            "slack_url": self.slack_url,
            "teams_url": self.teams_url,
            "webhook_url": self.webhook_url,
            "rotate_secret": self.rotate_secret,
        }


@dataclass(frozen=True)
class ProgramChannels:
    program_id: str
    admin_emails: tuple[str, ...] = ()
    slack_url: str | None = None
    teams_url: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None  # generated here, returned once, rotated on request

    def has(self, channel: NotificationChannel) -> bool:
        return {
            "email": True,
            "slack": self.slack_url is not None,
            "teams": self.teams_url is not None,
            "webhook": self.webhook_url is not None,
        }[channel]

    def configured(self) -> list[str]:
        """What is configured, without a URL or an address (what the audit event says)."""
        present = (
            ("email", bool(self.admin_emails)),
            ("slack", self.slack_url is not None),
            ("teams", self.teams_url is not None),
            ("webhook", self.webhook_url is not None),
        )
        return [name for name, on in present if on]

    def changed(
        self,
        *,
        admin_emails: tuple[str, ...],
        slack_url: str | None,
        teams_url: str | None,
        webhook_url: str | None,
        rotate_secret: bool,
    ) -> tuple[ProgramChannels, str | None]:
        """The new destinations, and the new signing secret when one was made (a first webhook URL, or a rotation
        asked for): the caller shows it once."""
        for field, url in (("slack_url", slack_url), ("teams_url", teams_url), ("webhook_url", webhook_url)):
            check_url(field, url)
        new_secret = None
        if webhook_url and (rotate_secret or self.webhook_secret is None):
            new_secret = "whsec_" + secrets.token_urlsafe(32)
        after = replace(
            self,
            admin_emails=admin_emails,
            slack_url=slack_url,
            teams_url=teams_url,
            webhook_url=webhook_url,
            webhook_secret=(new_secret or self.webhook_secret) if webhook_url else None,
        )
        return after, new_secret


def check_url(field: str, url: str | None) -> None:
    """https only, except to this machine (tests and a developer's local receivers): a webhook URL carries its own
    credential, and the body names people."""
    if url is None:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise Invalid(field, f"{field} must be an absolute https URL")
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
        raise Invalid(field, f"{field} must use https (http only to 127.0.0.1 or localhost)")
    if parts.username or parts.password:
        raise Invalid(field, f"{field} must not carry a user or password")


def mask(url: str | None) -> str | None:
    """Enough to recognise which URL is configured, not enough to post to it."""
    if url is None:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…{url[-4:]}"
