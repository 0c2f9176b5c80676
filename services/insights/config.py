from pydantic import Field

from shared.service import ServiceSettings


class InsightsSettings(ServiceSettings):
    http_port: int = 8004
    web_matching_url: str = Field(
        "http://127.0.0.1:8002/matching/v1", description="Matching's API as the participant page's browser reaches it."
    )
    web_sessions_url: str = Field(
        "http://127.0.0.1:8003/sessions/v1", description="Sessions' API as the participant page's browser reaches it."
    )
    web_poll_seconds: float = Field(5.0, gt=0, description="How often the dashboard refreshes its live figures.")
