"""Signing in on insights' pages at the real Keycloak, through its login form (issue #14): back to the same page
signed in, the person's name from the ID token, sign-out at the provider, and a session that ends with its
access token."""

from __future__ import annotations

import time

import httpx
import pytest

from demo.keycloak_realm import DEMO_PASSWORD
from tests.browser.conftest import screenshot, sign_in_at_keycloak
from tests.support.services import eventually

CONSENT = "I agree that Tandem records my enrolment, my pair and my sessions for this program."


@pytest.fixture(scope="module")
def admin(keycloak) -> dict[str, str]:
    return {"Authorization": f"Bearer {keycloak.password_token('hr.admin')}"}


@pytest.fixture(scope="module")
def program(signed_in_platform, admin) -> str:
    """A program HR's team runs, once insights knows it."""
    body = {
        "title": "Signed in",
        "cadence_days": 14,
        "duration_weeks": 12,
        "languages": ["en", "fr", "de", "es"],
        "consent_text": CONSENT,
        "admin_groups": ["hr-programs"],
    }
    response = httpx.post(f"{signed_in_platform['enrolment'].url}/programs", json=body, headers=admin, timeout=30)
    assert response.status_code == 201, response.text
    program_id = response.json()["program"]["program_id"]
    insights = f"{signed_in_platform['insights'].url}/programs/{program_id}/report"
    eventually(lambda: httpx.get(insights, headers=admin).status_code == 200, 60, "insights to know the program")
    return program_id


def sign_in(page, username: str) -> None:
    page.get_by_role("button", name="Sign in").click()
    sign_in_at_keycloak(page, username, DEMO_PASSWORD)


def test_signing_in_at_keycloak_brings_the_person_back_to_the_same_page_signed_in(
    browser_context, signed_in_platform, program
):
    page = browser_context.new_page()
    page.goto(f"{signed_in_platform['insights'].url}/dashboard?program={program}")
    page.get_by_role("alert").get_by_text("Sign in above").wait_for()
    assert page.get_by_label("Access token").is_hidden(), "with a provider, nobody pastes tokens"

    sign_in(page, "hr.admin")

    page.get_by_text("Signed in as Harriet Admin").wait_for()
    page.get_by_role("heading", name="Signed in: headline figures").wait_for()
    assert f"program={program}" in page.url, "the page's own address is restored after the provider's redirect"
    assert "code=" not in page.url and "state=" not in page.url
    assert page.get_by_role("heading", name="Roster of eligible people").is_visible(), "a program admin's upload"
    assert browser_context.errors == []
    screenshot(page, "signed-in-dashboard")


def test_signing_out_ends_the_session_at_the_provider(browser_context, signed_in_platform, program):
    page = browser_context.new_page()
    page.goto(f"{signed_in_platform['insights'].url}/dashboard?program={program}")
    sign_in(page, "auditor")
    page.get_by_text("Signed in as Audrey Auditor").wait_for()
    page.locator('[data-figure="sessions-total"]').wait_for()

    page.get_by_role("button", name="Sign out").click()

    page.get_by_role("button", name="Sign in").wait_for()
    assert page.url.startswith(f"{signed_in_platform['insights'].url}/dashboard")
    assert page.get_by_text("Not signed in").is_visible()
    assert page.locator("#report").is_hidden()
    page.get_by_role("button", name="Sign in").click()
    page.locator("#username").wait_for()  # the provider asks again: its session ended too
    assert browser_context.errors == []


def test_a_session_ends_with_its_access_token(browser_context, signed_in_platform, program, keycloak):
    page = browser_context.new_page()
    page.goto(f"{signed_in_platform['insights'].url}/dashboard?program={program}")
    sign_in(page, "hr.admin")
    page.locator('[data-figure="sessions-total"]').wait_for()
    key = f"oidc.user:{keycloak.issuer}:tandem-web"
    assert page.evaluate("key => sessionStorage.getItem(key) !== null", key), "the user is kept in this tab only"
    assert page.evaluate("() => localStorage.length") == 0

    # The same sign-in, two seconds before its access token expires (Keycloak's are valid for five minutes).
    page.evaluate(
        """([key, at]) => {
             const user = JSON.parse(sessionStorage.getItem(key));
             user.expires_at = at;
             sessionStorage.setItem(key, JSON.stringify(user));
           }""",
        [key, int(time.time()) + 2],
    )
    page.reload()
    page.get_by_text("Signed in as Harriet Admin").wait_for()

    page.get_by_text("Signed out: your session expired").wait_for(timeout=15_000)
    assert page.get_by_role("button", name="Sign in").is_visible()
    assert page.locator("#report").is_hidden()
    assert page.evaluate("key => sessionStorage.getItem(key)", key) is None
    assert browser_context.errors == []
