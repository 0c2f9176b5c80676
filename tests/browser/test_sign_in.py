"""Signing in on insights' pages at the real Keycloak, through its login form (issue #14): back to the same page
signed in, the person's name from the ID token, sign-out at the provider, and a session that ends with its
access token."""

from __future__ import annotations

import time

import httpx
import pytest

from demo.keycloak_realm import DEMO_PASSWORD, username
from demo.organisation import organisation
from tests.browser.conftest import HeldAnswers, launch_hr_program, screenshot, sign_in_at_keycloak
from tests.support.roster import put_in_roster_now
from tests.support.services import eventually

CONSENT = "I agree that Tandem records my enrolment, my pair and my sessions for this program."


@pytest.fixture(scope="module")
def program(signed_in_platform, admin) -> str:
    """A program HR's team runs, once insights knows it."""
    program_id, _ = launch_hr_program(
        signed_in_platform["enrolment"].url,
        admin,
        title="Signed in",
        cadence_days=14,
        duration_weeks=12,
        languages=["en", "fr", "de", "es"],
        consent_text=CONSENT,
    )
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


# ------------------------------------------------------------------------------ opting in and meeting the partner


@pytest.fixture(scope="module")
def pair_to_be(signed_in_store, signed_in_platform):
    """A junior and a senior colleague on HR's roster (a mentor and a mentee outside each other's line)."""
    people = {username(p): p for p in organisation(200, 7)}
    junior, senior = people["quinn.weber"], people["ines.fischer"]
    assert junior.employee_id not in senior.chain and senior.employee_id not in junior.chain

    put_in_roster_now(signed_in_store.dsn, [junior, senior])
    return junior, senior


def fresh_context(chromium, errors: list[str]):
    context = chromium.new_context(locale="en-GB", timezone_id="UTC")
    context.on("console", lambda message: message.type == "error" and errors.append(message.text))
    return context


def test_people_opt_in_themselves_and_meet_their_partner_by_name(
    chromium, browser_context, signed_in_platform, keycloak, program, pair_to_be, admin
):
    _, senior = pair_to_be
    urls = {name: service.url for name, service in signed_in_platform.items()}
    me = browser_context.new_page()
    me.goto(f"{urls['insights']}/participant")
    sign_in(me, "quinn.weber")
    me.get_by_text("Signed in as Quinn Weber").wait_for()

    me.get_by_label("Program", exact=True).select_option(label="Signed in")
    me.locator("#consent-text", has_text=CONSENT).wait_for()
    me.get_by_label("Mentor: I share what I know").check()
    me.get_by_label("Skills I offer").fill("social media, short video")
    me.get_by_label("Skills I want to learn").fill("strategy")
    me.get_by_label("My goals", exact=True).fill("Learn how the board decides")
    me.get_by_label("Show my goals to my partner").check()
    me.get_by_label("I have read the text above and consent to it").check()
    me.get_by_role("button", name="Opt in").click()
    me.get_by_text("Consent given: version 1").first.wait_for()
    assert me.locator(f'[data-consent="{program}"]').inner_text().startswith("Consent given: version 1 on ")

    # The senior colleague opts in through the API; then HR's team runs a matching round.
    consent = httpx.get(f"{urls['enrolment']}/programs/{program}/consent", headers=admin).json()
    theirs = {"Authorization": f"Bearer {keycloak.password_token('ines.fischer')}"}
    body = {"consent_sha256": consent["sha256"], "role": "mentee", "skills_wanted": ["social media"], "goals": "x"}
    response = httpx.post(f"{urls['enrolment']}/programs/{program}/enrolments", json=body, headers=theirs)
    assert response.status_code == 201, response.text
    pool = f"{urls['matching']}/programs/{program}/pool"
    eventually(lambda: httpx.get(pool, headers=admin).json()["active"] == 2, 60, "matching to hold both")
    round_ = httpx.post(f"{urls['matching']}/programs/{program}/rounds", headers=admin, timeout=60)
    assert round_.status_code == 201 and len(round_.json()["pairs"]) == 1, round_.text
    pair = round_.json()["pairs"][0]
    mine = {"Authorization": f"Bearer {keycloak.password_token('quinn.weber')}"}
    partners = f"{urls['enrolment']}/me/partners"
    eventually(lambda: httpx.get(partners, headers=mine).json() != [], 60, "enrolment to learn the pair")

    me.reload()
    # The demo employees take part in the other browser tests' programs too: the card of this pair's partner.
    card = me.locator("#partners dl", has_text="Ines Fischer")
    card.wait_for()
    assert card.get_by_role("link", name=senior.email).get_attribute("href") == f"mailto:{senior.email}"
    assert senior.department in card.inner_text() and senior.time_zone in card.inner_text()
    assert "Not shared." in card.inner_text(), "her goals stay hers"
    me.locator("#pair option", has_text="My mentee Ines Fischer").wait_for(state="attached")
    me.get_by_text("I am the mentor of Ines Fischer").wait_for()
    shown = me.locator("body").inner_text()
    assert pair["mentor_id"] not in shown and pair["mentee_id"] not in shown, "people never see pseudonyms"
    screenshot(me, "participant-partner")

    errors: list[str] = []
    with_her = fresh_context(chromium, errors)
    her = with_her.new_page()
    her.goto(f"{urls['insights']}/participant")
    sign_in(her, "ines.fischer")
    her_card = her.locator("#partners dl", has_text="Quinn Weber")
    her_card.wait_for()
    assert "Learn how the board decides" in her_card.inner_text(), "his goals, which he shares"
    assert her.locator(f'[data-consent="{program}"]').inner_text().startswith("Consent given: version 1")
    with_her.close()

    with_hr = fresh_context(chromium, errors)  # a context of its own: the provider remembers who signed in
    board = with_hr.new_page()
    board.goto(f"{urls['insights']}/dashboard?program={program}")
    sign_in(board, "hr.admin")
    board.locator("#cadence td", has_text="Quinn Weber").wait_for()
    assert board.locator("#cadence td", has_text="Ines Fischer").count() == 1, "a program's admin sees names"
    with_hr.close()

    me.get_by_role("button", name="Sign out").click()
    me.get_by_role("button", name="Sign in").wait_for()
    assert me.locator("#partners").is_hidden()
    assert browser_context.errors == [] and errors == []


def test_a_program_chosen_while_another_programs_consent_loads_keeps_its_own_wording(
    browser_context, signed_in_platform, program, pair_to_be, admin
):
    """The wording shown is the one the person consents to: a late answer for the program chosen before must not
    replace the chosen program's. Last in this module: the opt-in test above expects its program's figures alone."""
    enrolment = signed_in_platform["enrolment"].url
    other, _ = launch_hr_program(enrolment, admin, title="Another program", consent_text="Another wording.")
    launch_hr_program(enrolment, admin, title="A third program", consent_text="A third wording.")
    page = browser_context.new_page()
    wordings = HeldAnswers(page, "**/enrolment/v1/programs/*/consent")
    page.goto(f"{signed_in_platform['insights'].url}/participant")
    sign_in(page, "quinn.weber")
    choice = page.get_by_label("Program", exact=True)
    page.locator(f'#opt-in-program option[value="{other}"]').wait_for(state="attached")
    first = choice.input_value()
    offered = page.locator("#opt-in-program option").evaluate_all("options => options.map(o => o.value)")
    wording = {p: httpx.get(f"{enrolment}/programs/{p}/consent", headers=admin).json()["text"] for p in offered}
    chosen = next(p for p in offered if wording[p] != wording[first])
    choice.select_option(chosen)

    wordings.release(f"/programs/{chosen}/consent")
    expected = wording[chosen]
    page.locator("#consent-text", has_text=expected).wait_for()
    wordings.release(f"/programs/{first}/consent")  # the late answer, for the program no longer chosen
    wordings.never_shows("#consent-text", wording[first])
    assert page.locator("#consent-text").text_content() == expected
