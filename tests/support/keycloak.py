"""How tests find the OpenID provider (issue #14): Keycloak at `TANDEM_KEYCLOAK_URL` when set, else the local one
`deploy/local/keycloak.sh up` (`make infra-up`) starts. Under CI=true a provider that does not answer fails the
test; elsewhere the test is skipped with the reason (as tests/support/infra.py does for Kafka and PostgreSQL)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import httpx

from demo.keycloak_realm import API_AUDIENCE, DEMO_PASSWORD, REALM, TEST_CLIENT_SECRET
from shared.auth import AuthSettings
from shared.oidc import DiscoveryError, ProviderMetadata, discover, environment
from tests.support.infra import unavailable

LOCAL_KEYCLOAK = f"http://127.0.0.1:{os.environ.get('TANDEM_KEYCLOAK_PORT', '8180')}"


@dataclass(frozen=True)
class Keycloak:
    url: str
    provider: ProviderMetadata

    @property
    def issuer(self) -> str:
        return self.provider.issuer

    def auth_settings(self) -> AuthSettings:
        return AuthSettings(jwks_url=self.provider.jwks_uri, jwt_issuer=self.issuer, jwt_audience=API_AUDIENCE)

    def service_env(self) -> dict[str, str]:
        """What a service needs to accept this realm's access tokens."""
        return environment(self.auth_settings())

    def password_token(self, username: str, client_id: str = "tandem-test") -> str:
        """An access token for a demo user, through a test-only client's password grant."""
        reply = httpx.post(
            self.provider.token_endpoint,
            data={
                "grant_type": "password",
                "client_id": client_id,
                "client_secret": TEST_CLIENT_SECRET,
                "username": username,
                "password": DEMO_PASSWORD,
                "scope": "openid",
            },
            timeout=30,
        )
        reply.raise_for_status()
        return reply.json()["access_token"]


def find_keycloak() -> Keycloak:
    url = os.environ.get("TANDEM_KEYCLOAK_URL") or LOCAL_KEYCLOAK
    try:
        return Keycloak(url, discover(f"{url.rstrip('/')}/realms/{REALM}"))
    except DiscoveryError as error:
        unavailable(f"Keycloak's realm '{REALM}' at {url}", error)
        raise  # unavailable() skips or fails; this line is never reached
