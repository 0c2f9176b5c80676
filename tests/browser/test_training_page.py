"""A training module completed on the participant page by an employee signed in at the real Keycloak (issue #16):
the page shows what is left to do before matching, the person reads the module and answers its check there, the
module shows as done, and matching's pool no longer counts the person as awaiting training."""

from __future__ import annotations

import httpx
import pytest

from demo.keycloak_realm import DEMO_PASSWORD, username
from demo.organisation import organisation
from tests.browser.conftest import launch_hr_program, screenshot, sign_in_at_keycloak
from tests.support.roster import put_in_roster_now
from tests.support.services import eventually

CONSENT = "I agree that Tandem records my enrolment, my training and my pair for this program."
WHO = "sami.haddad"
MODULE = "two-way-partnership"
ANSWERS = {"q1": ["a", "b", "c"], "q2": ["b"], "q3": ["a"]}


@pytest.fixture(scope="module")
def enrolled(signed_in_store, signed_in_platform, keycloak, admin) -> dict:
    """A program requiring the two-way module, and the employee opted in to it."""
    urls = {name: service.url for name, service in signed_in_platform.items()}
    person = {username(p): p for p in organisation(200, 7)}[WHO]

    put_in_roster_now(signed_in_store.dsn, [person])
    program_id, consent = launch_hr_program(
        urls["enrolment"],
        admin,
        title="Trained partnerships",
        languages=["en", "fr", "de", "es"],
        consent_text=CONSENT,
        required_modules=[MODULE],
    )
    theirs = {"Authorization": f"Bearer {keycloak.password_token(WHO)}"}
    opt_in = {"consent_sha256": consent["sha256"], "role": "mentor", "skills_offered": ["social media"]}
    response = httpx.post(f"{urls['enrolment']}/programs/{program_id}/enrolments", json=opt_in, headers=theirs)
    assert response.status_code == 201, response.text
    return {"program_id": program_id, "urls": urls, "theirs": theirs}


def test_an_employee_completes_a_required_module_on_the_page(chromium, enrolled, admin):
    errors: list[str] = []
    program_id, urls = enrolled["program_id"], enrolled["urls"]
    pool = f"{urls['matching']}/programs/{program_id}/pool"
    eventually(lambda: httpx.get(pool, headers=admin).json().get("awaiting_training") == 1, 60, "matching to wait")

    context = chromium.new_context(locale="en-GB", timezone_id="UTC")
    context.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page = context.new_page()
    page.goto(f"{urls['insights']}/participant")
    page.get_by_role("button", name="Sign in").click()
    sign_in_at_keycloak(page, WHO, DEMO_PASSWORD)

    mine = page.locator(f'[data-training="{program_id}"]')
    mine.get_by_text("Left to do before matching: 1 module.").wait_for()
    assert mine.locator(f'[data-status="{MODULE}"]').inner_text() == "Required before matching"
    mine.locator(f'[data-read="{MODULE}"]').click()
    page.get_by_role("heading", name="Making a two-way partnership work · 15 minutes").wait_for()
    assert "Start with an agreement" in page.locator("#training-body").inner_text()

    # A first try with one wrong answer fails and names the question to read again.
    page.locator('[data-question="q2"] input[value="a"]').check()
    page.get_by_role("button", name="Check my answers").click()
    page.get_by_text("0 of 3 right; 2 needed.").wait_for()
    for question, choices in ANSWERS.items():
        for choice in choices:
            page.locator(f'[data-question="{question}"] input[value="{choice}"]').check()
    page.get_by_role("button", name="Check my answers").click()
    page.get_by_text("Passed: 3 of 3 right. The module is done.").wait_for()
    mine.get_by_text("Nothing left to do before matching.").wait_for()
    assert mine.locator(f'[data-status="{MODULE}"]').inner_text() == "Done (version 1)"
    screenshot(page, "participant-training-done")

    plan = httpx.get(f"{urls['enrolment']}/programs/{program_id}/training", headers=enrolled["theirs"]).json()
    assert plan["left_to_do"] == []
    eventually(lambda: httpx.get(pool, headers=admin).json()["awaiting_training"] == 0, 60, "matching to learn it")
    context.close()
    assert errors == []
