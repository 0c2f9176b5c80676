"""Browser tests: Debian's Chromium (`apt-get install chromium`, never `playwright install`), driven by the
Playwright Python client, against the four services as real processes on the real Kafka and PostgreSQL.

Without Chromium or Playwright the tests are skipped, and under CI=true they fail.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from demo.keycloak_realm import WEB_ORIGINS
from tests.conftest import _child_env
from tests.support.infra import Store, create_store, drop_store, store_name
from tests.support.keycloak import Keycloak, find_keycloak
from tests.support.services import ServiceProcess, eventually, service_env

CHROMIUM = os.environ.get("TANDEM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).parents[2] / "artifacts" / "browser"
SERVICES = ("enrolment", "matching", "sessions", "insights")


def unavailable(what: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI needs {what} for the browser tests", pytrace=False)
    pytest.skip(f"{what} is missing")


@pytest.fixture(scope="package")
def chromium_path() -> str:
    """Checked before any service starts, so a machine without a browser fails (or skips) at once."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        unavailable("the playwright package (pip install -e '.[dev]')")
    executable = shutil.which(CHROMIUM)
    if executable is None:
        unavailable(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    return str(executable)


@pytest.fixture(scope="package")
def chromium(chromium_path) -> Iterator:
    """Headless Chromium; Playwright gives every context a fresh profile (user-data-dir) of its own. While
    Playwright's synchronous API runs, no asyncio fixture can be set up: the platforms' fixtures are synchronous
    and run their asyncio setup in a thread of its own."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="package")
def browser_env(infra, run_id) -> Iterator[dict[str, str]]:
    """A database and topic prefix of these tests' own. The end-to-end tests enrol the same generated people, and
    a participant's pseudonym is the same in every program, so one store would mix the two lifecycles' pairs."""
    store = _in_a_thread(create_store(infra, store_name(run_id, "web")))
    yield service_env(_child_env(store.dsn, store.kafka))
    _in_a_thread(drop_store(infra, store))


def _in_a_thread(coroutine):
    """Run a coroutine to its end from a synchronous fixture, even while Playwright's own event loop runs."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _run_platform(env: dict[str, str], web_port: int | None = None, **web_env: str):
    """The four services, the pages insights serves calling the other three from the browser; stopped cleanly."""
    services = {name: ServiceProcess(name, env) for name in SERVICES}
    if web_port is not None:
        services["insights"].port = web_port
    web = {
        "TANDEM_CORS_ORIGINS": services["insights"].root,
        "TANDEM_WEB_MATCHING_URL": services["matching"].url,
        "TANDEM_WEB_SESSIONS_URL": services["sessions"].url,
        "TANDEM_WEB_ENROLMENT_URL": services["enrolment"].url,
        "TANDEM_WEB_NOTIFICATIONS_URL": "",  # notifications is not started here: the dashboard leaves it out
        "TANDEM_WEB_POLL_SECONDS": "1",
        **web_env,
    }
    try:
        for service in services.values():
            service.env = {**env, **web}
            service.start()
        yield services
    finally:
        codes = [service.stop() for service in services.values()]
    assert codes == [0, 0, 0, 0], "every service stops cleanly on SIGTERM"


@pytest.fixture(scope="package")
def platform(chromium_path, browser_env) -> Iterator[dict[str, ServiceProcess]]:
    """The four services; the pages insights serves may call matching and sessions from the browser."""
    yield from _run_platform(browser_env)


@pytest.fixture(scope="package")
def sent(platform):
    """A program driven through its whole lifecycle over HTTP (the end-to-end tests' driver)."""
    from tests.e2e import lifecycle

    return lifecycle.run({name: service.url for name, service in platform.items()})


@pytest.fixture
def browser_context(chromium):
    """A fresh profile in UTC with British formats; collects the page errors and console errors it sees."""
    context = chromium.new_context(viewport={"width": 1400, "height": 900}, locale="en-GB", timezone_id="UTC")
    context.errors = []
    context.on("weberror", lambda error: context.errors.append(str(error.error)))
    context.on("console", lambda message: message.type == "error" and context.errors.append(message.text))
    yield context
    context.close()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# ------------------------------------------------------------------------------------------ signed in at Keycloak


@pytest.fixture(scope="session")
def keycloak() -> Keycloak:
    """The real OpenID provider with the project's realm (a test using it is marked `infra`)."""
    return find_keycloak()


@pytest.fixture(scope="module")
def admin(keycloak: Keycloak) -> dict[str, str]:
    """HR's programme admin (`hr.admin`, group hr-programs), signed in at Keycloak."""
    return {"Authorization": f"Bearer {keycloak.password_token('hr.admin')}"}


def launch_hr_program(enrolment_url: str, admin: dict[str, str], **settings) -> tuple[str, dict]:
    """A program HR's team runs (admin group hr-programs): its id and the consent wording people opt in to."""
    response = httpx.post(
        f"{enrolment_url}/programs", json={"admin_groups": ["hr-programs"], **settings}, headers=admin, timeout=30
    )
    assert response.status_code == 201, response.text
    program_id = response.json()["program"]["program_id"]
    consent = httpx.get(f"{enrolment_url}/programs/{program_id}/consent", headers=admin)
    assert consent.status_code == 200, consent.text
    return program_id, consent.json()


def web_client_port() -> int:
    """A free port the realm's `tandem-web` client accepts redirects to (8001-8005 on 127.0.0.1): the provider
    sends the browser back only to a registered address, and Keycloak allows no wildcard in a port."""
    ports = sorted({int(origin.rsplit(":", 1)[1]) for origin in WEB_ORIGINS if "127.0.0.1" in origin})
    for port in ports:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.fail(f"no free port among {ports} for the web pages the realm's tandem-web client redirects to")


@pytest.fixture(scope="package")
def signed_in_store(infra, run_id) -> Iterator[Store]:
    """The signed-in platform's own database (its URL: tests seed enrolment's roster there) and topic prefix."""
    store = _in_a_thread(create_store(infra, store_name(run_id, "oidc")))
    yield store
    _in_a_thread(drop_store(infra, store))


@pytest.fixture(scope="package")
def signed_in_platform(signed_in_store, keycloak) -> Iterator[dict[str, ServiceProcess]]:
    """The four services accepting only the realm's tokens, with the pages signing people in at Keycloak."""
    env = service_env(_child_env(signed_in_store.dsn, signed_in_store.kafka), **keycloak.service_env())
    yield from _run_platform(env, web_port=web_client_port(), TANDEM_WEB_OIDC_ISSUER=keycloak.issuer)


def sign_in_at_keycloak(page, username: str, password: str) -> None:
    """Through the provider's own login form, as a person does; returns once the page has taken the provider's answer.
    Until then the address still holds the one-time code: a reload in between spends it twice, and the page rightly
    says the sign-in did not complete (a CI run failed so, reloading one person's page while another's test ran)."""
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("#kc-login").click()
    page.locator("#signed-in-as", has_text="Signed in as").wait_for(timeout=30_000)


class HeldAnswers:
    """The page's requests to URLs matching `pattern`, held until the test lets each one through: the order their
    answers arrive in is the test's, so a page that shows a late answer for something no longer chosen is caught."""

    def __init__(self, page, pattern: str):
        self.page, self.held = page, []
        page.route(pattern, lambda route: self.held.append(route))

    def release(self, url_end: str) -> None:
        """Lets the held request whose URL ends with `url_end` through, once the page has made it, and waits for
        its answer to reach the page."""

        def asked() -> bool:
            self.page.evaluate("0")  # a call into the page lets Playwright hand it the requests waiting for the route
            return any(r.request.url.endswith(url_end) for r in self.held)

        eventually(asked, 30, f"the page to ask for …{url_end}")
        route = next(r for r in self.held if r.request.url.endswith(url_end))
        self.held.remove(route)
        with self.page.expect_response(lambda response: response.url.endswith(url_end)) as answered:
            route.continue_()
        answered.value.finished()

    def never_shows(self, selector: str, text: str) -> None:
        """Given two seconds after the late answer arrived, the element never shows `text`."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        with pytest.raises(PlaywrightTimeout):
            self.page.wait_for_function(
                "([selector, text]) => document.querySelector(selector)?.textContent === text",
                arg=[selector, text],
                timeout=2000,
            )
