"""A certificate downloaded from the participant page (issue #16): two colleagues signed in at the real Keycloak opt
in, matching pairs them, they meet, the program's admin completes the pair in sessions; the mentor's page then lists
her certificate under "My recognition", the download is a PDF naming both and what they exchanged, and she thanks
her partner with kudos from the same page."""

from __future__ import annotations

import io
from datetime import date

import httpx
import pypdf
import pytest

from demo.keycloak_realm import DEMO_PASSWORD, username
from demo.organisation import organisation
from tests.browser.conftest import launch_hr_program, screenshot, sign_in_at_keycloak
from tests.support.roster import put_in_roster_now
from tests.support.services import eventually

CONSENT = "I agree that Tandem records my enrolment, my pair and my sessions, and certifies what we completed."
# People the other browser tests do not use: a participant's pseudonym is the same in every program.
TAKEN = {"sami.haddad", "femi.ito", "quinn.weber", "ines.fischer"}


def pick_pair():
    people = [p for p in organisation(200, 7) if username(p) not in TAKEN]
    mentor = min(people, key=lambda p: (p.grade, p.employee_id))
    mentee = next(
        p
        for p in sorted(people, key=lambda p: (-p.grade, p.employee_id))
        if p.grade > mentor.grade
        and mentor.employee_id not in p.chain
        and p.employee_id not in mentor.chain
        and set(p.languages) & set(mentor.languages)
    )
    return mentor, mentee


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def completed(signed_in_store, signed_in_platform, keycloak, admin) -> dict:
    urls = {name: service.url for name, service in signed_in_platform.items()}
    mentor, mentee = pick_pair()

    put_in_roster_now(signed_in_store.dsn, (mentor, mentee))
    program_id, consent = launch_hr_program(
        urls["enrolment"], admin, title="Certified partnerships", consent_text=CONSENT
    )
    ids = {}
    for who, role, offered, wanted in ((mentor, "mentor", ["podcasting"], []), (mentee, "mentee", [], ["podcasting"])):
        opt_in = {"consent_sha256": consent["sha256"], "role": role, "skills_offered": offered, "skills_wanted": wanted}
        theirs = bearer(keycloak.password_token(username(who)))
        response = httpx.post(f"{urls['enrolment']}/programs/{program_id}/enrolments", json=opt_in, headers=theirs)
        assert response.status_code == 201, response.text
        ids[username(who)] = response.json()["participant"]["participant_id"]
    pool = f"{urls['matching']}/programs/{program_id}/pool"
    eventually(lambda: httpx.get(pool, headers=admin).json()["active"] == 2, 60, "matching to hold both")
    pair = httpx.post(
        f"{urls['matching']}/programs/{program_id}/pairs",
        json={"mentor_id": ids[username(mentor)], "mentee_id": ids[username(mentee)]},
        headers=admin,
        timeout=30,
    )
    assert pair.status_code == 201, pair.text
    pair_id = pair.json()["pair_id"]
    sessions = urls["sessions"]
    eventually(lambda: httpx.get(f"{sessions}/pairs/{pair_id}", headers=admin).status_code == 200, 60, "the pair")
    held = {"held_on": str(date.today()), "minutes": 60, "topics": ["audio editing"], "learning_direction": "both"}
    logged = httpx.post(
        f"{sessions}/pairs/{pair_id}/sessions", json=held, headers=bearer(keycloak.password_token(username(mentor)))
    )
    assert logged.status_code == 201, logged.text
    done = httpx.post(f"{sessions}/pairs/{pair_id}/completion", headers=admin, timeout=30)
    assert done.status_code == 200 and done.json()["completion"]["status"] == "completed", done.text
    return {"mentor": mentor, "mentee": mentee, "pair_id": pair_id, "urls": urls}


def test_a_member_downloads_her_certificate_and_sends_kudos_from_the_participant_page(chromium, completed, keycloak):
    mentor, mentee, urls = completed["mentor"], completed["mentee"], completed["urls"]
    errors: list[str] = []
    context = chromium.new_context(locale="en-GB", timezone_id="UTC", accept_downloads=True)
    context.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page = context.new_page()
    page.goto(f"{urls['insights']}/participant")
    page.get_by_role("button", name="Sign in").click()
    sign_in_at_keycloak(page, username(mentor), DEMO_PASSWORD)
    page.get_by_role("heading", name="My recognition").wait_for(timeout=30_000)

    # The certificate follows the completion through the events: reload until the page lists it.
    def listed() -> bool:
        page.reload()
        page.locator("#certificates").get_by_text("Certified partnerships").or_(
            page.locator("#certificates").get_by_text("No certificate yet")
        ).first.wait_for(timeout=30_000)
        return page.locator("#certificates [data-certificate]").count() == 1

    eventually(listed, 60, "the certificate on the page")
    item = page.locator("#certificates [data-certificate]")
    assert f"as mentor with {mentee.display_name}" in item.inner_text()
    with page.expect_download() as downloading:
        item.get_by_role("link", name="Download my certificate (PDF)").click()
    download = downloading.value
    assert download.suggested_filename.endswith(".pdf")
    text = " ".join(
        " ".join(p.extract_text().split()) for p in pypdf.PdfReader(io.BytesIO(download.path().read_bytes())).pages
    )
    assert mentor.display_name in text and mentee.display_name in text and "Certified partnerships" in text
    assert "podcasting" in text and "audio editing" in text
    code = item.inner_text().rsplit("Verification code: ", 1)[1].strip()
    assert code in text
    verified = httpx.get(f"{urls['enrolment']}/certificates/verify/{code}")
    assert verified.status_code == 200 and verified.json()["holder_name"] == mentor.display_name

    page.get_by_label("My kudos").fill("Thank you for every question you asked.")
    page.get_by_role("button", name="Send kudos").click()
    page.get_by_text(f"Kudos sent to {mentee.display_name}.").wait_for()
    screenshot(page, "participant-recognition")
    theirs = bearer(keycloak.password_token(username(mentee)))
    received = httpx.get(f"{urls['enrolment']}/me/kudos", headers=theirs).json()["received"]
    assert [(k["message"], k["other_name"]) for k in received] == [
        ("Thank you for every question you asked.", mentor.display_name)
    ]
    context.close()
    assert errors == []
