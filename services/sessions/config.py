from datetime import timedelta

from pydantic import Field

from shared.service import ServiceSettings


class SessionsSettings(ServiceSettings):
    http_port: int = 8003
    idempotency_key_ttl_hours: float = Field(
        168.0, gt=0, description="How long a retry with the same Idempotency-Key gets the first answer back."
    )

    @property
    def idempotency_key_ttl(self) -> timedelta:
        return timedelta(hours=self.idempotency_key_ttl_hours)
