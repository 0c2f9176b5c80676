"""Issue #13's bad inputs against enrolment, in-process: each is a 422 naming its field (or a 413 for a body over
the limit), never a 500, and nothing is stored."""

from __future__ import annotations

import json

import pytest

from tests.enrolment.test_enrolment_http import ADMIN, AUDITOR, client, enrolled, enrolment, person, program  # noqa: F401
from tests.support.services import token


def fields(response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [error["field"] for error in response.json()["errors"]]


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
    response = await client.post(
        f"/programs/{p['program_id']}/participants", json=person("E300", **{field: value}), headers=ADMIN
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
    huge = person("E900", skills_offered=[f"skill-{i}" for i in range(80_000)])
    response = await client.post(f"/programs/{p['program_id']}/participants", json=huge, headers=ADMIN)
    assert fields(response) == ["skills_offered"] and len(response.content) < 2000
    assert enrolment.state.participants == {}


async def test_a_participant_token_still_enrols_itself_within_bounds(client):
    from services.enrolment.domain.model import pseudonym
    from tests.enrolment.test_enrolment_http import KEY

    p = await program(client, targets={"pairs_formed": 40, "average_rating": 4.5})
    itself = token("participant", pseudonym(KEY, "E950"))
    ok = await client.post(f"/programs/{p['program_id']}/participants", json=person("E950"), headers=itself)
    assert ok.status_code == 201, ok.text
