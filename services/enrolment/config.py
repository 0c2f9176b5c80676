from pydantic import Field

from shared.service import ServiceSettings

DEV_PSEUDONYM_KEY = "tandem-local-pseudonym-key-do-not-use-in-production"


class EnrolmentSettings(ServiceSettings):
    http_port: int = 8001
    pseudonym_key: str = Field(
        DEV_PSEUDONYM_KEY, description="HMAC key turning employee ids into participant ids; keep it secret."
    )

    def secret_keys(self) -> dict[str, tuple[str, str]]:
        return {"TANDEM_PSEUDONYM_KEY": (self.pseudonym_key, DEV_PSEUDONYM_KEY)}
