"""A match accepted and an agreement signed on the participant page, by two people signed in at the real Keycloak
(issue #15): in a program whose pairs start only when both accept, each member accepts the proposal on their own
page; one writes the agreement, both sign it there, and the page shows it in force."""

from __future__ import annotations

import httpx
import pytest

from demo.keycloak_realm import DEMO_PASSWORD, username
from demo.organisation import organisation
from tests.browser.conftest import launch_hr_program, screenshot, sign_in_at_keycloak
from tests.support.roster import put_in_roster_now
from tests.support.services import eventually

CONSENT = "I agree that Tandem records my enrolment, my pair, our agreement and my sessions for this program."
MENTOR, MENTEE = "sami.haddad", "femi.ito"  # a junior colleague in Marketing, a senior one in Technology


@pytest.fixture(scope="module")
def proposed(signed_in_store, signed_in_platform, keycloak, admin) -> dict:
    """A program in acceptance mode `both`, the two colleagues opted in, and a round that proposed them as a pair."""
    urls = {name: service.url for name, service in signed_in_platform.items()}
    people = {username(p): p for p in organisation(200, 7)}
    mentor, mentee = people[MENTOR], people[MENTEE]
    assert mentor.employee_id not in mentee.chain and mentee.employee_id not in mentor.chain
    assert mentor.grade < mentee.grade, "reverse mentoring: the junior colleague mentors"

    put_in_roster_now(signed_in_store.dsn, (mentor, mentee))
    program_id, consent = launch_hr_program(
        urls["enrolment"],
        admin,
        title="Agreed partnerships",
        cadence_days=14,
        duration_weeks=12,
        languages=["en", "fr", "de", "es"],
        consent_text=CONSENT,
        acceptance_mode="both",
    )
    for who, role, skills in ((MENTOR, "mentor", "skills_offered"), (MENTEE, "mentee", "skills_wanted")):
        theirs = {"Authorization": f"Bearer {keycloak.password_token(who)}"}
        opt_in = {"consent_sha256": consent["sha256"], "role": role, skills: ["social media"]}
        response = httpx.post(f"{urls['enrolment']}/programs/{program_id}/enrolments", json=opt_in, headers=theirs)
        assert response.status_code == 201, response.text
    pool = f"{urls['matching']}/programs/{program_id}/pool"
    eventually(lambda: httpx.get(pool, headers=admin).json()["active"] == 2, 60, "matching to hold both")
    round_ = httpx.post(f"{urls['matching']}/programs/{program_id}/rounds", headers=admin, timeout=60)
    assert round_.status_code == 201, round_.text
    [pair] = round_.json()["pairs"]
    assert pair["status"] == "proposed", pair
    return {"program_id": program_id, "pair_id": pair["pair_id"], "urls": urls}


def signed_in_page(chromium, errors: list[str], url: str, who: str):
    """A person's own browser (the provider remembers who signed in, so each person has a context)."""
    context = chromium.new_context(locale="en-GB", timezone_id="UTC")
    context.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page = context.new_page()
    page.goto(f"{url}/participant")
    page.get_by_role("button", name="Sign in").click()
    sign_in_at_keycloak(page, who, DEMO_PASSWORD)
    return context, page


def test_both_accept_the_match_and_sign_the_agreement_on_the_page(chromium, signed_in_platform, proposed, admin):
    errors: list[str] = []
    insights, pair_id = proposed["urls"]["insights"], proposed["pair_id"]
    mentor_context, mentor = signed_in_page(chromium, errors, insights, MENTOR)
    mentee_context, mentee = signed_in_page(chromium, errors, insights, MENTEE)

    # The mentor accepts first: the pair waits for the mentee.
    offer = mentor.locator(f'[data-proposal="{pair_id}"]')
    offer.get_by_text("The pair starts when both of you accept.").wait_for()
    offer.get_by_role("button", name="Accept").click()
    mentor.get_by_text("the pair starts when your partner accepts too").wait_for()
    offer.get_by_text("My answer: accepted. My partner's: not answered yet.").wait_for()

    # The mentee accepts: the pair starts, and her page shows it once sessions has heard of it.
    mentee.reload()
    theirs = mentee.locator(f'[data-proposal="{pair_id}"]')
    theirs.get_by_text("My partner's: accepted").wait_for()
    theirs.get_by_role("button", name="Accept").click()
    mentee.get_by_text("You accepted: your pair has started.").wait_for()
    mentee.get_by_text("I am the mentee of").wait_for(timeout=40_000)
    mentee.locator('[data-agreement-status="none"]').wait_for()

    # She writes the agreement: a goal in each direction, within the program's guidelines.
    mentee.get_by_text("Write our agreement").click()
    mentee.get_by_label("Goal 1").fill("Understand how short video reaches younger customers")
    mentee.get_by_label("Goal 2").fill("Learn how budget decisions are made")
    mentee.locator("#goal-direction-2").select_option("mentee_to_mentor")
    mentee.get_by_label("We meet every (days)").fill("14")
    mentee.get_by_label("For (weeks)").fill("10")
    mentee.get_by_label("Our confidentiality terms").fill("What we share stays between us.")
    mentee.get_by_role("button", name="Propose this version").click()
    mentee.locator('[data-agreement-status="awaiting_signatures"], #agreement-result:not(:empty)').first.wait_for()
    assert mentee.locator("#agreement-result").inner_text() == "", "the agreement was refused"
    mentee.get_by_role("button", name="Sign version 1").click()
    mentee.get_by_text("Version 1 awaits signatures: signed by me.").wait_for()

    # He reloads his page: the pair, her goals in both directions, and his signature puts it in force.
    mentor.reload()
    mentor.get_by_text("I am the mentor of").wait_for(timeout=40_000)
    mentor.get_by_text("Version 1 awaits signatures: signed by my partner.").wait_for()
    assert "Learn how budget decisions are made" in mentor.locator("#agreement").inner_text()
    mentor.get_by_role("button", name="Sign version 1").click()
    mentor.locator('[data-agreement-status="in_force"]').wait_for()
    assert (
        mentor.locator('[data-agreement-status="in_force"]')
        .inner_text()
        .startswith("In force: version 1, signed by both of you, until ")
    )
    assert mentor.get_by_role("button", name="Sign version 1").is_hidden()
    assert mentor.locator("#advanced-goals").is_visible(), "sessions can now name the goals they advanced"
    screenshot(mentor, "participant-agreement-in-force")

    mentee.reload()
    mentee.locator('[data-agreement-status="in_force"]').wait_for(timeout=40_000)
    agreement = httpx.get(f"{proposed['urls']['sessions']}/pairs/{pair_id}/agreement", headers=admin).json()
    assert (agreement["status"], agreement["in_force_version"], len(agreement["signed_by"])) == ("in_force", 1, 2)
    assert all(goal["text"] is None for goal in agreement["goals"]), "the admin sees no one's words"
    mentor_context.close()
    mentee_context.close()
    assert errors == []
