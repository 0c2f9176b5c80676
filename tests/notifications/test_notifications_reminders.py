"""Against real servers (issue #17): enrolment, matching and notifications as processes, Kafka, PostgreSQL and a
real SMTP server (aiosmtpd). A round forms pairs; the program's notification settings (changed by its PATCH) reach
notifications; moving notifications' clock past the cadence produces exactly one session-due reminder per member
of each pair, and further past the at-risk threshold one nudge per member, then, the escalation delay later,
exactly one escalation per pair to the admins' mailbox. Nothing sleeps for a cadence: the clock is moved."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from email import message_from_bytes, policy

import asyncpg
import httpx
import pytest

from tests.e2e import lifecycle
from tests.notifications.support import running_with_notifications
from tests.support.services import eventually
from tests.support.smtp import serving

ADMIN_MAILBOX = "mentoring-admins@tandem.test"
DAY = 86400
ESCALATION_DAYS = 3


class Inbox:
    """aiosmtpd's handler: every message accepted, as (envelope recipients, subject, body text, notification id)."""

    def __init__(self):
        self.messages: list[tuple[list[str], str, str, str]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        text = message.get_body(("plain",)).get_content()
        with self.lock:
            self.messages.append(
                (list(envelope.rcpt_tos), str(message["Subject"]), text, str(message["X-Tandem-Notification-Id"]))
            )
        return "250 Message accepted for delivery"

    def with_subject(self, start: str, about: set[str] | None = None) -> list[tuple[list[str], str, str, str]]:
        """Messages whose subject starts so; with `about`, those to one of these addresses or naming one of these
        pairs (the run's database and topics are shared: another module's program may be scanned here too)."""
        with self.lock:
            found = [m for m in self.messages if m[1].startswith(start)]
        return found if about is None else [m for m in found if set(m[0]) & about or any(a in m[2] for a in about)]


@pytest.fixture(scope="module")
def smtp():
    inbox = Inbox()
    with serving(inbox) as port:
        yield inbox, port


@pytest.fixture(scope="module")
def services(infra, dsn, kafka, child_env_module, smtp):
    _, port = smtp
    yield from running_with_notifications(
        child_env_module,
        TANDEM_SMTP_PORT=str(port),
        TANDEM_SCHEDULE_INTERVAL_S="0.5",
        TANDEM_ADMIN_MAILBOX=ADMIN_MAILBOX,
    )


def test_the_clock_past_the_cadence_reminds_each_member_once_then_nudges_and_escalates_once(services, smtp, dsn):
    inbox, _ = smtp
    urls = {name: service.url for name, service in services.items()}
    sent = lifecycle.Sent()
    with httpx.Client(timeout=30) as http:
        lifecycle.launch(http, urls, sent)  # cadence 14 days
        program_id = sent.program["program_id"]
        # Rules this test is not about are turned off; the escalation comes 3 days after the nudge.
        rules = {
            "agreement_reminder": {"enabled": False},
            "admin_digest": {"enabled": False},
            "at_risk_escalation": {"after_days": ESCALATION_DAYS},
        }
        response = http.patch(
            f"{urls['enrolment']}/programs/{program_id}", json={"notifications": rules}, headers=lifecycle.ADMIN
        )
        assert response.status_code == 200, response.text
        lifecycle.enrol(http, urls, sent, seed=23, id_prefix="R")
        pool = f"{urls['matching']}/programs/{program_id}/pool"
        active = len(sent.people) - len(sent.withdrawn)
        eventually(
            lambda: (lifecycle.get(http, pool) or {}).get("active") == active, 60, "matching's pool to hold everyone"
        )
        response = http.post(f"{urls['matching']}/programs/{program_id}/rounds", headers=lifecycle.ADMIN)
        assert response.status_code == 201, response.text
        sent.pairs = response.json()["pairs"]
        assert len(sent.pairs) >= 5
        memberships = Counter(m for p in sent.pairs for m in (p["mentor_id"], p["mentee_id"]))
        address = {m: sent.people[m].email for m in memberships}
        expected = Counter({address[m]: n for m, n in memberships.items()})  # a mentor of two pairs: two
        mine = set(address.values()) | {p["pair_id"] for p in sent.pairs}
        eventually(
            lambda: len(inbox.with_subject("Meet your Tandem partner", mine)) == sum(expected.values()),
            90,
            "one introduction per member of each pair",
        )
        # The settings changed by the PATCH are what notifications now counts from (settings_version 2).
        eventually(lambda: asyncio.run(settings_version(dsn, program_id)) == 2, 30, "the settings to reach it")

        def advance(days: float) -> dict:
            moved = http.post(
                f"{urls['notifications']}/dev/clock", json={"seconds": days * DAY}, headers=lifecycle.ADMIN
            )
            assert moved.status_code == 200, moved.text
            return moved.json()

        # Past the cadence (14 days), not yet at risk (more than 21): one session-due reminder per membership.
        advance(14.05)
        eventually(lambda: recipients(inbox, "A session with", mine) == expected, 60, "one session-due per membership")
        assert recipients(inbox, "Time for a session", mine) == Counter()
        # Past the at-risk threshold: one nudge per membership, no second session-due, no escalation yet.
        advance(8)
        eventually(lambda: recipients(inbox, "Time for a session", mine) == expected, 60, "one nudge per membership")
        assert recipients(inbox, "A session with", mine) == expected
        assert inbox.with_subject("A pair in", mine) == []
        # The escalation delay later: exactly one escalation per pair, to the admins' mailbox, naming no one.
        advance(ESCALATION_DAYS + 0.05)
        eventually(lambda: len(inbox.with_subject("A pair in", mine)) == len(sent.pairs), 60, "one escalation per pair")
        escalations = inbox.with_subject("A pair in", mine)
        assert {tuple(rcpts) for rcpts, *_ in escalations} == {(ADMIN_MAILBOX,)}
        assert sorted(p["pair_id"] for p in sent.pairs) == sorted(
            next(p["pair_id"] for p in sent.pairs if f"Pair {p['pair_id']} " in text) for _, _, text, _ in escalations
        )
        names = {sent.people[m].display_name for m in memberships} | set(address.values())
        assert not any(name in text for _, _, text, _ in escalations for name in names)
        # Much later, nothing more for the same causes.
        before = len(inbox.with_subject("", mine))
        advance(10)
        advance(30)
        assert len(inbox.with_subject("", mine)) == before
        ids = [notification_id for *_, notification_id in inbox.messages]
        assert len(ids) == len(set(ids))  # no notification was delivered twice

    recorded = {
        "introduction": sum(expected.values()),
        "session-due": sum(expected.values()),
        "at-risk-nudge": sum(expected.values()),
        "at-risk-escalation": len(sent.pairs),
    }
    # Each recorded once, and all sent (the last outcomes commit just after the server accepted them).
    eventually(lambda: asyncio.run(rule_counts(dsn, program_id)) == recorded, 30, "every notification sent once")


def recipients(inbox: Inbox, subject: str, about: set[str]) -> Counter:
    return Counter(rcpt for rcpts, *_ in inbox.with_subject(subject, about) for rcpt in rcpts if rcpt in about)


async def settings_version(dsn: str, program_id: str) -> int | None:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(
            "SELECT settings_version FROM notifications.programs WHERE program_id = $1", program_id
        )
    finally:
        await conn.close()


async def rule_counts(dsn: str, program_id: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT rule, count(*) FILTER (WHERE status = 'sent') AS n FROM notifications.notifications"
            " WHERE program_id = $1 GROUP BY rule",
            program_id,
        )
        return {r["rule"]: r["n"] for r in rows}
    finally:
        await conn.close()
