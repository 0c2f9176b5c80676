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
    web_enrolment_url: str = Field(
        "http://127.0.0.1:8001/enrolment/v1",
        description="Enrolment's API as the pages' browser reaches it (opt-in, partners, names, roster upload).",
    )
    web_notifications_url: str = Field(
        "http://127.0.0.1:8005/notifications/v1",
        description="Notifications' API as the dashboard's browser reaches it (each pair's last nudge, the outbox); "
        "empty: the dashboard shows no notifications.",
    )
    web_poll_seconds: float = Field(5.0, gt=0, description="How often the dashboard refreshes its live figures.")
    web_oidc_issuer: str = Field(
        "",
        description="The OpenID provider the pages sign people in with (authorization code flow with PKCE), e.g. "
        "http://127.0.0.1:8180/realms/tandem; empty: no sign-in, the pages ask for a pasted token (development only).",
    )
    web_oidc_client_id: str = Field("tandem-web", description="The pages' public client at the provider.")
    web_oidc_scope: str = Field("openid profile email", description="The scopes the pages ask the provider for.")
