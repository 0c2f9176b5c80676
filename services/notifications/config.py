from datetime import timedelta

from pydantic import Field

from shared.service import ServiceSettings

# Public, so a developer's machine starts without configuration; refused outside development (secret_keys).
DEV_UNSUBSCRIBE_KEY = "tandem-local-unsubscribe-key-do-not-use-in-production"


class NotificationsSettings(ServiceSettings):
    http_port: int = 8005
    # The sender is a scheduled rule: due notifications go out within this many seconds of being recorded.
    schedule_interval_s: float = Field(5.0, gt=0, description="How often due notifications are sent.")
    smtp_host: str = Field("127.0.0.1", description="SMTP server that relays Tandem's e-mail.")
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_starttls: bool = Field(False, description="Upgrade the connection with STARTTLS before sending.")
    smtp_tls: bool = Field(False, description="Implicit TLS from the first byte (SMTPS, usually port 465).")
    smtp_username: str = Field("", description="SMTP AUTH user; empty: no authentication.")
    smtp_password: str = Field("", description="SMTP AUTH password (a secret).")
    smtp_timeout_s: float = Field(30.0, gt=0)
    mail_from: str = Field("Tandem <tandem@tandem.local>", description="The From header of every e-mail.")
    message_id_domain: str = Field(
        "tandem.local", description="Right-hand side of Message-IDs: <notification id@this domain>."
    )
    admin_mailbox: str = Field(
        "", description="Where notifications for a program's admins go by e-mail (a team mailbox); empty: nowhere."
    )
    max_attempts: int = Field(6, ge=1, le=50, description="Delivery attempts before a notification is dead-lettered.")
    retry_after_s: float = Field(
        60.0, gt=0, description="Back-off after the first failed attempt; doubled after each further one."
    )
    send_batch_size: int = Field(50, ge=1, le=1000, description="Notifications sent per scheduled run.")
    public_url: str = Field(
        "http://127.0.0.1:8005/notifications/v1",
        description="The notifications API's base URL as people reach it (the e-mails' unsubscribe links).",
    )
    unsubscribe_key: str = Field(
        DEV_UNSUBSCRIBE_KEY, description="HMAC key signing unsubscribe links (HS256); keep it secret."
    )
    digest_hour: int = Field(8, ge=0, le=23, description="Local hour at which a person's daily digest is sent.")
    webhook_timeout_s: float = Field(
        10.0, gt=0, le=60, description="Slack, Teams and webhook posts: no answer within this is a failed attempt."
    )

    @property
    def retry_after(self) -> timedelta:
        return timedelta(seconds=self.retry_after_s)

    def secret_keys(self) -> dict[str, tuple[str, str]]:
        return {"TANDEM_UNSUBSCRIBE_KEY": (self.unsubscribe_key, DEV_UNSUBSCRIBE_KEY)}
