"""Mailpit's web inbox works: the page `make run` points newcomers to serves Mailpit's app, not a blank page.

The Go module of Mailpit lacks its npm-built single-page app, so a plain `go install` served an HTML shell whose
script was missing. deploy/tools/mailpit.sh now builds the app with npm from the module's source and embeds it.
This test takes the binary from that script (built once, cached in .local/cache/bin, as `make run` and .ci/run
use it), starts it on free ports with platform.sh's flags, and checks the page, its bundle and its API, then opens
the inbox in Debian's Chromium (as the browser tests do) and sees the app list a message it was sent.
"""

from __future__ import annotations

import re
import smtplib
import subprocess
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS, screenshot, unavailable
from tests.support.services import eventually, free_port

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def mailpit() -> Iterator[tuple[str, int]]:
    """(inbox URL, SMTP port) of a Mailpit of this test's own, on 127.0.0.1 only."""
    # A first build takes a minute or two (npm and Go); the script prints only the binary's path on stdout.
    binary = subprocess.run(
        [str(REPO / "deploy/tools/mailpit.sh")], capture_output=True, text=True, check=True, timeout=900
    ).stdout.strip()
    smtp_port, web_port = free_port(), free_port()
    process = subprocess.Popen(
        [binary, "--smtp", f"127.0.0.1:{smtp_port}", "--listen", f"127.0.0.1:{web_port}", "--disable-version-check",
         "--smtp-auth-accept-any", "--smtp-auth-allow-insecure"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    inbox = f"http://127.0.0.1:{web_port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{inbox}/livez", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        eventually(ready, 30, "Mailpit's web server")
        yield inbox, smtp_port
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_inbox_page_serves_mailpits_app(mailpit):
    inbox, _ = mailpit
    page = httpx.get(f"{inbox}/", timeout=10)
    assert page.status_code == 200 and "<title>Mailpit</title>" in page.text
    # The shell names its bundle and stylesheet; blank before was these answering 404 (absent from the binary).
    script = re.search(r'<script src="(/dist/app\.js[^"]*)"', page.text)
    style = re.search(r'<link rel=stylesheet href="(/dist/app\.css[^"]*)"', page.text)
    assert script and style, page.text
    bundle = httpx.get(f"{inbox}{script.group(1)}", timeout=10)
    assert bundle.status_code == 200 and "javascript" in bundle.headers["content-type"]
    assert len(bundle.content) > 200_000  # the Vue app itself (about 700 kB minified), not a stub
    assert "createApp" in bundle.text or "__vue_app__" in bundle.text
    css = httpx.get(f"{inbox}{style.group(1)}", timeout=10)
    assert css.status_code == 200 and len(css.content) > 50_000


def send(smtp_port: int, subject: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "tandem@example.org", "member@example.org", subject
    message.set_content("Hello from the inbox test.")
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:
        smtp.send_message(message)


def test_a_message_sent_to_its_smtp_port_is_listed_by_its_api(mailpit):
    inbox, smtp_port = mailpit
    subject = f"Inbox check {uuid.uuid4().hex}"
    send(smtp_port, subject)

    def listed() -> list[dict]:
        messages = httpx.get(f"{inbox}/api/v1/messages", timeout=10).json()["messages"]
        return [m for m in messages if m["Subject"] == subject]

    [listed_message] = eventually(listed, 30, "the message in Mailpit's API")
    assert listed_message["To"][0]["Address"] == "member@example.org"


def test_the_inbox_lists_the_message_in_a_browser(mailpit):
    """What a newcomer sees: the app renders the inbox and the message in it, without a script error."""
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        unavailable("the playwright package (pip install -e '.[dev]')")
    if not Path(CHROMIUM).exists():
        unavailable(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    inbox, smtp_port = mailpit
    subject = f"Browser check {uuid.uuid4().hex}"
    send(smtp_port, subject)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{inbox}/")
            # A row of the app's message list (Mailpit's own test id), linking to the message's page.
            row = page.get_by_test_id("message-row").filter(has_text=subject)
            expect(row).to_be_visible(timeout=30_000)
            expect(row).to_have_attribute("href", re.compile(r"^/view/\w+$"))
            screenshot(page, "mailpit-inbox")
            assert errors == []
        finally:
            browser.close()
