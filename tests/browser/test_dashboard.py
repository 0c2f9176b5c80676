"""The dashboard and the participant page in headless Chromium, against the real services with a program that
went through its whole lifecycle. What the pages show is compared with what the APIs answer."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from shared.auth import issue_token
from tests.browser.conftest import HeldAnswers, screenshot
from tests.e2e.lifecycle import ADMIN, AUDITOR
from tests.support.services import eventually


@pytest.fixture(scope="module")
def program(sent, platform) -> str:
    """The lifecycle program's id, once insights has every session and rating the lifecycle sent."""
    program_id = sent.program["program_id"]
    url = f"{platform['insights'].url}/programs/{program_id}/report"
    sessions = sum(len(s) for s in sent.sessions.values())
    ratings = sum(len(r) for r in sent.ratings.values())

    def caught_up():
        body = httpx.get(url, headers=AUDITOR, timeout=30).json()
        return (body["sessions"]["total"], body["ratings"]["overall"]["count"], body["pairs"]["dissolved"]) == (
            sessions,
            ratings,
            1,
        )

    eventually(caught_up, 90, "insights to reflect the lifecycle")
    return program_id


def report(platform, program_id: str, as_of: str | None = None) -> dict:
    params = {"as_of": as_of} if as_of else {}
    url = f"{platform['insights'].url}/programs/{program_id}/report"
    return httpx.get(url, params=params, headers=AUDITOR, timeout=30).raise_for_status().json()


def open_with_token(context, url: str, token: str):
    page = context.new_page()
    page.goto(url)
    page.get_by_label("token").fill(token)
    page.get_by_label("token").press("Enter")
    return page


def dashboard(context, platform, program_id: str, token: str | None = None, **params: str):
    query = "&".join(f"{k}={v}" for k, v in {"program": program_id, **params}.items())
    page = open_with_token(
        context, f"{platform['insights'].url}/dashboard?{query}", token or issue_token("a", ["auditor"])
    )
    page.locator('[data-figure="sessions-total"]').wait_for()
    return page


def figure(page, key: str) -> str:
    return page.locator(f'[data-figure="{key}"]').inner_text()


def percent(share: float) -> str:
    return f"{math.floor(share * 100 + 0.5)} %"


def test_the_dashboard_shows_the_figures_of_the_report(browser_context, platform, program):
    page = dashboard(browser_context, platform, program)
    expected = report(platform, program)

    assert figure(page, "participants-enrolled") == str(expected["participants"]["enrolled"])
    assert figure(page, "pairs-active") == str(expected["pairs"]["active"])
    assert figure(page, "sessions-total") == str(expected["sessions"]["total"])
    assert figure(page, "pairs-at-risk") == str(expected["pairs"]["at_risk"])
    assert figure(page, "match-rate") == percent(expected["matching"]["match_rate"])
    shown_rating = float(figure(page, "average-rating").split(" / ")[0])
    assert shown_rating == pytest.approx(expected["ratings"]["overall"]["average"], abs=0.05 + 1e-9)
    assert page.get_by_role("heading", name="Lifecycle: headline figures").is_visible()
    assert page.locator("#risk tbody tr").count() == len(expected["at_risk_pairs"])
    assert browser_context.errors == []
    screenshot(page, "dashboard")


def test_as_of_shows_the_program_as_it_was_then(browser_context, platform, program):
    rows = httpx.get(f"{platform['insights'].url}/programs/{program}/pairs", headers=AUDITOR).json()
    first_pair = min(datetime.fromisoformat(r["formed_at"]) for r in rows)
    before = (first_pair - timedelta(seconds=1)).astimezone(UTC).replace(microsecond=0)
    page = dashboard(browser_context, platform, program)

    page.get_by_label("As of").fill(before.strftime("%Y-%m-%dT%H:%M:%S"))  # the page's local time is UTC here
    page.get_by_label("As of").press("Enter")
    expected = report(platform, program, before.isoformat())
    page.get_by_text("Snapshot as of").wait_for()

    assert figure(page, "pairs-active") == "0" == str(expected["pairs"]["active"])
    assert figure(page, "participants-enrolled") == str(expected["participants"]["enrolled"])
    assert "as_of=" in page.url, "the address keeps the instant, so the view can be shared"


def test_a_session_logged_on_the_participant_page_reaches_the_open_dashboard(browser_context, platform, sent, program):
    board = dashboard(browser_context, platform, program)
    sessions_before = int(figure(board, "sessions-total"))
    pair = sent.pairs[0]
    me = open_with_token(
        browser_context, f"{platform['insights'].url}/participant", issue_token(pair["mentor_id"], ["participant"])
    )

    me.get_by_label("My pair").select_option(pair["pair_id"])
    matched = httpx.get(f"{platform['matching'].url}/pairs/{pair['pair_id']}", headers=ADMIN).json()
    me.locator('[data-figure="score"]', has_text=f"{matched['score']:.2f}").wait_for()
    me.get_by_label("Minutes").fill("50")
    me.get_by_label("Topics").fill("tiktok, data literacy")
    me.get_by_label("The mentor learned from the mentee").check()
    me.get_by_label("Notes").fill("browser test")
    me.get_by_role("button", name="Log the session").click()
    me.get_by_text("logged. Thank you!").wait_for()
    me.locator("#sessions tbody tr", has_text="tiktok, data literacy").wait_for()
    screenshot(me, "participant")

    board.locator('[data-figure="sessions-total"]', has_text=str(sessions_before + 1)).wait_for(timeout=60_000)
    assert report(platform, program)["sessions"]["total"] == sessions_before + 1
    assert board.locator("#ledger-table td", has_text="tiktok").count() == 1
    assert browser_context.errors == []


def test_a_pair_chosen_while_another_still_loads_keeps_its_own_explanation(browser_context, platform, sent, program):
    """A mentor with two pairs opens the page (it shows one pair) and picks the other before the first pair's match
    explanation has arrived: that late answer must not replace the explanation of the pair now chosen. Seen when
    two test workers loaded the machine: the page showed the wrong pair's score."""
    pairs_of: dict[str, list[str]] = {}
    for pair in sent.pairs:
        pairs_of.setdefault(pair["mentor_id"], []).append(pair["pair_id"])
    mentor, pair_ids = next((m, ids) for m, ids in pairs_of.items() if len(ids) >= 2)
    matching = platform["matching"].url
    score = {i: f"{httpx.get(f'{matching}/pairs/{i}', headers=ADMIN).json()['score']:.2f}" for i in pair_ids}
    page = browser_context.new_page()
    explanations = HeldAnswers(page, "**/matching/v1/pairs/*")
    page.goto(f"{platform['insights'].url}/participant")
    page.get_by_label("token").fill(issue_token(mentor, ["participant"]))
    page.get_by_label("token").press("Enter")
    page.locator("#pair option").nth(len(pair_ids) - 1).wait_for(state="attached")
    first = page.locator("#pair").input_value()
    chosen = next(pair_id for pair_id in pair_ids if pair_id != first and score[pair_id] != score[first])
    page.get_by_label("My pair").select_option(chosen)

    explanations.release(f"/pairs/{chosen}")
    page.locator('[data-figure="score"]', has_text=score[chosen]).wait_for()
    explanations.release(f"/pairs/{first}")  # the late answer, for the pair no longer chosen
    explanations.never_shows("[data-figure=score]", score[first])
    assert page.locator('[data-figure="score"]').text_content() == score[chosen]
    assert browser_context.errors == []


def test_feedback_given_on_the_participant_page_counts_on_the_dashboard(browser_context, platform, sent, program):
    board = dashboard(browser_context, platform, program)
    ratings_before = report(platform, program)["ratings"]["overall"]["count"]
    me = open_with_token(
        browser_context,
        f"{platform['insights'].url}/participant",
        # The first pair held no session and gave no feedback yet: one rating per member per period (issue #15).
        issue_token(sent.pairs[0]["mentee_id"], ["participant"]),
    )
    me.get_by_label("4", exact=True).check()
    me.get_by_label("What I learned from the other side").fill("how short videos get made")
    me.get_by_role("button", name="Send feedback").click()
    me.get_by_text("your rating of 4 was recorded").wait_for()

    board.get_by_text(f"{ratings_before + 1} ratings", exact=True).wait_for(timeout=60_000)


def test_a_participant_token_is_told_the_dashboard_is_not_for_it(browser_context, platform, sent, program):
    page = open_with_token(
        browser_context,
        f"{platform['insights'].url}/dashboard",
        issue_token(sent.pairs[0]["mentor_id"], ["participant"]),
    )
    alert = page.get_by_role("alert")
    alert.get_by_text("Not allowed").wait_for()
    assert "program admins and auditors" in alert.inner_text()
    assert page.locator("#report").is_hidden()


def test_an_admin_token_is_told_the_participant_page_is_for_participants(browser_context, platform):
    page = open_with_token(
        browser_context, f"{platform['insights'].url}/participant", issue_token("a", ["program_admin"])
    )
    page.get_by_role("alert").get_by_text("This page is for participants").wait_for()


def test_every_control_has_a_label_and_every_chart_a_text_alternative(browser_context, platform, program):
    page = dashboard(browser_context, platform, program)
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea, button')]
              .filter(e => !(e.labels?.length || e.getAttribute('aria-label') || e.textContent.trim()))
              .map(e => e.id || e.outerHTML)"""
    )
    charts = page.evaluate(
        "() => [...document.querySelectorAll('canvas')].map(c => [c.getAttribute('role'), c.ariaLabel])"
    )
    assert unlabelled == []
    assert charts and all(role == "img" and label and len(label) > 30 for role, label in charts)
    assert page.locator("table:not(:has(caption))").count() == 0


def test_the_dashboard_is_operable_with_the_keyboard(browser_context, platform, program):
    page = browser_context.new_page()
    page.goto(f"{platform['insights'].url}/dashboard?program={program}")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to the figures"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "token"
    page.keyboard.type(issue_token("a", ["program_admin"]))
    page.keyboard.press("Enter")
    page.locator('[data-figure="sessions-total"]').wait_for()
    page.locator("#ledger-heading ~ details summary").focus()
    page.keyboard.press("Enter")
    assert page.locator("#ledger-table table").is_visible()


def test_the_csv_download_sends_the_token_and_saves_a_row_per_pair(browser_context, platform, program):
    page = dashboard(browser_context, platform, program)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    lines = download.value.path().read_text(encoding="utf-8").strip().splitlines()

    assert download.value.suggested_filename == f"insights-{program}-pairs.csv"
    assert lines[0].startswith("pair_id,mentor_id,mentee_id,status")
    assert len(lines) == 1 + report(platform, program)["pairs"]["formed"]
