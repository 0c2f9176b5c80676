"""The outbox as program admins steer it (no servers): each pair's last notification per member, a dead letter
re-queued by an admin of the program (409 unless dead, NotificationRequeued of ids only), and who may do what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.notifications import bootstrap
from services.notifications.adapters.delivery import EmailDelivery
from services.notifications.adapters.messages import Sender
from services.notifications.entrypoints import http, outbox_http
from services.notifications.service_layer import handlers
from services.notifications.service_layer.unit_of_work import InMemoryNotificationsUnitOfWork
from shared.auth import ProgramStaff, issue_token
from shared.clock import Clock
from shared.contacts import ContactDetails
from shared.events import NotificationRequeued, PairFormed
from shared.program_staff import InMemoryProgramStaff
from tests.notifications.test_notifications_rules import MENTEE, MENTOR, PROGRAM, RecordingMailer, published
from tests.support.services import token

NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)
RETRIES = handlers.Retries(max_attempts=2, retry_after=timedelta(minutes=1))
ADMIN = {"Authorization": f"Bearer {issue_token('hr.admin', ['program_admin'], groups=['hr-emea'])}"}


def pair(pair_id: str, mentor: str, mentee: str) -> PairFormed:
    return PairFormed(
        program_id="prog-1",
        pair_id=pair_id,
        round_id="r-1",
        mentor_id=mentor,
        mentee_id=mentee,
        score=1.0,
        breakdown={"skills_to_mentee": 1.0},
    )


@pytest.fixture
async def world():
    """Two pairs introduced; pair-1's introductions delivered, pair-2's dead-lettered (its mentee's mail failed)."""
    uow = InMemoryNotificationsUnitOfWork()
    uow.state.programs[PROGRAM.program_id] = PROGRAM
    for person in (MENTOR, MENTEE, ContactDetails(participant_id="p-3", display_name="Cy", email="cy@example.com")):
        uow.state.contacts[person.participant_id] = person
    await handlers.introduce(uow, pair("pair-1", "p-mentor", "p-mentee"), "event-1", NOW)
    delivery = EmailDelivery(RecordingMailer(), Sender("Tandem <t@tandem.test>", "tandem.test"))
    assert await handlers.send_due(uow, delivery, NOW, RETRIES, 10) == 2
    await handlers.introduce(uow, pair("pair-2", "p-3", "p-unknown"), "event-2", NOW)  # no contact: fails
    for minutes in (0, 5):
        await handlers.send_due(uow, delivery, NOW + timedelta(minutes=minutes), RETRIES, 10)
    return uow


@pytest.fixture
async def client(world):
    app = bootstrap.build()
    app.dependency_overrides[http.unit_of_work] = lambda: InMemoryNotificationsUnitOfWork(world.state, world.store)
    staff = InMemoryProgramStaff({"prog-1": ProgramStaff.of(admin_groups=["hr-emea"])})
    app.dependency_overrides[http.staff] = lambda: staff
    app.dependency_overrides[outbox_http.clock] = lambda: Clock(NOW + timedelta(hours=1) - datetime.now(UTC))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://n{bootstrap.SPEC.prefix}") as client:
        yield client


async def test_each_pair_shows_the_last_notification_to_each_member_and_its_outcome(client):
    answer = await client.get("/programs/prog-1/pairs/last-notifications", headers=token("auditor"))
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["total"] == 2 and [p["pair_id"] for p in page["items"]] == ["pair-1", "pair-2"]
    outcomes = {
        (p["pair_id"], m["participant_id"]): (m["rule"], m["status"], m["attempts"], m["last_error"])
        for p in page["items"]
        for m in p["members"]
    }
    assert outcomes == {
        ("pair-1", "p-mentee"): ("introduction", "sent", 1, None),
        ("pair-1", "p-mentor"): ("introduction", "sent", 1, None),
        ("pair-2", "p-3"): ("introduction", "dead", 2, "NotYetDeliverable"),
        ("pair-2", "p-unknown"): ("introduction", "dead", 2, "NotYetDeliverable"),
    }
    assert "example.com" not in answer.text and "Ada" not in answer.text
    second = await client.get("/programs/prog-1/pairs/last-notifications?page=2&page_size=1", headers=token("auditor"))
    assert [p["pair_id"] for p in second.json()["items"]] == ["pair-2"] and second.json()["total"] == 2


async def test_an_admin_requeues_a_dead_letter_once_and_it_goes_out_after_its_cause_is_fixed(client, world):
    dead = next(n for n in world.state.notifications.values() if n.participant_id == "p-unknown")
    url = f"/programs/prog-1/notifications/{dead.notification_id}/retry"
    answer = await client.post(url, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["attempts"]) == ("pending", 0)
    assert answer.json()["next_attempt_at"].startswith("2026-11-02T10:00")
    again = await client.post(url, headers=ADMIN)
    assert again.status_code == 409 and "pending" in again.text
    [event] = await published(world, NotificationRequeued)
    assert (event.notification_id, event.attempts_spent, event.participant_id) == (dead.notification_id, 2, "p-unknown")
    assert "example.com" not in event.model_dump_json()
    # The cause fixed (the contact arrived): the re-queued letter goes out, under its one id.
    world.state.contacts["p-unknown"] = ContactDetails(participant_id="p-unknown", display_name="Di", email="d@x.io")
    mailer = RecordingMailer()
    delivery = EmailDelivery(mailer, Sender("Tandem <t@tandem.test>", "tandem.test"))
    await handlers.send_due(world, delivery, NOW + timedelta(hours=2), RETRIES, 10)
    assert [m["X-Tandem-Notification-Id"] for m in mailer.sent] == [dead.notification_id]
    assert world.state.notifications[dead.notification_id].status == "sent"


async def test_only_a_dead_letter_can_be_requeued_and_only_by_an_admin_of_the_program(client, world):
    sent = next(n for n in world.state.notifications.values() if n.status == "sent")
    url = f"/programs/prog-1/notifications/{sent.notification_id}/retry"
    refused = await client.post(url, headers=ADMIN)
    assert refused.status_code == 409 and "sent" in refused.text
    dead = next(n for n in world.state.notifications.values() if n.status == "dead")
    url = f"/programs/prog-1/notifications/{dead.notification_id}/retry"
    assert (await client.post(url, headers=token("auditor"))).status_code == 403
    assert (await client.post(url, headers=token("program_admin"))).status_code == 403  # not in the groups
    missing = await client.post("/programs/prog-1/notifications/0000/retry", headers=ADMIN)
    assert missing.status_code == 404
    other = await client.post(f"/programs/prog-9/notifications/{dead.notification_id}/retry", headers=ADMIN)
    assert other.status_code == 404
    too_big = await client.get("/programs/prog-1/pairs/last-notifications?page_size=501", headers=ADMIN)
    assert too_big.status_code == 422 and "page_size" in too_big.text
