from pydantic import Field

from shared.pseudonyms import DEV_PSEUDONYM_KEY
from shared.service import ServiceSettings


class EnrolmentSettings(ServiceSettings):
    http_port: int = 8001
    # The same TANDEM_PSEUDONYM_KEY every service reads (shared.auth.AuthSettings checks it at start-up).
    pseudonym_key: str = Field(
        DEV_PSEUDONYM_KEY, description="HMAC key turning employee ids into participant ids; keep it secret."
    )
