"""The program digest downloaded from the dashboard by HR's admin signed in at the real Keycloak (issue #16): of two
completed pairs, one whose two members shared their reflections and one where only the mentor did, the digest, in
HTML and in Markdown, names exactly the first pair's two people and no one else, and tells their words; insights'
figures count one story."""

from __future__ import annotations

import httpx
import pytest

from demo.keycloak_realm import DEMO_PASSWORD, username
from demo.organisation import organisation
from tests.browser.conftest import launch_hr_program, screenshot, sign_in_at_keycloak
from tests.support.roster import put_in_roster_now
from tests.support.services import eventually

CONSENT = "I agree that Tandem records my enrolment, my pair, my reflection and my sessions for this program."
MENTORS, MENTEES = ("zoe.diaz", "rosa.baker"), ("ines.fischer", "quinn.evans")  # Marketing juniors, Technology seniors


@pytest.fixture(scope="module")
def completed(signed_in_store, signed_in_platform, keycloak, admin) -> dict:
    """Two pairs formed by a round and completed by the admin; every member reflected; the first pair's two
    members shared their stories, the second pair's mentor only."""
    urls = {name: service.url for name, service in signed_in_platform.items()}
    people = {username(p): p for p in organisation(200, 7)}
    chosen = [people[who] for who in (*MENTORS, *MENTEES)]

    put_in_roster_now(signed_in_store.dsn, chosen)
    program_id, consent = launch_hr_program(
        urls["enrolment"],
        admin,
        title="Stories worth telling",
        cadence_days=14,
        duration_weeks=12,
        languages=["en", "fr", "de", "es"],
        consent_text=CONSENT,
    )
    tokens = {who: {"Authorization": f"Bearer {keycloak.password_token(who)}"} for who in (*MENTORS, *MENTEES)}
    who_is = {}
    for who in (*MENTORS, *MENTEES):
        role, skills = ("mentor", "skills_offered") if who in MENTORS else ("mentee", "skills_wanted")
        opt_in = {"consent_sha256": consent["sha256"], "role": role, skills: ["social media"]}
        enrolled = httpx.post(f"{urls['enrolment']}/programs/{program_id}/enrolments", json=opt_in, headers=tokens[who])
        assert enrolled.status_code == 201, enrolled.text
        who_is[enrolled.json()["participant"]["participant_id"]] = who  # their id in this program (ADR 0011)
    pool = f"{urls['matching']}/programs/{program_id}/pool"
    eventually(lambda: httpx.get(pool, headers=admin).json()["active"] == 4, 60, "matching to hold all four")
    round_ = httpx.post(f"{urls['matching']}/programs/{program_id}/rounds", headers=admin, timeout=60)
    assert round_.status_code == 201, round_.text
    pairs = round_.json()["pairs"]
    assert len(pairs) == 2, pairs
    sessions = urls["sessions"]
    for pair in pairs:
        done = f"{sessions}/pairs/{pair['pair_id']}/completion"
        eventually(
            lambda done=done: httpx.post(done, headers=admin).status_code == 200, 60, "sessions to know the pair"
        )
        for member in (pair["mentor_id"], pair["mentee_id"]):
            who = who_is[member]
            words = {"learned": f"{who} learned to listen", "changed": f"{who} changed how meetings run"}
            reflected = httpx.post(done, json={**words, "would_recommend": True}, headers=tokens[who])
            assert reflected.status_code == 200, reflected.text
    told, half = pairs
    for pair, member in ((told, told["mentor_id"]), (told, told["mentee_id"]), (half, half["mentor_id"])):
        story = f"{sessions}/pairs/{pair['pair_id']}/story"
        shared = httpx.post(story, json={"share": True}, headers=tokens[who_is[member]])
        assert shared.status_code == 200, shared.text
    name = {who: people[who].display_name for who in (*MENTORS, *MENTEES)}
    return {
        "program_id": program_id,
        "urls": urls,
        "named": {name[who_is[told["mentor_id"]]], name[who_is[told["mentee_id"]]]},
        "unnamed": {name[who_is[half["mentor_id"]]], name[who_is[half["mentee_id"]]]},
        "words": f"{who_is[told['mentee_id']]} changed how meetings run",
        "withheld": f"{who_is[half['mentor_id']]} changed how meetings run",
    }


def download(page, button: str) -> str:
    with page.expect_download() as info:
        page.get_by_role("button", name=button).click()
    return open(info.value.path(), encoding="utf-8").read()


def test_the_digest_names_exactly_the_people_who_opted_in(browser_context, signed_in_platform, completed, admin):
    program_id, urls = completed["program_id"], completed["urls"]
    report = f"{urls['insights']}/programs/{program_id}/report"
    eventually(
        lambda: httpx.get(report, headers=admin).json()["recognition"]["stories_shared"] == 1,
        60,
        "insights to count the one story both partners shared",
    )
    page = browser_context.new_page()
    page.goto(f"{urls['insights']}/dashboard?program={program_id}")
    page.get_by_role("button", name="Sign in").click()
    sign_in_at_keycloak(page, "hr.admin", DEMO_PASSWORD)
    page.locator('[data-figure="stories"]').get_by_text("1", exact=True).wait_for(timeout=40_000)
    page.get_by_role("button", name="Download digest (HTML)").wait_for()
    screenshot(page, "dashboard-recognition")

    html = download(page, "Download digest (HTML)")
    markdown = download(page, "Download digest (Markdown)")
    for digest in (html, markdown):
        assert all(name in digest for name in completed["named"]), "both partners who shared are named"
        assert not any(name in digest for name in completed["unnamed"]), "no one else is named"
        assert completed["words"] in digest and completed["withheld"] not in digest
        assert "fewer than 5" in digest.lower()
    assert html.startswith("<!doctype html>") and markdown.startswith("# Stories worth telling: program digest")
    assert browser_context.errors == []
