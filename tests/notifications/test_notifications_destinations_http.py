"""Notifications' destinations and preferences over HTTP, in-process on the in-memory unit of work: a program's
admins set its channels (URLs validated, shown masked, the webhook secret shown once, an event without URLs);
a participant sets their own preferences; the unsubscribe link works without signing in and refuses a forged
token without saying why."""

from __future__ import annotations

import httpx
import pytest

from services.notifications import bootstrap
from services.notifications.adapters.unsubscribe import UnsubscribeLinks
from services.notifications.entrypoints import http, unsubscribe
from services.notifications.service_layer.unit_of_work import InMemoryNotificationsUnitOfWork
from shared.auth import AuthSettings, ProgramStaff, issue_token
from shared.contacts import ContactDetails
from shared.events import NotificationPreferencesChanged, ProgramChannelsChanged
from shared.program_staff import InMemoryProgramStaff
from shared.pseudonyms import legacy_pseudonym, pseudonym
from tests.support.services import token

LINKS = UnsubscribeLinks("u" * 40, "https://tandem.test/notifications/v1")
ADMIN = token("program_admin")  # no group: administers a program that names no admin group
SLACK = "https://hooks.slack.test/services/T0/B0/secretpart"


@pytest.fixture
async def world():
    uow = InMemoryNotificationsUnitOfWork()
    app = bootstrap.build()
    app.dependency_overrides[http.unit_of_work] = lambda: InMemoryNotificationsUnitOfWork(uow.state, uow.store)
    staff = InMemoryProgramStaff({"prog-1": ProgramStaff.of()})
    app.dependency_overrides[http.staff] = lambda: staff
    app.dependency_overrides[unsubscribe.links] = lambda: LINKS
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://n{bootstrap.SPEC.prefix}") as client:
        yield client, uow


async def events(uow, event_type):
    return [event_type.model_validate(s.data) for s in await uow.store.read_after(0) if s.type == event_type.type_name]


async def test_admins_set_channels_see_them_masked_and_the_webhook_secret_once(world):
    client, uow = world
    body = {"admin_emails": ["hr@example.com"], "slack_url": SLACK, "webhook_url": "http://127.0.0.1:9/hook"}
    answer = await client.put("/programs/prog-1/channels", json=body, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    view = answer.json()
    secret = view["webhook_secret"]
    assert secret and view["webhook_secret_set"] and "secretpart" not in answer.text
    assert view["slack_url"] == "https://hooks.slack.test/…part" and view["admin_emails"] == ["hr@example.com"]
    again = (await client.get("/programs/prog-1/channels", headers=ADMIN)).json()
    assert again["webhook_secret"] is None and again["webhook_secret_set"] and secret not in str(again)
    assert uow.state.channels["prog-1"].webhook_secret == secret and uow.state.channels["prog-1"].slack_url == SLACK
    rotated = await client.put("/programs/prog-1/channels", json={**body, "rotate_webhook_secret": True}, headers=ADMIN)
    assert rotated.json()["webhook_secret"] not in (None, secret)
    (first, second) = await events(uow, ProgramChannelsChanged)
    assert first.configured == ["email", "slack", "webhook"] and first.admin_mailbox_count == 1
    assert second.webhook_secret_rotated
    stored = str([s.data for s in await uow.store.read_after(0)])
    assert "hooks.slack" not in stored and "127.0.0.1" not in stored and "hr@example.com" not in stored


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("slack_url", "http://hooks.slack.test/x"),
        ("teams_url", "ftp://teams.test/x"),
        ("webhook_url", "https://u:p@h.io/"),
    ],
)
async def test_a_bad_url_is_a_422_naming_its_field(world, field, url):
    client, _ = world
    answer = await client.put("/programs/prog-1/channels", json={field: url}, headers=ADMIN)
    assert answer.status_code == 422 and field in answer.text


async def test_only_the_programs_admins_set_its_channels(world):
    client, _ = world
    assert (await client.put("/programs/prog-1/channels", json={}, headers=token("auditor"))).status_code == 403
    assert (await client.get("/programs/prog-1/channels", headers=token("participant"))).status_code == 403
    assert (await client.get("/programs/prog-9/channels", headers=ADMIN)).status_code == 404
    too_many = {"admin_emails": [f"a{i}@example.com" for i in range(21)]}
    answer = await client.put("/programs/prog-1/channels", json=too_many, headers=ADMIN)
    assert answer.status_code == 422 and "admin_emails" in answer.text


async def test_a_participant_sets_their_own_preferences_and_each_change_is_one_event(world):
    client, uow = world
    me = token("participant", "p-ada")
    assert (await client.get("/me/preferences", headers=me)).json() == {
        "participant_id": "p-ada",
        "channel": "email",
        "delivery": "immediate",
        "quiet_hours_start": None,
        "quiet_hours_end": None,
        "unsubscribed": False,
    }
    wanted = {"channel": "slack", "delivery": "daily-digest", "quiet_hours_start": "22:00", "quiet_hours_end": "07:00"}
    answer = await client.put("/me/preferences", json=wanted, headers=me)
    assert answer.status_code == 200 and answer.json()["quiet_hours_start"] == "22:00:00"
    await client.put("/me/preferences", json=wanted, headers=me)  # the same again: no second event
    (changed,) = await events(uow, NotificationPreferencesChanged)
    assert (changed.participant_id, changed.channel, changed.delivery, changed.via) == (
        "p-ada",
        "slack",
        "daily-digest",
        "preferences",
    )
    half = await client.put("/me/preferences", json={"quiet_hours_start": "22:00"}, headers=me)
    assert half.status_code == 422 and "quiet_hours_end" in half.text
    bad = await client.put("/me/preferences", json={"channel": "pigeon"}, headers=me)
    assert bad.status_code == 422 and "channel" in bad.text
    assert (await client.get("/me/preferences", headers=token("auditor"))).status_code == 403


async def test_the_unsubscribe_link_works_without_signing_in_and_once(world):
    client, uow = world
    link = LINKS.url("p-ada").removeprefix(LINKS.public_url)
    page = await client.get(link)
    assert page.status_code == 200 and '<form method="post"' in page.text and "p-ada" not in page.text
    assert "p-ada" not in uow.state.preferences  # a GET (a link scanner) changes nothing
    for _ in range(2):
        done = await client.post(link, data={"List-Unsubscribe": "One-Click"})
        assert done.status_code == 200 and "Unsubscribed" in done.text
    assert uow.state.preferences["p-ada"].unsubscribed
    (changed,) = await events(uow, NotificationPreferencesChanged)
    assert changed.unsubscribed and changed.via == "unsubscribe-link"


async def test_a_forged_or_missing_unsubscribe_token_is_refused_without_detail(world):
    client, uow = world
    forged = UnsubscribeLinks("x" * 40, LINKS.public_url).token("p-ada")
    for method in ("GET", "POST"):
        answer = await client.request(method, "/unsubscribe", params={"token": forged})
        assert answer.status_code == 403 and "p-ada" not in answer.text and "signature" not in answer.text.lower()
        assert (await client.request(method, "/unsubscribe")).status_code == 422
    assert uow.state.preferences == {}


async def test_a_signed_in_person_sets_preferences_per_program_under_its_id_there(world):
    """ADR 0011: preferences belong to a participant id, one per program launched since; one change is one event
    under one id, so nothing links the person's programs."""
    client, uow = world
    me = {"Authorization": f"Bearer {issue_token('person', ['participant'], employee_id='E1')}"}
    key = AuthSettings().pseudonym_key  # the one the app recognises callers with
    in_new, legacy = pseudonym(key, "prog-new", "E1"), legacy_pseudonym(key, "E1")
    # Enrolment sent contact details for the person's id in the new program: they are enrolled there under it.
    uow.state.contacts[in_new] = ContactDetails(participant_id=in_new, display_name="Ada", email="ada@example.com")
    digest = await client.put("/me/preferences?program_id=prog-new", json={"delivery": "daily-digest"}, headers=me)
    assert digest.status_code == 200 and digest.json()["participant_id"] == in_new
    # A program it is not enrolled in under a per-program id (an old one): its legacy id, as before.
    old = await client.put("/me/preferences?program_id=prog-old", json={"channel": "slack"}, headers=me)
    assert old.json()["participant_id"] == legacy
    assert (await client.get("/me/preferences", headers=me)).json()["channel"] == "slack"  # no program: legacy
    assert (await client.get("/me/preferences?program_id=prog-new", headers=me)).json()["channel"] == "email"
    changes = await events(uow, NotificationPreferencesChanged)
    assert [c.participant_id for c in changes] == [in_new, legacy]
