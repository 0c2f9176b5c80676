"""Against real servers (issue #17): enrolment, matching and notifications as processes, Kafka, PostgreSQL, an SMTP
server (aiosmtpd) and a real HTTP receiver (http.server on a free port) configured as the program's generic webhook,
Slack and Teams URLs. The participants chose their channels (and some unsubscribed with the link their e-mails
carry) before the round: each introduction reaches its channel once per notification id, the webhook's signatures
verify with the scheme of docs/webhooks.md, the receiver's first answer (a 500) is retried with the same
Idempotency-Key, and nobody who unsubscribed gets anything."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import asyncpg
import httpx
import pytest

from services.notifications.adapters.unsubscribe import UnsubscribeLinks
from services.notifications.config import DEV_UNSUBSCRIBE_KEY
from tests.e2e import lifecycle
from tests.notifications.support import notification_counts
from tests.support.services import ServiceProcess, eventually, free_port, service_env, token
from tests.support.smtp import Inbox, serving


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    at: float


class Receiver:
    """Every POST, with what it was answered. The first post to each path in `fail_first` is answered 500."""

    def __init__(self, fail_first: set[str]):
        self.fail_first = set(fail_first)
        self.requests: list[Received] = []
        self.lock = threading.Lock()

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            status = 500 if path in self.fail_first else 200
            self.fail_first.discard(path)
            self.requests.append(Received(path, headers, body, status, time.time()))
            return status

    def accepted(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path == path and r.status == 200]

    def refused(self) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.status != 200]


@pytest.fixture(scope="module")
def receiver():
    found = Receiver(fail_first={"/hook"})

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = found.answer(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):  # the test's output is not the place for the bodies (they name people)
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(10)


@pytest.fixture(scope="module")
def smtp():
    inbox = Inbox()
    with serving(inbox) as port:
        yield inbox, port


@pytest.fixture(scope="module")
def services(infra, dsn, kafka, child_env_module, smtp):
    env = service_env(child_env_module)
    notifications = ServiceProcess("notifications", {})
    notifications.env = {
        **env,
        "TANDEM_SMTP_PORT": str(smtp[1]),
        "TANDEM_SCHEDULE_INTERVAL_S": "0.5",
        "TANDEM_RETRY_AFTER_S": "1",
        "TANDEM_PUBLIC_URL": notifications.url,
    }
    running = {
        "enrolment": ServiceProcess("enrolment", env).start(),
        "matching": ServiceProcess("matching", env).start(),
        "notifications": notifications.start(),
    }
    yield running
    assert [s.stop() for s in running.values()] == [0, 0, 0], "every service stops cleanly on SIGTERM"


CHANNELS = ("webhook", "slack", "teams", "email")  # participants choose by their order, round robin
PATHS = {"webhook": "/hook", "slack": "/slack", "teams": "/teams"}


def test_introductions_reach_each_chosen_channel_once_signed_retried_with_the_same_key_and_unsubscribes_hold(
    services, smtp, receiver, dsn
):
    inbox, _ = smtp
    received, base = receiver
    urls = {name: service.url for name, service in services.items()}
    links = UnsubscribeLinks(DEV_UNSUBSCRIBE_KEY, urls["notifications"])
    sent = lifecycle.Sent()
    with httpx.Client(timeout=30) as http:
        lifecycle.launch(http, urls, sent)
        lifecycle.enrol(http, urls, sent, seed=23, id_prefix="W")
        program_id = sent.program["program_id"]
        body = {"webhook_url": f"{base}/hook", "slack_url": f"{base}/slack", "teams_url": f"{base}/teams"}
        channels_url = f"{urls['notifications']}/programs/{program_id}/channels"
        answer = eventually(
            lambda: (r := http.put(channels_url, json=body, headers=lifecycle.ADMIN)).status_code == 200 and r,
            60,
            "notifications to know the program and take its channels",
        )
        secret = answer.json()["webhook_secret"]
        assert secret and f"{base}/hook" not in answer.text  # the URLs come back masked

        # Each active person picks a channel; every second e-mail person unsubscribes with their e-mail's link.
        active = sorted(set(sent.people) - sent.withdrawn)
        choice = {p: CHANNELS[i % len(CHANNELS)] for i, p in enumerate(active)}
        unsubscribed = {p for i, p in enumerate(active) if i % (2 * len(CHANNELS)) == len(CHANNELS) - 1}
        for person in active:
            if choice[person] != "email":
                wanted = {"channel": choice[person]}
                put = http.put(
                    f"{urls['notifications']}/me/preferences", json=wanted, headers=token("participant", person)
                )
                assert put.status_code == 200, put.text
        for person in unsubscribed:
            one_click = http.post(links.url(person), data={"List-Unsubscribe": "One-Click"})
            assert one_click.status_code == 200 and "Unsubscribed" in one_click.text

        pool = f"{urls['matching']}/programs/{program_id}/pool"
        eventually(
            lambda: (lifecycle.get(http, pool) or {}).get("active") == len(active),
            60,
            "matching's pool to hold everyone",
        )
        response = http.post(f"{urls['matching']}/programs/{program_id}/rounds", headers=lifecycle.ADMIN)
        assert response.status_code == 201, response.text
        pairs = response.json()["pairs"]
    memberships = [(p["pair_id"], m) for p in pairs for m in (p["mentor_id"], p["mentee_id"])]
    expected = {c: sorted(m for _, m in memberships if choice[m] == c and m not in unsubscribed) for c in CHANNELS}
    silenced = [m for _, m in memberships if m in unsubscribed]
    assert all(expected.values()) and silenced, "the round pairs people of every choice"

    # Each chat introduction reaches its path once per notification id (the Idempotency-Key).
    def arrived() -> bool:
        return all(len(received.accepted(PATHS[c])) >= len(expected[c]) for c in PATHS)

    eventually(arrived, 90, "every chat introduction at the receiver")
    eventually(lambda: inbox.count() >= len(expected["email"]), 60, "every e-mail introduction")
    for channel, path in PATHS.items():
        keys = [r.headers["idempotency-key"] for r in received.accepted(path)]
        assert len(keys) == len(set(keys)) == len(expected[channel]), channel

    # The generic webhook: each post verifies with docs/webhooks.md's scheme and names its person.
    hooks = received.accepted("/hook")
    for post in hooks:
        assert verify_as_documented(secret, post)
        payload = json.loads(post.body)
        person = sent.people[payload["participant_id"]]
        assert payload["notification_id"] == post.headers["idempotency-key"]
        assert (payload["rule"], payload["audience"], payload["program_id"]) == (
            "introduction",
            "participant",
            program_id,
        )
        assert payload["recipient"] == {"name": person.display_name, "email": person.email}
    assert sorted(json.loads(p.body)["participant_id"] for p in hooks) == expected["webhook"]
    tampered = hooks[0].body.replace(b'"introduction"', b'"completion"')
    assert not verify_as_documented(secret, Received("/hook", hooks[0].headers, tampered, 200, hooks[0].at))
    for post in received.accepted("/slack"):
        assert json.loads(post.body)["text"].startswith("For ")

    # The receiver's 500 was a failed attempt, retried with the same Idempotency-Key and then accepted.
    (first,) = received.refused()
    assert first.path == "/hook" and first.headers["idempotency-key"] in {h.headers["idempotency-key"] for h in hooks}

    # E-mail: exactly the e-mail people who did not unsubscribe, each with the one-click headers.
    by_address = {sent.people[m].email: m for m in active}
    mailed = sorted(by_address[rcpts[0]] for rcpts, _ in inbox.messages if rcpts[0] in by_address)
    assert mailed == expected["email"]
    for rcpts, content in inbox.messages:
        message = message_from_bytes(content, policy=policy.default)
        assert message["List-Unsubscribe"] == f"<{links.url(by_address[rcpts[0]])}>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # Recorded: the silenced introductions as suppressed, everything else sent, nothing dead.
    statuses = asyncio.run(notification_counts(dsn, program_id))
    assert statuses == {"sent": len(memberships) - len(silenced), "suppressed": len(silenced)}, statuses

    # The link in a received e-mail, POSTed as a mail client's one-click button does, unsubscribes that person.
    rcpts, content = inbox.messages[0]
    link = message_from_bytes(content, policy=policy.default)["List-Unsubscribe"].strip("<>")
    for _ in range(2):  # idempotent
        assert httpx.post(link, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert asyncio.run(is_unsubscribed(dsn, by_address[rcpts[0]]))
    forged = UnsubscribeLinks("forged-" + "x" * 40, urls["notifications"]).url(by_address[rcpts[0]])
    assert httpx.post(forged, data={"List-Unsubscribe": "One-Click"}).status_code == 403


def verify_as_documented(secret: str, post: Received) -> bool:
    """docs/webhooks.md's snippet, as a receiver would copy it (with the receipt time as its clock)."""
    timestamp, signature = post.headers["tandem-timestamp"], post.headers["tandem-signature"]
    if abs(post.at - int(timestamp)) > 300:
        return False
    expected = "v1=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + post.body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, s.strip()) for s in signature.split(","))


async def is_unsubscribed(dsn: str, participant_id: str) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        return bool(
            await conn.fetchval(
                "SELECT unsubscribed FROM notifications.preferences WHERE participant_id = $1", participant_id
            )
        )
    finally:
        await conn.close()
