"""Delivery by e-mail over SMTP (aiosmtplib): STARTTLS, implicit TLS and authentication as configured."""

from __future__ import annotations

from abc import ABC, abstractmethod
from email.message import EmailMessage

import aiosmtplib

from services.notifications.config import NotificationsSettings


class Mailer(ABC):
    @abstractmethod
    async def send(self, message: EmailMessage) -> None:
        """Deliver it to the SMTP server; raise when the server did not accept it for every recipient."""


class SmtpMailer(Mailer):
    def __init__(self, settings: NotificationsSettings):
        self.settings = settings

    async def send(self, message: EmailMessage) -> None:
        s = self.settings
        await aiosmtplib.send(
            message,
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username or None,
            password=s.smtp_password or None,
            start_tls=s.smtp_starttls,
            use_tls=s.smtp_tls,
            timeout=s.smtp_timeout_s,
        )


def failure_class(error: BaseException) -> str:
    """What went wrong, without the server's words (they may quote the address): the exception's class, and the
    SMTP reply code when there is one."""
    code = getattr(error, "code", None)
    return f"{type(error).__name__} {code}" if isinstance(code, int) else type(error).__name__
