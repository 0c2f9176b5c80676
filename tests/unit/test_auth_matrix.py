"""Every endpoint of every service, in-process: 401 without a valid token, 403 for a token without a fitting role.

Each app is built by its composition root (`services.<svc>.bootstrap.build()`) and called through
httpx.ASGITransport, which does not run the lifespan: no pool, no event store, no Kafka. The runtime's pool and
store are replaced by objects that fail the test when used, so these answers also show that authentication and
roles are decided before anything touches a database.
"""

from __future__ import annotations

import logging
import time

import httpx
import jwt
import pytest
from fastapi import FastAPI

from services.registry import SERVICES as SPECS
from shared.auth import AuthSettings, issue_token
from shared.http import create_app

SERVICES = tuple(spec.name for spec in SPECS)


class Untouchable:
    """Stands in for the runtime's pool and store; any use of it means a request got past authentication."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attribute: str):
        raise AssertionError(f"runtime.{self._name}.{attribute} used before the caller was authorised")


def app_of(service: str) -> FastAPI:
    app = create_app(next(spec for spec in SPECS if spec.name == service))
    runtime = app.state.runtime
    runtime.connections.pool, runtime.store = Untouchable("pool"), Untouchable("store")
    return app


# Open to anyone by design: a certificate's verification code is checked by whoever holds the certificate (#16);
# an e-mail's unsubscribe link works without signing in, its signed token is the credential (#17, RFC 8058).
PUBLIC = {
    ("GET", "/enrolment/v1/certificates/verify/{code}"),
    ("GET", "/notifications/v1/unsubscribe"),
    ("POST", "/notifications/v1/unsubscribe"),
}


def endpoints(app: FastAPI) -> list[tuple[str, str]]:
    found = []
    for path, operations in app.openapi()["paths"].items():
        concrete = path.replace("{", "").replace("}", "")  # any value: auth is decided before the lookup
        found += [(method.upper(), concrete) for method in operations if (method.upper(), path) not in PUBLIC]
    return found


async def answers(app: FastAPI, requests: list[tuple[str, str, dict[str, str]]]) -> list[int]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tandem.test") as client:
        return [(await client.request(m, path, headers=headers, json={})).status_code for m, path, headers in requests]


def signed(claims: dict, key: str | None = None) -> dict[str, str]:
    settings = AuthSettings()
    token = jwt.encode(
        {"iss": settings.jwt_issuer, "aud": settings.jwt_audience, **claims},
        key or settings.jwt_secret,
        algorithm="HS256",
    )
    return {"Authorization": f"Bearer {token}"}


BAD_TOKENS = {
    "none": {},
    "not bearer": {"Authorization": f"Basic {issue_token('x', ['program_admin'])}"},
    "garbage": {"Authorization": "Bearer not-a-jwt"},
    "wrong key": signed(
        {"sub": "x", "roles": ["program_admin"], "exp": int(time.time()) + 600}, key="another-key-" + "k" * 32
    ),
    "expired": signed({"sub": "x", "roles": ["program_admin"], "exp": int(time.time()) - 60}),
    "no subject": signed({"roles": ["program_admin"], "exp": int(time.time()) + 600}),
    "roles not a list": signed({"sub": "x", "roles": "program_admin", "exp": int(time.time()) + 600}),
}


@pytest.mark.parametrize("service", SERVICES)
async def test_every_endpoint_refuses_a_missing_or_invalid_token(service):
    app = app_of(service)
    requests = [(m, p, headers) for m, p in endpoints(app) for headers in BAD_TOKENS.values()]
    kinds = [(m, p, kind) for m, p in endpoints(app) for kind in BAD_TOKENS]
    codes = await answers(app, requests)
    assert len(endpoints(app)) >= 3
    assert {k: code for k, code in zip(kinds, codes, strict=True) if code != 401} == {}


@pytest.mark.parametrize("service", SERVICES)
async def test_every_endpoint_refuses_a_token_without_a_known_role(service):
    app = app_of(service)
    for roles in (["janitor"], []):
        no_role = {"Authorization": f"Bearer {issue_token('x', roles)}"}
        codes = await answers(app, [(m, p, no_role) for m, p in endpoints(app)])
        assert {e: code for e, code in zip(endpoints(app), codes, strict=True) if code != 403} == {}


@pytest.mark.parametrize(
    "service, method, path, role",
    [
        ("enrolment", "POST", "/enrolment/v1/programs", "auditor"),
        ("enrolment", "POST", "/enrolment/v1/programs", "participant"),
        ("enrolment", "GET", "/enrolment/v1/programs/x/participants", "participant"),
        ("enrolment", "PATCH", "/enrolment/v1/programs/x/participants/y", "auditor"),
        ("enrolment", "POST", "/enrolment/v1/programs/x/participants/y/erase", "auditor"),
        ("matching", "POST", "/matching/v1/programs/x/rounds", "auditor"),
        ("matching", "POST", "/matching/v1/programs/x/rounds", "participant"),
        ("sessions", "POST", "/sessions/v1/pairs/x/sessions", "auditor"),
        ("insights", "GET", "/insights/v1/programs", "participant"),
    ],
)
async def test_a_role_that_may_not_do_this_gets_403(service, method, path, role):
    app = app_of(service)
    assert await answers(app, [(method, path, {"Authorization": f"Bearer {issue_token('x', [role])}"})]) == [403]


async def test_an_authorised_request_does_reach_the_stand_in_pool(caplog):
    """The guard above is real: a request that passes authentication uses the pool, which fails the request (a
    500 problem, the stand-in's assertion logged) and so any test expecting a 401 or 403."""
    admin = {"Authorization": f"Bearer {issue_token('x', ['program_admin'])}"}
    with caplog.at_level(logging.ERROR, logger="shared.problems"):
        assert await answers(app_of("enrolment"), [("GET", "/enrolment/v1/programs", admin)]) == [500]
    assert any(r.exc_info and "runtime.pool.acquire" in str(r.exc_info[1]) for r in caplog.records)
