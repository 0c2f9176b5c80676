"""Notifications' HTTP API in-process over the in-memory unit of work (no lifespan: no database, no broker): the
people who oversee a program see its notifications and their delivery, ids only; others get 403, an unknown
program 404."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from services.notifications import bootstrap
from services.notifications.entrypoints import http
from services.notifications.service_layer import handlers
from services.notifications.service_layer.unit_of_work import InMemoryNotificationsUnitOfWork
from shared.auth import ProgramStaff
from shared.contacts import ContactDetails
from shared.events import PairFormed
from shared.program_staff import InMemoryProgramStaff
from tests.support.services import token

NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)
PAIR = PairFormed(
    program_id="prog-1",
    pair_id="pair-1",
    round_id="r-1",
    mentor_id="p-mentor",
    mentee_id="p-mentee",
    score=1.0,
    breakdown={"skills_to_mentee": 1.0},
)


@pytest.fixture
async def client():
    uow = InMemoryNotificationsUnitOfWork()
    uow.state.contacts["p-mentor"] = ContactDetails(participant_id="p-mentor", display_name="Ada", email="a@x.io")
    await handlers.introduce(uow, PAIR, "event-1", NOW)
    app = bootstrap.build()
    app.dependency_overrides[http.unit_of_work] = lambda: InMemoryNotificationsUnitOfWork(uow.state, uow.store)
    staff = InMemoryProgramStaff({"prog-1": ProgramStaff.of(admin_groups=["hr-emea"])})
    app.dependency_overrides[http.staff] = lambda: staff
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://n{bootstrap.SPEC.prefix}") as client:
        yield client


async def test_an_auditor_sees_the_programs_notifications_with_ids_and_delivery_only(client):
    answer = await client.get("/programs/prog-1/notifications", headers=token("auditor"))
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["total"] == 2 and {n["participant_id"] for n in page["items"]} == {"p-mentor", "p-mentee"}
    assert {(n["rule"], n["status"], n["attempts"], n["pair_id"]) for n in page["items"]} == {
        ("introduction", "pending", 0, "pair-1")
    }
    assert "a@x.io" not in answer.text and "Ada" not in answer.text
    one = page["items"][0]["notification_id"]
    single = await client.get(f"/programs/prog-1/notifications/{one}", headers=token("auditor"))
    assert single.json() == page["items"][0]


async def test_an_admin_outside_the_programs_groups_is_refused_and_unknowns_are_404(client):
    assert (await client.get("/programs/prog-1/notifications", headers=token("program_admin"))).status_code == 403
    assert (await client.get("/programs/prog-1/notifications", headers=token("participant"))).status_code == 403
    assert (await client.get("/programs/prog-9/notifications", headers=token("auditor"))).status_code == 404
    missing = await client.get("/programs/prog-1/notifications/0000", headers=token("auditor"))
    assert missing.status_code == 404


async def test_paging_is_bounded(client):
    too_big = await client.get("/programs/prog-1/notifications?page_size=501", headers=token("auditor"))
    assert too_big.status_code == 422 and "page_size" in too_big.text
