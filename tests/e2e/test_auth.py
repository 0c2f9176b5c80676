"""Every endpoint of every service: 401 without a valid token, 403 for a token without a fitting role."""

import time

import httpx
import jwt
import pytest

from shared.auth import AuthSettings, issue_token

pytestmark = pytest.mark.infra


def endpoints(service) -> list[tuple[str, str]]:
    spec = httpx.get(f"{service.url}/openapi.json").json()
    found = []
    for path, operations in spec["paths"].items():
        concrete = path.replace("{", "").replace("}", "")  # any value: auth is decided before the lookup
        found += [(method.upper(), concrete) for method in operations]
    return found


def call(service, method: str, path: str, headers: dict) -> int:
    return httpx.request(method, f"{service.root}{path}", headers=headers, json={}).status_code


def expired_token() -> str:
    settings = AuthSettings()
    claims = {
        "sub": "x",
        "roles": ["program_admin"],
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "exp": int(time.time()) - 60,
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


BAD_TOKENS = {
    "none": {},
    "garbage": {"Authorization": "Bearer not-a-jwt"},
    "wrong key": {"Authorization": f"Bearer {jwt.encode({'sub': 'x', 'roles': ['program_admin']}, 'other-key')}"},
    "expired": {"Authorization": f"Bearer {expired_token()}"},
}


@pytest.mark.parametrize("service_name", ["enrolment", "matching", "sessions", "insights"])
def test_every_endpoint_refuses_a_missing_or_invalid_token(platform, service_name):
    service = platform[service_name]
    answers = {
        (m, p, kind): call(service, m, p, headers)
        for m, p in endpoints(service)
        for kind, headers in BAD_TOKENS.items()
    }
    assert answers and {k: v for k, v in answers.items() if v != 401} == {}


@pytest.mark.parametrize("service_name", ["enrolment", "matching", "sessions", "insights"])
def test_every_endpoint_refuses_a_token_without_a_fitting_role(platform, service_name):
    service = platform[service_name]
    no_role = {"Authorization": f"Bearer {issue_token('x', ['janitor'])}"}
    answers = {(m, p): call(service, m, p, no_role) for m, p in endpoints(service)}
    assert answers and {k: v for k, v in answers.items() if v != 403} == {}


@pytest.mark.parametrize(
    "service_name, method, path, role",
    [
        ("enrolment", "POST", "/programs", "auditor"),
        ("enrolment", "POST", "/programs", "participant"),
        ("matching", "POST", "/programs/x/rounds", "auditor"),
        ("matching", "POST", "/programs/x/rounds", "participant"),
        ("sessions", "POST", "/pairs/x/sessions", "auditor"),
        ("insights", "GET", "/programs", "participant"),
    ],
)
def test_a_role_that_may_not_do_this_gets_403(platform, service_name, method, path, role):
    service = platform[service_name]
    assert (
        call(
            service,
            method,
            service.url.removeprefix(service.root) + path,
            {"Authorization": f"Bearer {issue_token('x', [role])}"},
        )
        == 403
    )
