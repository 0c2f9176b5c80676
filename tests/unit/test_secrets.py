"""Secrets: a service refuses to start with a public development key (unless TANDEM_DEVELOPMENT=true) or a key
shorter than 32 bytes, naming the setting and never the value; tokens live at most TANDEM_JWT_MAX_LIFETIME_S."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time

import httpx
import jwt
import pytest

from services.enrolment.config import DEV_PSEUDONYM_KEY
from services.notifications.config import DEV_UNSUBSCRIBE_KEY
from services.registry import SERVICES
from shared.auth import DEV_SECRET, AuthSettings, issue_token, verify
from shared.http import create_app
from shared.keys import DEV_MASTER_KEYS
from tests.support.infra import CROSSES_A_PROCESS

STRONG = "s" * 40
STRONG_MASTER = "k1:" + base64.urlsafe_b64encode(b"m" * 32).decode()
SHORT = "short-but-not-empty-key"  # 23 bytes


def start(service: str, **env: str) -> subprocess.CompletedProcess:
    """The service's process as `python -m services.<name>` starts it, with only `env` set among TANDEM_ keys.
    It must refuse before it connects to anything, so no servers are needed (the URLs point nowhere)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
    clean |= {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    return subprocess.run(
        [sys.executable, "-m", f"services.{service}"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@CROSSES_A_PROCESS
@pytest.mark.parametrize("service", [spec.name for spec in SERVICES])
def test_a_service_refuses_to_start_with_the_development_jwt_key(service):
    started = start(service, TANDEM_PSEUDONYM_KEY=STRONG)
    assert started.returncode != 0
    assert "TANDEM_JWT_SECRET" in started.stderr and "development" in started.stderr
    assert DEV_SECRET not in started.stderr + started.stdout


@CROSSES_A_PROCESS
def test_enrolment_refuses_the_development_pseudonym_key_and_names_it_only():
    started = start("enrolment", TANDEM_JWT_SECRET=STRONG)
    assert started.returncode != 0 and "TANDEM_PSEUDONYM_KEY" in started.stderr
    assert DEV_PSEUDONYM_KEY not in started.stderr + started.stdout


@CROSSES_A_PROCESS
def test_notifications_refuses_the_development_unsubscribe_key_and_names_it_only():
    """Issue #17: the key that signs e-mails' unsubscribe links is checked like the pseudonym key."""
    started = start(
        "notifications", TANDEM_JWT_SECRET=STRONG, TANDEM_PSEUDONYM_KEY=STRONG, TANDEM_MASTER_KEYS=STRONG_MASTER
    )
    assert started.returncode != 0 and "TANDEM_UNSUBSCRIBE_KEY" in started.stderr
    assert DEV_UNSUBSCRIBE_KEY not in started.stderr + started.stdout


@CROSSES_A_PROCESS
def test_a_service_refuses_the_development_master_key_even_beside_a_real_one_and_names_it_only():
    """Issue #19: the master keys wrap every person's data key; the public one may not stay listed in production."""
    listed = f"{STRONG_MASTER},{DEV_MASTER_KEYS}"  # a rotation that forgot to drop the development key
    started = start("enrolment", TANDEM_JWT_SECRET=STRONG, TANDEM_PSEUDONYM_KEY=STRONG, TANDEM_MASTER_KEYS=listed)
    assert started.returncode != 0 and "TANDEM_MASTER_KEYS[1]" in started.stderr
    assert DEV_MASTER_KEYS.partition(":")[2] not in started.stderr + started.stdout
    assert STRONG_MASTER.partition(":")[2] not in started.stderr + started.stdout


@CROSSES_A_PROCESS
@pytest.mark.parametrize("setting", ["TANDEM_JWT_SECRET", "TANDEM_PSEUDONYM_KEY"])
def test_a_short_key_is_refused_even_in_development(setting):
    keys = {"TANDEM_JWT_SECRET": STRONG, "TANDEM_PSEUDONYM_KEY": STRONG, setting: SHORT}
    started = start("enrolment", TANDEM_DEVELOPMENT="true", **keys)
    assert started.returncode != 0 and setting in started.stderr and "32 bytes" in started.stderr
    assert SHORT not in started.stderr + started.stdout


def test_the_refusal_happens_before_anything_is_served():
    """With strong keys the same process gets past the check and only then fails on the unreachable servers,
    so the refusals above are the key checks and not a connection error."""
    from services.enrolment.config import EnrolmentSettings
    from shared.auth import auth_keys, refuse_unsafe_secrets

    strong = AuthSettings(jwt_secret=STRONG, pseudonym_key=STRONG)
    refuse_unsafe_secrets(False, {**auth_keys(strong), **EnrolmentSettings().secret_keys()})
    refuse_unsafe_secrets(True, {**auth_keys(AuthSettings()), **EnrolmentSettings().secret_keys()})
    # An identity provider's JWKS verifies tokens: the unused shared key is not checked, the pseudonym key still is.
    assert set(auth_keys(AuthSettings(jwks_url="https://idp.example/jwks"))) == {"TANDEM_PSEUDONYM_KEY"}


# ------------------------------------------------------------------------------------------------ token lifetime


def signed(**claims) -> str:
    settings = AuthSettings()
    base = {"sub": "x", "roles": ["auditor"], "iss": settings.jwt_issuer, "aud": settings.jwt_audience}
    return jwt.encode({**base, **claims}, settings.jwt_secret, algorithm="HS256")


def test_a_token_living_longer_than_the_maximum_is_refused():
    now = int(time.time())
    settings = AuthSettings(jwt_max_lifetime_s=3600)
    assert verify(signed(iat=now, exp=now + 3600), settings).subject == "x"
    with pytest.raises(jwt.InvalidTokenError, match="at most 3600"):
        verify(signed(iat=now, exp=now + 3601), settings)
    with pytest.raises(jwt.InvalidTokenError):
        verify(signed(exp=now + 60), settings)  # no iat: its lifetime is unknown


def test_the_default_maximum_is_twelve_hours_and_the_environment_sets_it(monkeypatch):
    assert AuthSettings().jwt_max_lifetime_s == 12 * 3600
    monkeypatch.setenv("TANDEM_JWT_MAX_LIFETIME_S", "600")
    assert AuthSettings().jwt_max_lifetime_s == 600


READABLE = {
    "enrolment": "/programs",
    "matching": "/pairs/x",
    "sessions": "/pairs/x",
    "insights": "/programs",
    "notifications": "/programs/x/notifications",
}


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"exp_in": 30 * 24 * 3600}, id="thirty days"),
        pytest.param({"exp_in": 600, "no_iat": True}, id="no iat"),
    ],
)
async def test_such_tokens_get_401_on_every_service(claims):
    now = int(time.time())
    token = signed(exp=now + claims["exp_in"], **({} if claims.get("no_iat") else {"iat": now}))
    for spec in SERVICES:
        app = create_app(spec)
        # the lifespan does not run: stand-ins let the dependencies be built; a 401 comes before any use
        app.state.runtime.connections.pool, app.state.runtime.store = object(), object()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            path = f"{spec.prefix}{READABLE[spec.name]}"
            answer = await client.get(path, headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 401, (spec.name, answer.text)


def test_issued_tokens_stay_within_the_maximum():
    verify(issue_token("x", ["auditor"]), AuthSettings())
