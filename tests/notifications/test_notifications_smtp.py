"""Against real servers (issue #17): enrolment, matching and notifications as processes, Kafka, PostgreSQL, and a
real SMTP server (aiosmtpd) started here. A round produces exactly one introduction per member, each with a valid
iCalendar part, from contact details that travelled over the compacted contacts topic; the same PairFormed
delivered again produces no second notification and no second e-mail."""

from __future__ import annotations

import asyncio
from email import message_from_bytes, policy

import asyncpg
import httpx
import icalendar
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tests.e2e import lifecycle
from tests.notifications.support import notification_counts, running_with_notifications
from tests.support.personal_data import tables_containing
from tests.support.services import eventually
from tests.support.smtp import Inbox, serving


@pytest.fixture(scope="module")
def smtp():
    inbox = Inbox()
    with serving(inbox) as port:
        yield inbox, port


@pytest.fixture(scope="module")
def services(infra, dsn, kafka, child_env_module, smtp):
    _, port = smtp
    yield from running_with_notifications(
        child_env_module, TANDEM_SMTP_PORT=str(port), TANDEM_SCHEDULE_INTERVAL_S="0.5"
    )


def test_a_round_introduces_each_member_once_and_a_redelivered_pair_formed_sends_nothing(services, smtp, dsn, kafka):
    inbox, _ = smtp
    urls = {name: service.url for name, service in services.items()}
    sent = lifecycle.Sent()
    with httpx.Client(timeout=30) as http:
        lifecycle.launch(http, urls, sent)
        lifecycle.enrol(http, urls, sent, seed=17, id_prefix="N")
        program_id = sent.program["program_id"]
        pool = f"{urls['matching']}/programs/{program_id}/pool"
        active = len(sent.people) - len(sent.withdrawn)
        eventually(
            lambda: (lifecycle.get(http, pool) or {}).get("active") == active, 60, "matching's pool to hold everyone"
        )
        response = http.post(f"{urls['matching']}/programs/{program_id}/rounds", headers=lifecycle.ADMIN)
        assert response.status_code == 201, response.text
        sent.pairs = response.json()["pairs"]
        assert len(sent.pairs) >= 5
    # One introduction per member of each pair (a mentor with capacity 2 is in two pairs: two introductions).
    memberships = sorted((p["pair_id"], m) for p in sent.pairs for m in (p["mentor_id"], p["mentee_id"]))
    eventually(lambda: inbox.count() >= len(memberships), 90, "one introduction per member of each pair")
    by_address = {sent.people[m].email: m for _, m in memberships}
    introduced, message_ids = [], set()
    for rcpts, content in inbox.messages:
        message = message_from_bytes(content, policy=policy.default)
        calendar_part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
        calendar = icalendar.Calendar.from_ical(calendar_part.get_content())
        event = next(iter(calendar.walk("VEVENT")))
        pair = next(p for p in sent.pairs if event["UID"] == f"pair-{p['pair_id']}@tandem.local")
        member = by_address[rcpts[0]]
        assert rcpts == [sent.people[member].email]
        partner = pair["mentee_id"] if member == pair["mentor_id"] else pair["mentor_id"]
        assert message["Subject"] == f"Meet your Tandem partner, {sent.people[partner].display_name}"
        assert dict(event["RRULE"]) == {"FREQ": ["WEEKLY"], "INTERVAL": [2], "COUNT": [6]}  # 14 days, 12 weeks
        assert sorted(str(a) for a in event.get("ATTENDEE")) == sorted(
            f"mailto:{sent.people[m].email}" for m in (member, partner)
        )
        introduced.append((pair["pair_id"], member))
        message_ids.add(message["Message-ID"])
    assert sorted(introduced) == memberships  # each member of each pair exactly once
    assert len(message_ids) == len(memberships)

    # The same PairFormed record, delivered again: recorded nothing new, sent nothing new.
    before = inbox.count()
    applied_up_to = asyncio.run(redeliver_a_pair_formed(kafka))
    asyncio.run(wait_until_applied(dsn, f"{kafka.topic_prefix}.matching.events", applied_up_to))
    # Recorded in the transaction that applied the record: nothing pending, so nothing more can ever be sent.
    counts = asyncio.run(notification_counts(dsn, program_id))
    assert counts == {"sent": len(memberships)}, counts
    assert inbox.count() == before

    # Erasure: enrolment's tombstone removes the person's contact details from notifications' table too.
    erased = memberships[0][1]
    url = f"{urls['enrolment']}/programs/{sent.program['program_id']}/participants/{erased}/erase"
    assert httpx.post(url, headers=lifecycle.ADMIN).status_code == 200
    email = sent.people[erased].email
    eventually(lambda: asyncio.run(tables_containing(dsn, email)) == [], 30, "the tombstone to reach notifications")
    kept = asyncio.run(contacts_kept(dsn))
    mine = kept & set(sent.people)  # the run's other tests enrol people too
    assert erased not in kept and len(mine) == len(sent.people) - 1


async def redeliver_a_pair_formed(kafka) -> int:
    """Copy the first PairFormed record of matching's topic, headers and all, to the topic again (a relay that
    resent after a crash does exactly this); return the topic partition's end offset after it."""
    topic = f"{kafka.topic_prefix}.matching.events"
    consumer = AIOKafkaConsumer(topic, **kafka.client_options(), auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    try:
        while True:
            record = await asyncio.wait_for(consumer.getone(), 30)
            headers = dict(record.headers)
            if headers.get("ce_type", b"").decode().startswith("tandem.matching.pair-formed"):
                break
    finally:
        await consumer.stop()
    producer = AIOKafkaProducer(**kafka.client_options())
    await producer.start()
    try:
        metadata = await producer.send_and_wait(
            topic, value=record.value, key=record.key, headers=list(record.headers), partition=record.partition
        )
    finally:
        await producer.stop()
    return metadata.offset + 1


async def wait_until_applied(dsn: str, topic: str, next_offset: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for _ in range(300):
            done = await conn.fetchval(
                "SELECT max(next_offset) FROM notifications.projection_offsets WHERE projection = 'directory'"
                " AND topic = $1",
                topic,
            )
            if done is not None and done >= next_offset:
                return
            await asyncio.sleep(0.2)
        raise AssertionError("notifications never applied the redelivered record")
    finally:
        await conn.close()


async def contacts_kept(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return {r["participant_id"] for r in await conn.fetch("SELECT participant_id FROM notifications.contacts")}
    finally:
        await conn.close()
