"""Chat and webhook delivery over HTTP (httpx): Slack and Teams incoming webhooks, and the signed generic webhook
the organisation's own systems receive (docs/webhooks.md is the receiver's side of this module).

Every post carries `Idempotency-Key: <notification id>`, so a retried delivery (after a timeout, a 5xx, or a crash
before the outcome was committed) is recognisable; Slack and Teams ignore the header, a generic receiver should
not. The signature is HMAC-SHA256 over "<timestamp>.<raw body>" with the program's webhook secret, sent as
`Tandem-Signature: v1=<hex>` beside `Tandem-Timestamp: <unix seconds>`; the timestamp inside the signed text lets
a receiver refuse a replayed old request."""

from __future__ import annotations

import hashlib
import hmac
import json
from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any

import httpx

from services.notifications.adapters.messages import Rendered
from services.notifications.domain.model import Notification
from shared.contacts import ContactDetails

SIGNATURE_VERSION = "v1"
TOLERANCE_S = 300  # what docs/webhooks.md tells receivers to accept; a retry is signed afresh, so it stays inside


class WebhookRefused(Exception):
    """The receiver answered, but not with 2xx: a failed attempt. `code` is the status (failure_class keeps it;
    the body is never read into an error, it may quote what was sent)."""

    def __init__(self, status: int):
        super().__init__(f"HTTP {status}")
        self.code = status


class Poster(ABC):
    @abstractmethod
    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        """POST `body`; raise when the receiver did not answer 2xx in time."""


class HttpxPoster(Poster):
    def __init__(self, timeout_s: float):
        self.timeout = httpx.Timeout(timeout_s)

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        # No redirects: a webhook URL is configured exactly; following one would post people's names elsewhere.
        async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
            response = await client.post(url, content=body, headers=headers)
        if not response.is_success:
            raise WebhookRefused(response.status_code)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def verify(
    secret: str, timestamp: str, signature_header: str, body: bytes, now: float, tolerance_s: int = TOLERANCE_S
) -> bool:
    """The receiver's check, exactly as docs/webhooks.md describes it (the tests use it as a receiver would)."""
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent_at) > tolerance_s:
        return False
    expected = signature(secret, sent_at, body)
    return any(hmac.compare_digest(expected, v.strip()) for v in signature_header.split(","))


def headers(notification: Notification, now: datetime, secret: str | None = None, body: bytes = b"") -> dict[str, str]:
    found = {"Content-Type": "application/json", "Idempotency-Key": notification.notification_id}
    if secret is not None:
        timestamp = int(now.timestamp())
        found |= {"Tandem-Timestamp": str(timestamp), "Tandem-Signature": signature(secret, timestamp, body)}
    return found


def _for(person: ContactDetails | None, text: str) -> str:
    # Posted in a shared channel: the message names whom it is for.
    return f"For {person.display_name}: {text}" if person else text


def slack(rendered: Rendered, person: ContactDetails | None) -> dict[str, Any]:
    """Slack incoming webhook: `text` is the notification fallback, `blocks` what the channel shows."""
    title = _for(person, rendered.subject)
    return {
        "text": title,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": rendered.text[:3000]}},
        ],
    }


def teams(rendered: Rendered, person: ContactDetails | None) -> dict[str, Any]:
    """Teams incoming webhook (and Workflows): a message with one Adaptive Card attachment."""
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {"type": "TextBlock", "text": _for(person, rendered.subject), "weight": "Bolder", "wrap": True},
                        {"type": "TextBlock", "text": rendered.text, "wrap": True},
                    ],
                },
            }
        ],
    }


def generic(notification: Notification, rendered: Rendered, person: ContactDetails | None) -> dict[str, Any]:
    """The generic webhook's body (docs/webhooks.md). The receiver is the organisation's own system that delivers
    to a person, so a participant's name and address are in it; never in Tandem's events or logs."""
    return {
        "notification_id": notification.notification_id,
        "rule": notification.rule,
        "audience": notification.audience,
        "program_id": notification.program_id,
        "participant_id": notification.participant_id,
        "recipient": {"name": person.display_name, "email": person.email} if person else None,
        "subject": rendered.subject,
        "text": rendered.text,
    }


def body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
