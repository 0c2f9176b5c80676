"""OpenID Connect discovery: from a provider's issuer URL to its endpoints and signing keys (issue #14).

Any standard provider (Keycloak locally, Entra ID, Okta) publishes `<issuer>/.well-known/openid-configuration`.
Its `jwks_uri` is what `TANDEM_JWKS_URL` names, and its `issuer` is what tokens carry in `iss`, which
`TANDEM_JWT_ISSUER` must equal exactly. `python -m shared.oidc ISSUER [AUDIENCE]` prints those settings, checked
against the provider, for a service's environment; `auth_settings()` builds them in code.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from dataclasses import dataclass

from shared.auth import AuthSettings


class DiscoveryError(Exception):
    """The provider's discovery document is missing, unreadable or names another issuer."""


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    jwks_uri: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str | None = None
    end_session_endpoint: str | None = None


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def discover(issuer: str, timeout_s: float = 10) -> ProviderMetadata:
    url = discovery_url(issuer)
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as reply:
            document = json.load(reply)
    except (OSError, ValueError) as error:
        raise DiscoveryError(f"no discovery document at {url}: {error}") from error
    # OpenID Connect Discovery 1.0 §4.3: the document's issuer must be exactly the one asked about, or tokens
    # would be checked against an issuer nobody configured.
    if document.get("issuer") != issuer:
        raise DiscoveryError(f"{url} names issuer {document.get('issuer')!r}, not {issuer!r}")
    try:
        return ProviderMetadata(
            issuer=document["issuer"],
            jwks_uri=document["jwks_uri"],
            authorization_endpoint=document["authorization_endpoint"],
            token_endpoint=document["token_endpoint"],
            userinfo_endpoint=document.get("userinfo_endpoint"),
            end_session_endpoint=document.get("end_session_endpoint"),
        )
    except KeyError as missing:
        raise DiscoveryError(f"{url} lacks {missing}") from None


def auth_settings(issuer: str, audience: str, timeout_s: float = 10) -> AuthSettings:
    """Bearer-token settings for tokens of `issuer` meant for `audience`, keys from the provider's JWKS."""
    return AuthSettings(jwks_url=discover(issuer, timeout_s).jwks_uri, jwt_issuer=issuer, jwt_audience=audience)


def environment(settings: AuthSettings) -> dict[str, str]:
    """The same settings as a service's environment variables."""
    return {
        "TANDEM_JWKS_URL": settings.jwks_url or "",
        "TANDEM_JWT_ISSUER": settings.jwt_issuer,
        "TANDEM_JWT_AUDIENCE": settings.jwt_audience,
    }


def main(argv: list[str]) -> int:
    if not 1 <= len(argv) <= 2:
        print("usage: python -m shared.oidc ISSUER [AUDIENCE]   (AUDIENCE defaults to tandem-api)", file=sys.stderr)
        return 2
    issuer, audience = argv[0], argv[1] if len(argv) == 2 else "tandem-api"
    try:
        settings = auth_settings(issuer, audience)
    except DiscoveryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for name, value in environment(settings).items():
        print(f"{name}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
