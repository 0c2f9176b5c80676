"""A program's branding of its messages (issue #17): its admins set a name, an accent colour and a footer; every
message of the program carries them in both parts, escaped; a digest is branded once; an event says so."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from services.notifications import bootstrap
from services.notifications.adapters.digest import render_digest
from services.notifications.adapters.messages import Facts, Sender, branded, render
from services.notifications.domain import model
from services.notifications.domain.branding import Branding
from services.notifications.entrypoints import http
from services.notifications.service_layer.unit_of_work import InMemoryNotificationsUnitOfWork
from shared.auth import ProgramStaff
from shared.contacts import ContactDetails
from shared.events import ProgramBrandingChanged
from shared.program_staff import InMemoryProgramStaff
from tests.support.services import token

ADMIN = token("program_admin")
NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)
SENDER = Sender("Tandem <t@tandem.test>", "tandem.test")
PROGRAM = model.ProgramFacts("prog-1", "Digital leaders", cadence_days=14, duration_weeks=12)
ADA = ContactDetails(participant_id="p-a", display_name="Ada", email="ada@example.com")
BO = ContactDetails(participant_id="p-b", display_name="Bo", email="bo@example.com")
BRAND = Branding("prog-1", "Acme <Reverse> Mentoring", "#aa3300", "Questions? Ask HR & <b>us</b>.")


@pytest.fixture
async def world():
    uow = InMemoryNotificationsUnitOfWork()
    app = bootstrap.build()
    app.dependency_overrides[http.unit_of_work] = lambda: InMemoryNotificationsUnitOfWork(uow.state, uow.store)
    staff = InMemoryProgramStaff({"prog-1": ProgramStaff.of()})
    app.dependency_overrides[http.staff] = lambda: staff
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://n{bootstrap.SPEC.prefix}") as client:
        yield client, uow


def prompt() -> model.Notification:
    pair = model.PairMembers("pair-1", "prog-1", "p-a", "p-b")
    return model.feedback_prompts(cause_event_id="e-1", pair=pair, held_on=NOW.date(), now=NOW)[0]


async def test_admins_brand_their_program_and_an_event_records_it(world):
    client, uow = world
    assert (await client.get("/programs/prog-1/branding", headers=ADMIN)).json() == {
        "program_id": "prog-1",
        "brand": "",
        "accent_colour": "#1f4e79",
        "footer": "",
    }
    body = {"brand": BRAND.brand, "accent_colour": BRAND.accent_colour, "footer": BRAND.footer}
    assert (await client.put("/programs/prog-1/branding", json=body, headers=ADMIN)).json()["brand"] == BRAND.brand
    assert uow.state.branding["prog-1"] == BRAND
    [event] = [s for s in await uow.store.read_after(0) if s.type == ProgramBrandingChanged.type_name]
    assert ProgramBrandingChanged.model_validate(event.data).accent_colour == "#aa3300"


@pytest.mark.parametrize(
    ("body", "field"),
    [({"accent_colour": "red;}"}, "accent_colour"), ({"footer": "x" * 501}, "footer"), ({"brand": "a\nb"}, "brand")],
)
async def test_a_bad_branding_is_a_422_naming_the_field(world, body, field):
    client, _ = world
    answer = await client.put("/programs/prog-1/branding", json=body, headers=ADMIN)
    assert answer.status_code == 422 and field in answer.text


async def test_only_the_programs_admins_brand_it(world):
    client, _ = world
    for who in (token("participant", "p-a"), token("auditor")):
        assert (await client.put("/programs/prog-1/branding", json={}, headers=who)).status_code == 403


def test_every_message_carries_the_brand_escaped_in_both_parts():
    rendered = render(prompt(), Facts(PROGRAM, ADA, BO, branding=BRAND), NOW, sender=SENDER)
    assert "Acme &lt;Reverse&gt; Mentoring" in rendered.html and "#aa3300" in rendered.html
    assert "Questions? Ask HR &amp; &lt;b&gt;us&lt;/b&gt;." in rendered.html and "<b>us</b>" not in rendered.html
    assert rendered.text.rstrip().endswith("--\nQuestions? Ask HR & <b>us</b>.")
    plain = render(prompt(), Facts(PROGRAM, ADA, BO), NOW, sender=SENDER)
    assert "Digital leaders</div>" in plain.html and "#1f4e79" in plain.html and "--" not in plain.text


def test_a_digest_is_branded_once():
    parts = [render(prompt(), Facts(PROGRAM, ADA, BO, branding=BRAND), NOW, sender=SENDER, with_branding=False)] * 2
    digest = branded(render_digest(parts, PROGRAM.title), Facts(PROGRAM, ADA, branding=BRAND))
    assert digest.html.count("Acme &lt;Reverse&gt; Mentoring") == 1 and digest.text.count("Questions?") == 1
