"""Enrolment's HTTP API in-process, on the in-memory unit of work: validation, 404/409/403 rules, idempotent
withdrawal and erasure, paging. What needs a real process (events on Kafka, erasure from PostgreSQL and Kafka)
stays in test_enrolment_api.py."""

from __future__ import annotations

import json

import httpx
import pytest

from services.enrolment import bootstrap
from services.enrolment.config import EnrolmentSettings
from services.enrolment.entrypoints import http
from services.enrolment.service_layer.unit_of_work import EnrolmentState, InMemoryEnrolmentUnitOfWork
from shared.auth import AuthSettings
from shared.eventstore import InMemoryEventStore
from shared.pseudonyms import pseudonym
from tests.support.bodies import invalid_fields as fields
from tests.support.bodies import person
from tests.support.services import as_person, token

KEY = "in-process-pseudonym-key"
ADMIN, AUDITOR = token("program_admin"), token("auditor")


class Enrolment:
    """The app and what its in-memory unit of work holds, for a test to look at."""

    def __init__(self) -> None:
        self.state, self.store = EnrolmentState(), InMemoryEventStore()
        self.app = bootstrap.build(EnrolmentSettings(pseudonym_key=KEY))
        self.app.state.auth = AuthSettings(pseudonym_key=KEY)  # every service derives ids with the one key
        # A fresh unit of work per request over the same state, as the PostgreSQL binding gives one per request.
        self.app.dependency_overrides[http.unit_of_work] = lambda: InMemoryEnrolmentUnitOfWork(self.state, self.store)

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app)  # does not run the lifespan: no database, no Kafka
        return httpx.AsyncClient(transport=transport, base_url="http://enrolment.test/enrolment/v1")

    async def types(self, stream_id: str) -> list[str]:
        return [e.type.split(".")[2] for e in await self.store.read_stream(stream_id)]


@pytest.fixture
def enrolment() -> Enrolment:
    return Enrolment()


@pytest.fixture
async def client(enrolment: Enrolment):
    async with enrolment.client() as client:
        yield client


async def program(client: httpx.AsyncClient, **overrides) -> dict:
    body = {"title": "Digital leaders", "cadence_days": 14, "duration_weeks": 26, **overrides}
    response = await client.post("/programs", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()["program"]


async def enrolled(client: httpx.AsyncClient, program_id: str, employee_id: str, **overrides) -> dict:
    response = await client.post(
        f"/programs/{program_id}/participants",
        json=person(employee_id, **overrides),
        headers=as_person(employee_id, KEY),
    )
    assert response.status_code == 201, response.text
    return response.json()


# -------------------------------------------------------------------------------------------------- programs


async def test_a_launched_program_is_listed_and_readable(client, enrolment):
    response = await client.post("/programs", json={"title": "Digital leaders"}, headers=ADMIN)
    assert response.status_code == 201
    launched = response.json()
    second = await program(client, title="Second")
    assert launched["event_log"]["stream_version"] == 1
    assert await enrolment.types(launched["event_log"]["stream_id"]) == ["program-launched"]
    listed = (await client.get("/programs", headers=token("participant", "p-x"))).json()
    assert [p["program_id"] for p in listed] == [launched["program"]["program_id"], second["program_id"]]
    read = await client.get(f"/programs/{second['program_id']}", headers=AUDITOR)
    assert read.status_code == 200 and read.json() == second


async def test_an_unknown_program_is_404(client):
    assert (await client.get("/programs/prg-nope", headers=ADMIN)).status_code == 404


@pytest.mark.parametrize(
    "field, value", [("title", ""), ("matching_weights", {"charisma": 1}), ("cadence_days", 0), ("optimize_for", "x")]
)
async def test_a_bad_program_gets_422_naming_the_field(client, enrolment, field, value):
    response = await client.post("/programs", json={"title": "ok", field: value}, headers=ADMIN)
    assert response.status_code == 422
    assert any(error["loc"][-1] == field for error in response.json()["errors"])
    assert enrolment.state.programs == {} and enrolment.store.events == []


# ------------------------------------------------------------------------------------------------- enrolment


async def test_enrolment_stores_a_pseudonymous_event_and_keeps_personal_details_apart(client, enrolment):
    p = await program(client)
    created = await enrolled(client, p["program_id"], "E100", reporting_chain=["E1"], goals="learn TikTok")
    participant = created["participant"]
    assert participant["participant_id"] == pseudonym(KEY, p["program_id"], "E100")
    assert (participant["employee_id"], participant["email"], participant["goals"]) == (
        "E100",
        "e100@example.com",
        "learn TikTok",
    )
    assert created["event_log"]["stream_version"] == 2
    event, consent = await enrolment.store.read_stream(created["event_log"]["stream_id"])
    assert event.type == "tandem.enrolment.participant-enrolled.v1"
    assert consent.type == "tandem.enrolment.consent-given.v1"
    assert event.data["reporting_chain"] == [pseudonym(KEY, p["program_id"], "E1")]
    for personal in ("E100", "example.com", "Person", "TikTok"):
        assert personal not in str(event.data)


async def test_a_second_enrolment_of_one_employee_is_a_conflict_and_stores_nothing(client, enrolment):
    p = await program(client)
    await enrolled(client, p["program_id"], "E200")
    again = await client.post(
        f"/programs/{p['program_id']}/participants", json=person("E200"), headers=as_person("E200", KEY)
    )
    assert again.status_code == 409
    assert "E200" not in again.text  # no employee id in error messages
    assert len(enrolment.state.participants) == 1 and len(enrolment.store.events) == 3


@pytest.mark.parametrize(
    "field, value",
    [
        ("consent", False),
        ("consent", None),
        ("grade", "senior"),
        ("email", "not-an-address"),
        ("time_zone", "Mars/Olympus"),
        ("role", "boss"),
        ("languages", []),
        ("reporting_chain", ["E300"]),
        ("unexpected", "x"),
    ],
)
async def test_bad_input_gets_422_naming_the_field(client, enrolment, field, value):
    p = await program(client)
    response = await client.post(
        f"/programs/{p['program_id']}/participants",
        json=person("E300", **{field: value}),
        headers=as_person("E300", KEY),
    )
    assert response.status_code == 422
    assert any(error["loc"][-1] == field for error in response.json()["errors"])
    assert enrolment.state.participants == {}


async def test_enrolment_in_an_unknown_program_is_404(client, enrolment):
    response = await client.post("/programs/prg-nope/participants", json=person("E1"), headers=as_person("E1", KEY))
    assert response.status_code == 404
    assert enrolment.store.events == []


async def test_a_participant_enrols_itself_but_nobody_else(client):
    p = await program(client)
    url = f"/programs/{p['program_id']}/participants"
    itself = token("participant", pseudonym(KEY, p["program_id"], "E600"))  # a token naming its id in `sub`
    assert (await client.post(url, json=person("E601"), headers=itself)).status_code == 403
    assert (await client.post(url, json=person("E600"), headers=itself)).status_code == 201
    assert (await client.post(url, json=person("E602"), headers=AUDITOR)).status_code == 403


async def test_an_enrolment_is_one_transaction_that_reads_the_program_once(client, enrolment):
    """The caller's right to enrol is checked on the program the enrolment's own transaction reads (issue #18:
    before, a transaction of its own read the program first, three PostgreSQL round trips more per enrolment)."""
    p = await program(client)
    units: list[InMemoryEnrolmentUnitOfWork] = []

    def counted() -> InMemoryEnrolmentUnitOfWork:
        units.append(InMemoryEnrolmentUnitOfWork(enrolment.state, enrolment.store))
        return units[-1]

    enrolment.app.dependency_overrides[http.unit_of_work] = counted
    await enrolled(client, p["program_id"], "E605")
    assert [u.commits for u in units] == [1]
    refused = await client.post(f"/programs/{p['program_id']}/participants", json=person("E606"), headers=ADMIN)
    assert refused.status_code == 403 and [u.commits for u in units] == [1, 0]  # refused inside it: rolled back


async def test_a_program_admin_cannot_assert_anyones_consent(client, enrolment):
    p = await program(client)
    refused = await client.post(f"/programs/{p['program_id']}/participants", json=person("E610"), headers=ADMIN)
    assert refused.status_code == 403 and "consent" in refused.json()["detail"]
    assert "invite" in refused.json()["detail"]
    assert enrolment.state.participants == {} and enrolment.state.consents == {}


# ---------------------------------------------------------------------------------------------------- reads


async def test_participants_are_listed_in_pages(client):
    p = await program(client)
    ids = [(await enrolled(client, p["program_id"], f"L{i}"))["participant"]["participant_id"] for i in range(5)]
    page = (await client.get(f"/programs/{p['program_id']}/participants?page=2&page_size=2", headers=AUDITOR)).json()
    assert (page["total"], page["page"], page["page_size"]) == (5, 2, 2)
    assert [item["participant_id"] for item in page["items"]] == ids[2:4]
    last = (await client.get(f"/programs/{p['program_id']}/participants?page=3&page_size=2", headers=ADMIN)).json()
    assert [item["participant_id"] for item in last["items"]] == ids[4:]


@pytest.mark.parametrize("query, code", [("page=0", 422), ("page_size=501", 422), ("page_size=0", 422)])
async def test_paging_out_of_bounds_is_422(client, query, code):
    p = await program(client)
    response = await client.get(f"/programs/{p['program_id']}/participants?{query}", headers=ADMIN)
    assert response.status_code == code
    assert response.json()["errors"][0]["loc"][-1] == query.split("=")[0]


async def test_listing_participants_is_for_admins_and_auditors_of_known_programs(client):
    p = await program(client)
    assert (await client.get("/programs/prg-nope/participants", headers=AUDITOR)).status_code == 404
    listing = f"/programs/{p['program_id']}/participants"
    assert (await client.get(listing, headers=token("participant", "p-x"))).status_code == 403


async def test_a_participant_acts_only_for_itself(client):
    p = await program(client)
    created = (await enrolled(client, p["program_id"], "E500"))["participant"]
    url = f"/programs/{p['program_id']}/participants/{created['participant_id']}"
    assert (await client.get(url, headers=token("participant", "someone-else"))).status_code == 403
    own = await client.get(url, headers=token("participant", created["participant_id"]))
    assert own.status_code == 200 and own.json() == created
    assert (await client.get(url, headers=AUDITOR)).status_code == 200
    assert (await client.patch(url, json={"grade": 4}, headers=AUDITOR)).status_code == 403
    other = token("participant", "someone-else")
    for action in ("withdraw", "erase"):
        assert (await client.post(f"{url}/{action}", headers=other)).status_code == 403
    assert (await client.get(url, headers=ADMIN)).json()["status"] == "active"


async def test_an_unknown_participant_is_404_for_every_action(client):
    p = await program(client)
    url = f"/programs/{p['program_id']}/participants/p-nope"
    assert (await client.get(url, headers=ADMIN)).status_code == 404
    assert (await client.patch(url, json={"grade": 4}, headers=ADMIN)).status_code == 404
    assert (await client.post(f"{url}/withdraw", headers=ADMIN)).status_code == 404
    assert (await client.post(f"{url}/erase", headers=ADMIN)).status_code == 404


# ---------------------------------------------------------------------------------------------------- changes


async def test_a_profile_change_publishes_only_when_the_public_profile_changes(client, enrolment):
    p = await program(client)
    created = (await enrolled(client, p["program_id"], "E700"))["participant"]
    url = f"/programs/{p['program_id']}/participants/{created['participant_id']}"
    itself = token("participant", created["participant_id"])
    public = (await client.patch(url, json={"skills_offered": ["python"]}, headers=itself)).json()
    assert public["event_log"]["stream_version"] == 3
    assert (public["participant"]["profile"]["skills_offered"], public["participant"]["version"]) == (["python"], 3)
    personal = (await client.patch(url, json={"display_name": "New Name"}, headers=ADMIN)).json()
    assert personal["event_log"] is None and personal["participant"]["display_name"] == "New Name"
    assert await enrolment.types(public["event_log"]["stream_id"]) == [
        "participant-enrolled",
        "consent-given",
        "participant-profile-updated",
    ]
    bad = await client.patch(url, json={"time_zone": "Mars/Olympus"}, headers=ADMIN)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"][-1] == "time_zone"


async def test_withdrawal_is_idempotent_and_ends_profile_changes(client, enrolment):
    p = await program(client)
    created = (await enrolled(client, p["program_id"], "E400"))["participant"]
    url = f"/programs/{p['program_id']}/participants/{created['participant_id']}"
    first = (await client.post(f"{url}/withdraw", json={"reason": "moving on"}, headers=ADMIN)).json()
    second = (await client.post(f"{url}/withdraw", headers=ADMIN)).json()  # the body is optional
    assert first["participant"]["status"] == second["participant"]["status"] == "withdrawn"
    assert first["event_log"]["stream_version"] == 3 and second["event_log"] is None
    assert (await client.patch(url, json={"grade": 4}, headers=ADMIN)).status_code == 409
    assert await enrolment.types(first["event_log"]["stream_id"]) == [
        "participant-enrolled",
        "consent-given",
        "participant-withdrawn",
    ]


async def test_erasure_withdraws_forgets_the_person_and_is_idempotent(client, enrolment):
    name, email = "Zebulon Quartermaine", "zebulon.quartermaine@example.org"
    p = await program(client)
    created = await enrolled(client, p["program_id"], "EMP-QZ-900", display_name=name, email=email, goals="secret")
    url = f"/programs/{p['program_id']}/participants/{created['participant']['participant_id']}"
    erased = await client.post(f"{url}/erase", headers=token("participant", created["participant"]["participant_id"]))
    again = await client.post(f"{url}/erase", headers=ADMIN)
    assert erased.status_code == 200 and erased.json()["participant"]["status"] == "erased"
    assert erased.json()["event_log"]["stream_version"] == 4 and again.json()["event_log"] is None
    stream = created["event_log"]["stream_id"]
    assert await enrolment.types(stream) == [
        "participant-enrolled",
        "consent-given",
        "participant-withdrawn",
        "participant-erased",
    ]
    for needle in (name, email, "EMP-QZ-900", "secret"):
        assert needle not in repr(enrolment.state) and needle not in (await client.get(url, headers=ADMIN)).text
    assert (await client.patch(url, json={"grade": 4}, headers=ADMIN)).status_code == 409


async def test_erasing_a_withdrawn_participant_only_erases(client, enrolment):
    p = await program(client)
    created = await enrolled(client, p["program_id"], "E800")
    url = f"/programs/{p['program_id']}/participants/{created['participant']['participant_id']}"
    await client.post(f"{url}/withdraw", headers=ADMIN)
    erased = (await client.post(f"{url}/erase", headers=ADMIN)).json()
    assert erased["event_log"]["stream_version"] == 4
    assert (await enrolment.types(created["event_log"]["stream_id"]))[-1] == "participant-erased"


# ------------------------------------------------------------------------------- bounds (issue #13)
# Issue #13's bad inputs against enrolment, in-process: each is a 422 naming its field (or a 413 for a body over
# the limit), never a 500, and nothing is stored.


@pytest.mark.parametrize(
    "field, value",
    [
        ("title", "Digital\x00leaders"),
        ("title", "Digital \ud800 leaders"),
        ("objectives", "x\x00"),
        ("targets", {"pairs_formed": float("nan")}),
        ("targets", {"pairs_formed": float("inf")}),
        ("targets", {"pairs_formed": float("-inf")}),
        ("targets", {"x" * 101: 1}),
        ("targets", {f"t{i}": 1 for i in range(51)}),
        ("matching_weights", {"skills_to_mentee": 1e308}),
        ("matching_weights", {"skills_to_mentee": 101}),
        ("matching_weights", {"skills_to_mentee": True}),
        ("cadence_days", True),
        ("cadence_days", "14"),
        ("focus_areas", ["x" * 101]),
        ("focus_areas", ["area"] * 51),
        ("focus_areas", ["a\x00b"]),
        ("languages", ["en"] * 51),
    ],
)
async def test_a_program_out_of_bounds_is_422_naming_the_field(client, enrolment, field, value):
    body = json.dumps({"title": "ok", field: value})  # json.dumps writes NaN and Infinity as the JSON extensions
    response = await client.post("/programs", content=body, headers={**ADMIN, "content-type": "application/json"})
    assert field in fields(response)
    assert enrolment.state.programs == {} and enrolment.store.events == []


async def test_a_target_of_1e400_is_422_not_infinity(client, enrolment):
    body = b'{"title": "ok", "targets": {"pairs_formed": 1e400}}'
    response = await client.post("/programs", content=body, headers={**ADMIN, "content-type": "application/json"})
    assert "targets" in fields(response) and enrolment.store.events == []


@pytest.mark.parametrize(
    "field, value",
    [
        ("employee_id", "E\x00300"),
        ("employee_id", "E" * 65),
        ("display_name", "Ana \ud83d"),
        ("department", "I\x00T"),
        ("goals", "learn\x00"),
        ("grade", True),
        ("grade", 2**31),
        ("capacity", "2"),
        ("birth_year", 1.5),
        ("skills_offered", ["python"] * 51),
        ("skills_offered", ["x" * 101]),
        ("reporting_chain", [f"M{i}" for i in range(51)]),
        ("reporting_chain", ["M\x001"]),
        ("languages", ["en\ud800"]),
        ("communication_style", "x\x00"),
    ],
)
async def test_an_enrolment_out_of_bounds_is_422_naming_the_field(client, enrolment, field, value):
    p = await program(client)
    body = json.dumps({**person("E300"), field: value})  # ASCII escapes carry a lone surrogate as JSON allows
    response = await client.post(
        f"/programs/{p['program_id']}/participants", content=body, headers={**ADMIN, "content-type": "application/json"}
    )
    assert field in fields(response)
    assert enrolment.state.participants == {}


@pytest.mark.parametrize(
    "field", ["display_name", "email", "grade", "languages", "skills_offered", "time_zone", "goals"]
)
async def test_explicit_null_in_a_profile_change_is_422_naming_the_field(client, field):
    p = await program(client)
    created = (await enrolled(client, p["program_id"], "E800"))["participant"]
    url = f"/programs/{p['program_id']}/participants/{created['participant_id']}"
    response = await client.patch(url, json={field: None}, headers=ADMIN)
    assert fields(response) == [field]
    assert (await client.get(url, headers=ADMIN)).json() == created


@pytest.mark.parametrize("query", ["page=99999999999999999999", "page=1000001", "page_size=true"])
async def test_a_huge_page_is_422(client, query):
    p = await program(client)
    response = await client.get(f"/programs/{p['program_id']}/participants?{query}", headers=AUDITOR)
    assert fields(response) == [query.split("=")[0]]


@pytest.mark.parametrize("program_id", ["prg%00x", "x" * 129])
async def test_a_path_identifier_out_of_bounds_is_422(client, program_id):
    response = await client.get(f"/programs/{program_id}", headers=ADMIN)
    assert fields(response) == ["program_id"]


async def test_a_10_mb_body_is_413_and_not_echoed(client, enrolment):
    body = json.dumps({"title": "big", "objectives": "x" * 10_000_000}).encode()
    response = await client.post("/programs", content=body, headers={**ADMIN, "content-type": "application/json"})
    assert response.status_code == 413 and response.headers["content-type"] == "application/problem+json"
    assert len(response.content) < 1000 and enrolment.store.events == []


async def test_a_1_mb_list_field_is_422_and_not_echoed(client, enrolment):
    p = await program(client)
    huge = person("E900", skills_offered=[f"skill-{i:05}" for i in range(65_000)])  # about 1 MB, under the limit
    assert 900_000 < len(json.dumps(huge)) < 1024 * 1024
    response = await client.post(f"/programs/{p['program_id']}/participants", json=huge, headers=ADMIN)
    assert fields(response) == ["skills_offered"] and len(response.content) < 2000
    assert enrolment.state.participants == {}


async def test_a_participant_token_still_enrols_itself_within_bounds(client):

    p = await program(client, targets={"pairs_formed": 40, "average_rating": 4.5})
    itself = token("participant", pseudonym(KEY, p["program_id"], "E950"))
    ok = await client.post(f"/programs/{p['program_id']}/participants", json=person("E950"), headers=itself)
    assert ok.status_code == 201, ok.text


async def test_the_program_list_comes_in_pages_with_the_total_in_a_header(client):
    launched = [(await program(client, title=f"Program {n}"))["program_id"] for n in range(5)]
    first = await client.get("/programs", params={"page": 1, "page_size": 2}, headers=ADMIN)
    last = await client.get("/programs", params={"page": 3, "page_size": 2}, headers=ADMIN)
    assert [p["program_id"] for p in first.json()] == launched[:2]
    assert [p["program_id"] for p in last.json()] == launched[4:]
    assert first.headers["x-total-count"] == last.headers["x-total-count"] == "5"
    assert (await client.get("/programs", params={"page_size": 501}, headers=ADMIN)).status_code == 422
