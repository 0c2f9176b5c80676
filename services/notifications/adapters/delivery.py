"""Delivery: a rendered notification to its destination. The sender (service_layer/handlers.send_next) calls one
`Delivery`; which channel carries a notification is decided here, from its audience (a participant's e-mail
address, or the program's admins' mailbox)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime

from services.notifications.adapters.email import Mailer
from services.notifications.adapters.messages import Facts, Sender, email, render
from services.notifications.domain.model import Notification


class NoDestination(Exception):
    """Nowhere to deliver it (no admin mailbox configured): a failed attempt, retried and then dead-lettered, so an
    admin sees it."""


class Delivery(ABC):
    @abstractmethod
    async def deliver(self, notification: Notification, facts: Facts, now: datetime) -> None:
        """Deliver it; raise when the destination did not accept it (the sender retries with the same id)."""


class EmailDelivery(Delivery):
    def __init__(self, mailer: Mailer, sender: Sender, admin_mailbox: str = ""):
        self.mailer = mailer
        self.sender = sender
        self.admin_mailbox = admin_mailbox

    async def deliver(self, notification: Notification, facts: Facts, now: datetime) -> None:
        rendered = render(notification, facts, now, sender=self.sender)
        await self.mailer.send(email(notification, rendered, self._to(notification, facts), now, sender=self.sender))

    def _to(self, notification: Notification, facts: Facts) -> tuple[str, str]:
        if notification.audience == "program-admins":
            if not self.admin_mailbox:
                raise NoDestination("no admin mailbox")
            return (f"{facts.program.title} admins", self.admin_mailbox)
        assert facts.recipient is not None
        return (facts.recipient.display_name, facts.recipient.email)
