"""The APIs accept access tokens the real Keycloak issues for the project's realm, and refuse the rest (#14)."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from demo.keycloak_realm import API_AUDIENCE, TEST_SHORT_TOKEN_LIFESPAN_S, username
from demo.organisation import organisation
from shared.auth import AuthSettings, issue_token, verify
from tests.support.keycloak import Keycloak
from tests.support.services import eventually

EMPLOYEE = organisation()[5]
PROGRAM = {
    "title": "Signed in with Keycloak",
    "objectives": "Leaders learn digital skills from junior colleagues.",
    "targets": {"pairs_formed": 10, "sessions_per_pair": 3, "average_rating": 4.0, "match_rate": 0.5},
    "cadence_days": 14,
    "duration_weeks": 26,
    "focus_areas": ["digital-skills"],
    "languages": ["en"],
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_discovery_names_the_realm_and_its_signing_key(keycloak: Keycloak):
    assert keycloak.issuer == f"{keycloak.url.rstrip('/')}/realms/tandem"
    keys = httpx.get(keycloak.provider.jwks_uri, timeout=10).raise_for_status().json()["keys"]
    assert any(key["use"] == "sig" and key["alg"] == "RS256" for key in keys)


def test_a_demo_employees_token_carries_what_the_services_read(keycloak: Keycloak):
    token = keycloak.password_token(username(EMPLOYEE))
    principal = verify(token, keycloak.auth_settings())
    assert principal.roles == {"participant"}
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == keycloak.issuer
    assert API_AUDIENCE in ([claims["aud"]] if isinstance(claims["aud"], str) else claims["aud"])
    assert claims["employee_id"] == EMPLOYEE.employee_id
    assert claims["groups"] == [EMPLOYEE.department]


def test_the_admin_launches_a_program_with_a_keycloak_token(keycloak: Keycloak, enrolment):
    reply = httpx.post(f"{enrolment.url}/programs", json=PROGRAM, headers=bearer(keycloak.password_token("hr.admin")))
    assert reply.status_code == 201, reply.text
    program_id = reply.json()["program"]["program_id"]
    listed = httpx.get(f"{enrolment.url}/programs", headers=bearer(keycloak.password_token("auditor")))
    assert listed.status_code == 200
    assert program_id in {program["program_id"] for program in listed.json()}


@pytest.mark.parametrize("user", [username(EMPLOYEE), "auditor", "exec.sponsor"])
def test_without_the_admin_role_launching_is_forbidden(keycloak: Keycloak, enrolment, user: str):
    reply = httpx.post(f"{enrolment.url}/programs", json=PROGRAM, headers=bearer(keycloak.password_token(user)))
    assert reply.status_code == 403, reply.text


def test_an_expired_keycloak_token_is_refused(keycloak: Keycloak, enrolment):
    token = keycloak.password_token("auditor", client_id="tandem-test-short-lived")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == TEST_SHORT_TOKEN_LIFESPAN_S
    assert httpx.get(f"{enrolment.url}/programs", headers=bearer(token)).status_code == 200

    def refused() -> httpx.Response | None:
        reply = httpx.get(f"{enrolment.url}/programs", headers=bearer(token))
        return reply if reply.status_code != 200 else None

    reply = eventually(refused, timeout_s=TEST_SHORT_TOKEN_LIFESPAN_S + 10, what="the token to expire")
    assert reply.status_code == 401
    assert "expired" in reply.json()["detail"]
    assert time.time() >= claims["exp"]


def forged(claims: dict, kid: str) -> str:
    """Claims signed with a fresh RSA key nobody published."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    body = {"sub": "intruder", "roles": ["program_admin"], "aud": API_AUDIENCE, "iat": now, "exp": now + 300}
    return jwt.encode({**body, **claims}, key, algorithm="RS256", headers={"kid": kid})


def test_a_token_signed_with_another_key_under_keycloaks_key_id_is_refused(keycloak: Keycloak, enrolment):
    keys = httpx.get(keycloak.provider.jwks_uri, timeout=10).raise_for_status().json()["keys"]
    kid = next(key["kid"] for key in keys if key["use"] == "sig" and key["alg"] == "RS256")
    reply = httpx.post(f"{enrolment.url}/programs", json=PROGRAM, headers=bearer(forged({"iss": keycloak.issuer}, kid)))
    assert reply.status_code == 401
    assert "Signature verification failed" in reply.json()["detail"]


def test_a_foreign_issuers_token_is_refused(keycloak: Keycloak, enrolment):
    token = forged({"iss": "https://idp.example.com/realms/tandem"}, kid="foreign-key")
    reply = httpx.post(f"{enrolment.url}/programs", json=PROGRAM, headers=bearer(token))
    assert reply.status_code == 401
    assert "signing key" in reply.json()["detail"]


@pytest.mark.parametrize(
    ("setting", "value", "refusal"),
    [
        ("jwt_issuer", "https://idp.example.com/realms/tandem", jwt.InvalidIssuerError),
        ("jwt_audience", "other-api", jwt.InvalidAudienceError),
    ],
)
def test_a_keycloak_token_for_another_issuer_or_audience_is_refused(keycloak: Keycloak, setting, value, refusal):
    """Keycloak's own signature is not enough: `iss` and `aud` must be the ones configured."""
    settings = keycloak.auth_settings()
    token = keycloak.password_token("hr.admin")
    assert verify(token, settings).acts_as_admin
    with pytest.raises(refusal):
        verify(token, settings.model_copy(update={setting: value}))


def test_the_development_key_no_longer_opens_the_api(keycloak: Keycloak, enrolment):
    """With a provider configured, a token signed with the shared development key (`make token`) is refused."""
    token = issue_token("local-admin", ["program_admin"], settings=AuthSettings(jwt_issuer=keycloak.issuer))
    reply = httpx.post(f"{enrolment.url}/programs", json=PROGRAM, headers=bearer(token))
    assert reply.status_code == 401


def test_the_web_client_signs_in_with_pkce_only_and_returns_only_to_the_local_services(keycloak: Keycloak):
    challenge = {"code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256"}
    ask = {"client_id": "tandem-web", "response_type": "code", "scope": "openid"}

    def authorize(redirect_uri: str, **extra: str) -> httpx.Response:
        query = {**ask, "redirect_uri": redirect_uri, **extra}
        return httpx.get(keycloak.provider.authorization_endpoint, params=query, timeout=30)

    page = authorize("http://127.0.0.1:8001/", **challenge)
    assert page.status_code == 200 and 'id="kc-form-login"' in page.text
    without_pkce = authorize("http://localhost:8004/insights/v1/", state="s")
    assert without_pkce.status_code == 302
    assert "code_challenge_method" in without_pkce.headers["location"]
    assert authorize("http://elsewhere.example/", **challenge).status_code == 400
