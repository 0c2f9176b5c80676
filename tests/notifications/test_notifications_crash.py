"""Against real servers (issue #17): the notifications process is SIGKILLed while a send is in flight (the SMTP
server has the whole message, the service has not heard "250" and so has not committed "sent"), then restarted.
The receiver counts distinct notification ids: exactly one per member of each pair; the interrupted one arrives
twice under the same Message-ID (the documented window, services/notifications/README.md); the `notifications`
table holds each id once, sent; and NotificationSent is in the event store exactly once per id. Then the admins'
view of the real process: each pair's last notification per member, and a dead letter re-queued and sent again
under its one id."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections import Counter
from email import message_from_bytes, policy

import asyncpg
import httpx
import pytest

from demo.organisation import organisation
from tests.e2e import lifecycle
from tests.support.services import ServiceProcess, eventually, service_env, signed_in
from tests.support.smtp import serving


class StallingInbox:
    """aiosmtpd's DATA handler: records every message to `recipients` it received, then, while armed, withholds its
    reply until released, so the sender is stuck between "the server has it" and "the server accepted it". Messages
    to anybody else (other tests' programs share the database and topics) are accepted and not recorded."""

    def __init__(self):
        self.recipients: set[str] = set()
        self.messages: list[bytes] = []
        self.lock = threading.Lock()
        self.armed = threading.Event()
        self.stalled = threading.Event()  # set once a message is held
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        if not {a.lower() for a in envelope.rcpt_tos} & self.recipients:
            return "250 Message accepted for delivery"
        with self.lock:
            self.messages.append(envelope.content)
        if self.armed.is_set():
            self.armed.clear()
            self.stalled.set()
            # Wait in a thread: the server's own loop stays free for the restarted service's connections.
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait)
        return "250 Message accepted for delivery"

    def ids(self) -> list[tuple[str, str]]:
        """(X-Tandem-Notification-Id, Message-ID) of every message received, in order."""
        with self.lock:
            received = list(self.messages)
        parsed = [message_from_bytes(m, policy=policy.default) for m in received]
        return [(str(m["X-Tandem-Notification-Id"]), str(m["Message-ID"])) for m in parsed]


@pytest.fixture
def smtp():
    inbox = StallingInbox()
    with serving(inbox) as port:
        yield inbox, port
        inbox.release.set()  # before the server stops: a held DATA would keep it from stopping


def test_a_sigkill_mid_send_then_a_restart_sends_each_notification_once_under_one_id(
    infra, dsn, kafka, child_env, smtp
):
    inbox, port = smtp
    env = service_env(child_env)
    # A long SMTP timeout: the client must still be waiting for the reply when it is killed.
    notifications_env = {
        **env,
        "TANDEM_SMTP_PORT": str(port),
        "TANDEM_SCHEDULE_INTERVAL_S": "0.5",
        "TANDEM_SMTP_TIMEOUT_S": "300",
    }
    enrolment = ServiceProcess("enrolment", env).start()
    matching = ServiceProcess("matching", env).start()
    notifications = ServiceProcess("notifications", notifications_env).start()
    restarted: ServiceProcess | None = None
    try:
        urls = {"enrolment": enrolment.url, "matching": matching.url}
        sent = lifecycle.Sent()
        with httpx.Client(timeout=30) as http:
            lifecycle.launch(http, urls, sent)
            lifecycle.enrol(http, urls, sent, seed=23, id_prefix="K")
            program_id = sent.program["program_id"]
            inbox.recipients = {person.email.lower() for person in sent.people.values()}
            inbox.armed.set()  # the first introduction to one of them is held in flight
            pool = f"{urls['matching']}/programs/{program_id}/pool"
            active = len(sent.people) - len(sent.withdrawn)
            eventually(
                lambda: (lifecycle.get(http, pool) or {}).get("active") == active,
                180,
                "matching's pool to hold everyone",
            )
            response = http.post(f"{urls['matching']}/programs/{program_id}/rounds", headers=lifecycle.ADMIN)
            assert response.status_code == 201, response.text
            pairs = response.json()["pairs"]
        memberships = [(p["pair_id"], m) for p in pairs for m in (p["mentor_id"], p["mentee_id"])]

        eventually(inbox.stalled.is_set, 90, "the first introduction to reach the SMTP server and be held")
        [(in_flight, in_flight_message_id)] = inbox.ids()
        assert asyncio.run(status_of(dsn, in_flight)) == ("pending", 0), "nothing is committed while it is in flight"
        # A send in flight holds no transaction open, so it holds back no relay of the database (ADR 0010): one
        # more enrolment reaches matching's pool while the SMTP server still withholds its reply.
        with httpx.Client(timeout=30) as http:
            [late] = organisation(1, seed=29, id_prefix="KL")
            enrolled = http.post(
                f"{urls['enrolment']}/programs/{program_id}/participants",
                json=late.enrolment(),
                headers=signed_in(late.employee_id),
            )
            assert enrolled.status_code == 201, enrolled.text
            eventually(
                lambda: (lifecycle.get(http, pool) or {}).get("active") == active + 1,
                60,
                "an enrolment made during the send to reach matching",
            )
        assert not inbox.release.is_set()
        assert notifications.stop(signal.SIGKILL) == -signal.SIGKILL
        inbox.release.set()  # the server's reply now goes to a dead connection

        restarted = ServiceProcess("notifications", notifications_env).start()
        eventually(
            lambda: len({i for i, _ in inbox.ids()}) >= len(memberships), 120, "every introduction after the restart"
        )
        everyone_sent = {"sent": len(memberships)}
        eventually(lambda: asyncio.run(statuses(dsn, program_id)) == everyone_sent, 60, "every notification sent")

        received = inbox.ids()
        per_id = Counter(i for i, _ in received)
        # Distinct ids at the receiver == notifications recorded == one per member of each pair.
        recorded = asyncio.run(recorded_ids(dsn, program_id))
        assert set(per_id) == recorded and len(recorded) == len(memberships)
        # The interrupted send was retried under the same identity; nothing else arrived twice.
        assert per_id[in_flight] == 2
        assert {m for i, m in received if i == in_flight} == {in_flight_message_id}
        assert [i for i, n in per_id.items() if n > 1] == [in_flight]
        assert sum(per_id.values()) == len(memberships) + 1
        # The killed attempt left no trace: the retry is the attempt that counts.
        assert asyncio.run(status_of(dsn, in_flight)) == ("sent", 1)
        # NotificationSent exactly once per notification, in the service's event store.
        events = asyncio.run(sent_events(dsn, program_id))
        assert Counter(events) == Counter({i: 1 for i in recorded}), events

        # Admins see it, from the restarted process: each pair's last notification to each member, and a dead
        # letter re-queued (made dead here by hand: a relay refusing it six times takes minutes of back-off).
        with httpx.Client(timeout=30, headers=lifecycle.ADMIN) as http:
            base = f"{restarted.url}/programs/{program_id}"
            notices = http.get(f"{base}/pairs/last-notifications", params={"page_size": 500}).json()
            assert notices["total"] == len(pairs)
            assert sorted(
                (p["pair_id"], m["participant_id"]) for p in notices["items"] for m in p["members"]
            ) == sorted(memberships)
            assert {(m["rule"], m["status"], m["attempts"]) for p in notices["items"] for m in p["members"]} == {
                ("introduction", "sent", 1)
            }
            assert http.post(f"{base}/notifications/{in_flight}/retry").status_code == 409  # sent: not dead
            asyncio.run(dead_letter(dsn, in_flight))
            requeued = http.post(f"{base}/notifications/{in_flight}/retry")
            assert requeued.status_code == 200, requeued.text
            assert requeued.json()["status"] == "pending"
            eventually(lambda: asyncio.run(status_of(dsn, in_flight)) == ("sent", 1), 30, "the re-queued send")
            assert [m for i, m in inbox.ids() if i == in_flight] == [in_flight_message_id] * 3
            assert asyncio.run(requeued_events(dsn)) == [in_flight]

            # The outbox by status on /metrics, as of the sender's last run: the whole table's counts (other tests'
            # programs share this database), so they are compared with the table, not with this program alone.
            def metrics_match_the_table() -> bool:
                counts = asyncio.run(statuses(dsn))
                text = httpx.get(f"{restarted.root}/metrics").text
                return all(f'tandem_notifications{{status="{s}"}} {float(counts.get(s, 0))}' in text for s in counts)

            eventually(metrics_match_the_table, 30, "the metrics to count the notifications by status")
            assert asyncio.run(statuses(dsn, program_id)) == {"sent": len(memberships)}
    finally:
        inbox.release.set()
        codes = [s.stop() for s in (restarted, matching, enrolment) if s is not None]
        notifications.stop(signal.SIGKILL)
    assert codes == [0, 0, 0], "the others stop cleanly on SIGTERM"


async def _fetch(dsn: str, query: str, *args) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


async def status_of(dsn: str, notification_id: str) -> tuple[str, int]:
    [row] = await _fetch(
        dsn,
        "SELECT status, attempts FROM notifications.notifications WHERE notification_id::text = $1",
        notification_id,
    )
    return row["status"], row["attempts"]


async def statuses(dsn: str, program_id: str | None = None) -> dict[str, int]:
    """Notifications by status: one program's, or (None) the whole table's."""
    rows = await _fetch(
        dsn,
        "SELECT status, count(*) AS n FROM notifications.notifications"
        " WHERE $1::text IS NULL OR program_id = $1 GROUP BY status",
        program_id,
    )
    return {r["status"]: r["n"] for r in rows}


async def recorded_ids(dsn: str, program_id: str) -> set[str]:
    rows = await _fetch(
        dsn, "SELECT notification_id::text AS id FROM notifications.notifications WHERE program_id = $1", program_id
    )
    assert len(rows) == len({r["id"] for r in rows})
    return {r["id"] for r in rows}


async def dead_letter(dsn: str, notification_id: str) -> None:
    await _fetch(
        dsn,
        "UPDATE notifications.notifications SET status = 'dead', attempts = 6, last_error = 'SMTPResponseException 550'"
        " WHERE notification_id::text = $1",
        notification_id,
    )


async def requeued_events(dsn: str) -> list[str]:
    rows = await _fetch(
        dsn,
        "SELECT data->>'notification_id' AS id FROM notifications.events WHERE type = $1",
        "tandem.notifications.notification-requeued.v1",
    )
    return [r["id"] for r in rows]


async def sent_events(dsn: str, program_id: str) -> list[str]:
    rows = await _fetch(
        dsn,
        "SELECT data->>'notification_id' AS id FROM notifications.events WHERE type = $1 AND data->>'notification_id'"
        " IN (SELECT notification_id::text FROM notifications.notifications WHERE program_id = $2)",
        "tandem.notifications.notification-sent.v1",
        program_id,
    )
    return [r["id"] for r in rows]
