"""Insights' web pages as files and headers, and CORS for pages of one service calling another (no servers)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from services.insights import bootstrap
from services.insights.config import InsightsSettings
from services.insights.entrypoints.web import WEB

PAGE_ORIGIN = "http://127.0.0.1:8004"


@pytest.fixture
def client(monkeypatch) -> TestClient:
    monkeypatch.setenv("TANDEM_CORS_ORIGINS", f"{PAGE_ORIGIN}, http://localhost:8004/")
    settings = InsightsSettings(web_sessions_url="http://sessions.example:8003/sessions/v1/")
    return TestClient(bootstrap.build(settings))  # no `with`: the runtime (Kafka, PostgreSQL) never starts


@pytest.mark.parametrize("page", ["dashboard", "participant"])
def test_pages_load_without_a_token_and_allow_only_their_own_scripts(client, page):
    response = client.get(f"/insights/v1/{page}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert (
        "connect-src 'self' http://127.0.0.1:8001 http://127.0.0.1:8002 http://127.0.0.1:8005 http://sessions.example:8003;"
        in policy
    )


@pytest.mark.parametrize("page", ["dashboard", "participant"])
def test_every_file_a_page_loads_is_served(client, page):
    html = (WEB / f"{page}.html").read_text()
    files = re.findall(r'(?:src|href)="(static/[^"]+)"', html)
    assert f"static/{page}.js" in files
    for path in [*files, "static/common.js"]:
        assert client.get(f"/insights/v1/{path}").status_code == 200, path


def test_the_charting_library_is_served_from_the_service_itself(client):
    chart = client.get("/insights/v1/static/vendor/chart.js/chart.umd.min.js")
    assert chart.status_code == 200 and b"Chart.js v4.6.1" in chart.content[:200]


def test_the_sign_in_library_is_served_from_the_service_itself(client):
    library = client.get("/insights/v1/static/vendor/oidc-client-ts/oidc-client-ts.min.js")
    assert library.status_code == 200 and b"var oidc=" in library.content[:200]
    readme = (WEB / "static" / "vendor" / "oidc-client-ts" / "README.md").read_text()
    assert "oidc-client-ts 3.5.0" in readme and (WEB / "static" / "vendor" / "oidc-client-ts" / "LICENSE").exists()


def test_the_pages_learn_where_the_other_apis_are(client):
    assert client.get("/insights/v1/web/config.json").json() == {
        "matching_url": "http://127.0.0.1:8002/matching/v1",
        "sessions_url": "http://sessions.example:8003/sessions/v1",
        "enrolment_url": "http://127.0.0.1:8001/enrolment/v1",
        "notifications_url": "http://127.0.0.1:8005/notifications/v1",
        "poll_seconds": 5.0,
        "oidc": None,
    }


def test_with_a_provider_the_pages_learn_where_to_sign_in_and_may_call_it(monkeypatch):
    monkeypatch.setenv("TANDEM_WEB_OIDC_ISSUER", "http://idp.example:8180/realms/tandem/")
    monkeypatch.setenv("TANDEM_WEB_ENROLMENT_URL", "http://enrolment.example:9001/enrolment/v1")
    client = TestClient(bootstrap.build(InsightsSettings()))
    config = client.get("/insights/v1/web/config.json").json()
    policy = client.get("/insights/v1/participant").headers["content-security-policy"]

    assert config["oidc"] == {
        "issuer": "http://idp.example:8180/realms/tandem",
        "client_id": "tandem-web",
        "scope": "openid profile email",
    }
    assert config["enrolment_url"] == "http://enrolment.example:9001/enrolment/v1"
    connect = next(d for d in policy.split("; ") if d.startswith("connect-src")).split()
    assert {"http://idp.example:8180", "http://enrolment.example:9001"} <= set(connect)
    assert "form-action 'self'" in policy, "the sign-in is a navigation, never a form posted from the page"


@pytest.mark.parametrize("page", ["dashboard", "participant"])
def test_the_sign_in_library_loads_before_the_page_script(page):
    html = (WEB / f"{page}.html").read_text()
    assert html.index("vendor/oidc-client-ts/oidc-client-ts.min.js") < html.index(f"static/{page}.js")


def test_the_pages_stay_out_of_the_api_documentation(client):
    paths = client.get("/insights/v1/openapi.json").json()["paths"]
    assert not [p for p in paths if "dashboard" in p or "participant" in p or "web" in p]


def test_a_listed_origin_may_call_the_api_with_a_bearer_token_and_an_idempotency_key(client):
    for origin in (PAGE_ORIGIN, "http://localhost:8004"):
        response = client.options(
            "/insights/v1/programs",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
            },
        )
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == origin
        assert "access-control-allow-credentials" not in response.headers


def test_another_origin_may_not(client):
    response = client.options(
        "/insights/v1/programs",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in response.headers


def test_an_empty_origin_list_turns_cors_off(monkeypatch):
    monkeypatch.setenv("TANDEM_CORS_ORIGINS", "")
    client = TestClient(bootstrap.build(InsightsSettings()))
    response = client.get("/insights/v1/web/config.json", headers={"Origin": PAGE_ORIGIN})
    assert "access-control-allow-origin" not in response.headers
