"""The roster (issue #14) without servers: CSV parsing, the row-by-row report, chains derived from manager ids,
and the import over HTTP on the in-memory unit of work, including the profile updates of enrolled people."""

from __future__ import annotations

import pytest

from services.enrolment.domain import roster
from services.enrolment.domain.roster import MAX_CHAIN, derive_chains, parse_csv, plan_import, validate_rows
from shared.pseudonyms import pseudonym
from tests.enrolment.test_enrolment_http import ADMIN, KEY, Enrolment, program
from tests.support.bodies import person
from tests.support.services import token


def row(employee_id: str, manager_id: str | None = None, **overrides) -> dict:
    return {
        "employee_id": employee_id,
        "display_name": f"Person {employee_id}",
        "email": f"{employee_id.lower()}@example.com",
        "department": "IT",
        "grade": 5,
        "manager_id": manager_id,
        "languages": ["en"],
        "time_zone": "Europe/Paris",
        **overrides,
    }


# ------------------------------------------------------------------------------------------- chains


def test_chains_run_nearest_first_up_to_the_top():
    chains = derive_chains({"ceo": None, "vp": "ceo", "lead": "vp", "dev": "lead", "ops": "vp"})
    assert chains["dev"] == roster.Chain(("lead", "vp", "ceo"))
    assert chains["ops"] == roster.Chain(("vp", "ceo"))
    assert chains["ceo"] == roster.Chain(())


def test_a_loop_and_everyone_below_it_has_no_top():
    chains = derive_chains({"a": "b", "b": "c", "c": "a", "d": "a", "top": None})
    assert {chains[e].problem for e in "abcd"} == {roster.CYCLE}
    assert chains["top"].problem is None


def test_a_missing_manager_is_named_for_the_row_and_inherited_below():
    chains = derive_chains({"a": "ghost", "b": "a"})
    assert chains["a"] == roster.Chain(("ghost",), roster.MISSING_MANAGER)
    assert chains["b"] == roster.Chain(("a", "ghost"), roster.MISSING_MANAGER, inherited=True)


def test_a_line_deeper_than_fifty_is_refused_and_chains_stay_within_fifty():
    managers = {"e0": None} | {f"e{i}": f"e{i - 1}" for i in range(1, 60)}
    chains = derive_chains(managers)
    assert chains["e50"] == roster.Chain(tuple(f"e{i}" for i in range(49, -1, -1)))
    assert chains["e51"].problem == roster.TOO_DEEP and len(chains["e51"].managers) == MAX_CHAIN
    assert chains["e59"].problem == roster.TOO_DEEP


def test_deep_lines_derive_without_recursion_limits():
    managers = {"e0": None} | {f"e{i}": f"e{i - 1}" for i in range(1, 20_000)}
    assert len(derive_chains(managers)["e19999"].managers) == MAX_CHAIN


# ------------------------------------------------------------------------------------------- validation


def test_rows_are_checked_one_by_one_naming_the_field_never_the_value():
    good, problems = validate_rows(
        [
            row("E1"),
            row("E2", email="not-an-address-of-zebulon"),
            row("E3", grade=101),
            row("E4", time_zone="Mars/Olympus_Mons"),
            row("E1"),
            row("E6", manager_id="E6"),
            "not a row",
            row("E8", grade="5"),
            {k: v for k, v in row("E9").items() if k != "department"},
        ]
    )
    assert [n for n, _ in good] == [1]
    assert [(p.row, p.field) for p in problems] == [
        (2, "email"),
        (3, "grade"),
        (4, "time_zone"),
        (5, "employee_id"),
        (6, "manager_id"),
        (7, "row"),
        (8, "grade"),
        (9, "department"),
    ]
    text = " ".join(p.problem for p in problems)
    assert "zebulon" not in text and "Mars" not in text and "101" not in text


def test_a_re_import_rejects_a_broken_line_and_keeps_the_entry_it_had():
    first = plan_import([row("ceo"), row("vp", "ceo"), row("dev", "vp")], {})
    assert first.accepted == 3 and not first.rejected
    current = {e.employee_id: e for e in first.entries}
    # vp now names a manager nobody imported: vp is rejected and keeps its old line, so dev's new row still holds
    second = plan_import([row("vp", "nobody"), row("dev", "vp", department="Data")], current)
    assert [(p.row, p.field, p.problem) for p in second.rejected] == [(1, "manager_id", roster.MISSING_MANAGER)]
    assert second.accepted == 1
    [dev] = second.entries
    assert dev.department == "Data" and dev.reporting_chain == ("vp", "ceo")


def test_rejecting_a_new_manager_rejects_the_new_rows_under_them():
    plan = plan_import([row("a", "ghost"), row("b", "a"), row("c", None)], {})
    assert [(p.row, p.problem) for p in plan.rejected] == [(1, roster.MISSING_MANAGER), (2, roster.MISSING_MANAGER)]
    assert [e.employee_id for e in plan.entries] == ["c"]


def test_moving_a_manager_rechains_the_people_below_who_were_not_in_the_import():
    current = {e.employee_id: e for e in plan_import([row("ceo"), row("cto", "ceo"), row("x", None)], {}).entries}
    current |= {e.employee_id: e for e in plan_import([row("dev", "cto")], current).entries}
    moved = plan_import([row("cto", "x")], current)
    assert {e.employee_id: e.reporting_chain for e in moved.entries} == {"cto": ("x",), "dev": ("cto", "x")}


# ------------------------------------------------------------------------------------------- CSV


def test_csv_rows_read_as_the_json_rows():
    data = (
        "\ufeffemployee_id,display_name,email,department,grade,manager_id,languages,time_zone\n"
        "E1,Ann,ann@example.com,IT,7,,en;fr,Europe/Paris\n"
        'E2,"Bo, Jr",bo@example.com,HR,three,E1,,\n'
    ).encode()
    assert parse_csv(data) == [
        {
            "employee_id": "E1",
            "display_name": "Ann",
            "email": "ann@example.com",
            "department": "IT",
            "grade": 7,
            "languages": ["en", "fr"],
            "time_zone": "Europe/Paris",
        },
        {
            "employee_id": "E2",
            "display_name": "Bo, Jr",
            "email": "bo@example.com",
            "department": "HR",
            "grade": "three",
            "manager_id": "E1",
        },
    ]


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xfe not utf-8",
        b"employee_id,display_name\nE1,Ann\n",
        b"employee_id,display_name,email,department,grade,salary\n",
    ],
)
def test_a_file_that_is_no_roster_is_refused_whole(data):
    with pytest.raises(roster.UnreadableCsv):
        parse_csv(data)


# ------------------------------------------------------------------------------------------- over HTTP


@pytest.fixture
def enrolment() -> Enrolment:
    return Enrolment()


async def test_import_reports_rejected_rows_and_keeps_the_good_ones(enrolment: Enrolment):
    async with enrolment.client() as client:
        response = await client.post(
            "/roster", json={"rows": [row("ceo"), row("dev", "ceo"), row("bad", "ceo", grade=-1)]}, headers=ADMIN
        )
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["accepted"] == 2 and report["participants_updated"] == 0
        assert report["rejected"] == [{"row": 3, "field": "grade", "problem": "is below the allowed range"}]
        listed = await client.get("/roster", params={"page_size": 1, "page": 2}, headers=ADMIN)
        assert listed.headers["X-Total-Count"] == "2"
        assert [(e["employee_id"], e["reporting_chain"]) for e in listed.json()] == [("dev", ["ceo"])]
        assert (await client.get("/roster", headers=token("participant"))).status_code == 403
        assert (await client.post("/roster", json={"rows": []}, headers=token("auditor"))).status_code == 403
    [imported] = await enrolment.store.read_stream(f"roster-{report['import_id']}")
    assert imported.type == "tandem.enrolment.roster-imported.v1"
    assert imported.data == {
        "import_id": report["import_id"],
        "rows_accepted": 2,
        "rows_rejected": 1,
        "participants_updated": 0,
    }


async def test_csv_import_through_multipart(enrolment: Enrolment):
    csv_text = "employee_id,display_name,email,department,grade,manager_id\nE1,Ann,ann@example.com,IT,7,\n"
    async with enrolment.client() as client:
        response = await client.post("/roster/csv", files={"file": ("roster.csv", csv_text)}, headers=ADMIN)
        assert response.status_code == 200, response.text
        assert response.json()["accepted"] == 1
        refused = await client.post("/roster/csv", files={"file": ("x.csv", "name\nAnn\n")}, headers=ADMIN)
        assert refused.status_code == 422 and "file" in refused.text and "Ann" not in refused.text


async def test_a_re_import_updates_enrolled_people_whose_line_department_or_grade_changed(enrolment: Enrolment):
    async with enrolment.client() as client:
        await client.post("/roster", json={"rows": [row("ceo"), row("a", "ceo"), row("b", "ceo")]}, headers=ADMIN)
        p = await program(client)
        for employee_id in ("a", "b"):
            body = person(employee_id, reporting_chain=["ceo"], grade=5)
            own = token("participant", subject=pseudonym(KEY, p["program_id"], employee_id))
            created = await client.post(f"/programs/{p['program_id']}/participants", json=body, headers=own)
            assert created.status_code == 201, created.text
        # a moves under b; b only changes their e-mail (personal data: no event)
        report = await client.post(
            "/roster",
            json={"rows": [row("a", "b", department="Data"), row("b", "ceo", email="b.new@example.com")]},
            headers=ADMIN,
        )
    assert report.json()["participants_updated"] == 1
    a_id, b_id = pseudonym(KEY, p["program_id"], "a"), pseudonym(KEY, p["program_id"], "b")
    a_events = await enrolment.store.read_stream(f"enrolment-{p['program_id']}-{a_id}")
    assert [e.type for e in a_events][-1] == "tandem.enrolment.participant-profile-updated.v1"
    assert a_events[-1].data["reporting_chain"] == [b_id, pseudonym(KEY, p["program_id"], "ceo")]
    assert a_events[-1].data["department"] == "Data"
    b_events = await enrolment.store.read_stream(f"enrolment-{p['program_id']}-{b_id}")
    assert [e.type for e in b_events] == [
        "tandem.enrolment.participant-enrolled.v1",
        "tandem.enrolment.consent-given.v1",
    ]
    assert enrolment.state.participants[(p["program_id"], b_id)].email == "b.new@example.com"
