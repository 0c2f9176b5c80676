"""SCIM 2.0 /scim/v2/Users over the in-memory unit of work (issue #14): the mapping onto roster entries, list and
filter, PUT and PATCH, deactivation withdrawing the person from every program, errors in SCIM's format."""

from __future__ import annotations

import pytest

from shared.pseudonyms import legacy_pseudonym as scim_id
from shared.pseudonyms import pseudonym
from tests.enrolment.test_enrolment_http import ADMIN, KEY, Enrolment, program
from tests.support.bodies import person
from tests.support.services import as_person, token

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
TANDEM = "urn:tandem:params:scim:schemas:extension:tandem:2.0:User"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def user(employee_id: str, manager: str | None = None, **overrides) -> dict:
    enterprise = {"employeeNumber": employee_id, "department": "IT"}
    if manager:
        enterprise["manager"] = {"value": manager}
    return {
        "schemas": [CORE, ENTERPRISE, TANDEM],
        "userName": f"{employee_id.lower()}@corp.example",
        "name": {"givenName": "Ann", "familyName": employee_id},
        "emails": [{"value": f"{employee_id.lower()}@example.com", "primary": True}],
        "timezone": "Europe/Paris",
        "preferredLanguage": "en-GB",
        "active": True,
        ENTERPRISE: enterprise,
        TANDEM: {"grade": 4},
        **overrides,
    }


@pytest.fixture
async def scim():
    enrolment = Enrolment()
    async with enrolment.client() as client:
        client.enrolment = enrolment  # type: ignore[attr-defined]
        yield client


async def test_create_read_and_filter_map_onto_the_roster(scim):
    boss = (await scim.post("/scim/v2/Users", json=user("B1"), headers=ADMIN)).json()
    created = await scim.post("/scim/v2/Users", json=user("E1", manager=boss["id"]), headers=ADMIN)
    assert created.status_code == 201, created.text
    assert created.headers["content-type"].startswith("application/scim+json")
    body = created.json()
    assert body["id"] == scim_id(KEY, "E1") and created.headers["Location"].endswith(f"/Users/{body['id']}")
    assert body["userName"] == "e1@corp.example" and body["externalId"] == "E1"
    assert body[ENTERPRISE]["manager"]["value"] == boss["id"] and body[TANDEM] == {"grade": 4}
    entry = scim.enrolment.state.roster["E1"]
    assert (entry.display_name, entry.email, entry.languages, entry.reporting_chain) == (
        "Ann E1",
        "e1@example.com",
        ("en",),
        ("B1",),
    )
    assert (await scim.get(f"/scim/v2/Users/{body['id']}", headers=ADMIN)).json()["userName"] == "e1@corp.example"
    found = await scim.get("/scim/v2/Users", params={"filter": 'userName eq "e1@corp.example"'}, headers=ADMIN)
    assert found.json()["totalResults"] == 1 and found.json()["Resources"][0]["id"] == body["id"]
    page = (await scim.get("/scim/v2/Users", params={"startIndex": 2, "count": 1}, headers=ADMIN)).json()
    assert (
        page["totalResults"] == 2 and page["startIndex"] == 2 and [r["externalId"] for r in page["Resources"]] == ["E1"]
    )


async def test_a_report_provisioned_before_their_manager_gets_the_full_line_once_the_manager_comes(scim):
    await scim.post("/scim/v2/Users", json=user("E1", manager="B1"), headers=ADMIN)  # an employee id as reference
    assert scim.enrolment.state.roster["E1"].reporting_chain == ("B1",)
    await scim.post("/scim/v2/Users", json=user("B1", manager="C1"), headers=ADMIN)
    await scim.post("/scim/v2/Users", json=user("C1"), headers=ADMIN)
    assert scim.enrolment.state.roster["E1"].reporting_chain == ("B1", "C1")


async def test_put_and_patch_change_department_manager_and_grade(scim):
    await scim.post("/scim/v2/Users", json=user("B1"), headers=ADMIN)
    uid = (await scim.post("/scim/v2/Users", json=user("E1"), headers=ADMIN)).json()["id"]
    replaced = await scim.put(f"/scim/v2/Users/{uid}", json=user("E1", **{TANDEM: {"grade": 6}}), headers=ADMIN)
    assert replaced.status_code == 200 and replaced.json()[TANDEM]["grade"] == 6
    patch = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "replace", "path": f"{ENTERPRISE}:department", "value": "Data"},
            {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": {"value": scim_id(KEY, "B1")}},
        ],
    }
    patched = await scim.patch(f"/scim/v2/Users/{uid}", json=patch, headers=ADMIN)
    assert patched.status_code == 200, patched.text
    entry = scim.enrolment.state.roster["E1"]
    assert (entry.department, entry.manager_id, entry.reporting_chain, entry.grade) == ("Data", "B1", ("B1",), 6)
    renamed = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "path": f"{ENTERPRISE}:employeeNumber", "value": "E2"}],
    }
    refused = await scim.patch(f"/scim/v2/Users/{uid}", json=renamed, headers=ADMIN)
    assert refused.status_code == 400 and refused.json()["scimType"] == "mutability"


async def test_deactivation_withdraws_from_every_program_and_delete_removes(scim):
    uid = (await scim.post("/scim/v2/Users", json=user("E1"), headers=ADMIN)).json()["id"]
    own = as_person("E1")
    programs = [await program(scim), await program(scim)]
    for p in programs:
        enrolled = await scim.post(f"/programs/{p['program_id']}/participants", json=person("E1"), headers=own)
        assert enrolled.status_code == 201, enrolled.text
    off = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}
    assert (await scim.patch(f"/scim/v2/Users/{uid}", json=off, headers=ADMIN)).json()["active"] is False
    for p in programs:
        in_program = pseudonym(KEY, p["program_id"], "E1")  # not the SCIM id: one id per program (ADR 0011)
        events = await scim.enrolment.store.read_stream(f"enrolment-{p['program_id']}-{in_program}")
        assert events[-1].type == "tandem.enrolment.participant-withdrawn.v1"
        assert events[-1].data["reason"] == "deactivated by the identity provider"
    assert (await scim.delete(f"/scim/v2/Users/{uid}", headers=ADMIN)).status_code == 204
    gone = await scim.get(f"/scim/v2/Users/{uid}", headers=ADMIN)
    assert gone.status_code == 404 and gone.json()["schemas"] == [ERROR] and gone.json()["status"] == "404"


async def test_errors_come_in_scims_format_without_values(scim):
    no_grade = user("E1")
    del no_grade[TANDEM]
    refused = await scim.post("/scim/v2/Users", json=no_grade, headers=ADMIN)
    assert refused.status_code == 400 and refused.json()["scimType"] == "invalidValue"
    assert TANDEM in refused.json()["detail"]
    bad_zone = await scim.post("/scim/v2/Users", json=user("E1", timezone="Mars/Base"), headers=ADMIN)
    assert bad_zone.status_code == 400 and "timezone" in bad_zone.json()["detail"] and "Mars" not in bad_zone.text
    await scim.post("/scim/v2/Users", json=user("E1"), headers=ADMIN)
    twice = await scim.post("/scim/v2/Users", json=user("E1"), headers=ADMIN)
    assert twice.status_code == 409 and twice.json()["scimType"] == "uniqueness"
    bad_filter = await scim.get("/scim/v2/Users", params={"filter": 'emails co "x"'}, headers=ADMIN)
    assert bad_filter.status_code == 400 and bad_filter.json()["scimType"] == "invalidFilter"
    forbidden = await scim.get("/scim/v2/Users", headers=token("auditor"))
    assert forbidden.status_code == 403 and forbidden.json()["schemas"] == [ERROR]
    unsigned = await scim.get("/scim/v2/Users")
    assert unsigned.status_code == 401 and unsigned.json()["schemas"] == [ERROR]
