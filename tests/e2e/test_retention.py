"""Retention by policy against the real services (issue #19): a program kept for one month after it closes; once
the clock has moved past that, enrolment's retention job erases its participants (ParticipantErased, cause
retention), their names and e-mails are in no table, and insights' totals for the program do not change."""

from __future__ import annotations

import asyncio

import httpx

from tests.conftest import _child_env
from tests.support.bodies import person
from tests.support.personal_data import tables_containing
from tests.support.services import ServiceProcess, eventually, service_env, signed_in, token

ADMIN, AUDITOR = token("program_admin"), token("auditor")
PEOPLE = [f"RET-{n}" for n in range(6)]


def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


def test_a_closed_programs_participants_are_erased_when_its_retention_runs_out(platform, dsn, kafka):
    enrolment, insights = platform["enrolment"].url, platform["insights"].url
    with httpx.Client(timeout=60) as http:
        body = {"title": "Kept one month", "retention_months": 1}
        program_id = ok(http.post(f"{enrolment}/programs", json=body, headers=ADMIN), 201)["program"]["program_id"]
        for employee_id in PEOPLE:
            enrolled = person(employee_id, display_name=f"Retained {employee_id}", reporting_chain=[])
            url = f"{enrolment}/programs/{program_id}/participants"
            ok(http.post(url, json=enrolled, headers=signed_in(employee_id)), 201)
        ok(http.post(f"{enrolment}/programs/{program_id}/close", headers=ADMIN))

        def report() -> dict | None:
            response = http.get(f"{insights}/programs/{program_id}/report", headers=AUDITOR)
            return response.json() if response.status_code == 200 else None

        before = eventually(
            lambda: (r := report()) and r["participants"]["enrolled"] == len(PEOPLE) and r, 60, "insights' totals"
        )
        # A replica of enrolment whose clock this test may move: the shared platform's keeps real time.
        replica = ServiceProcess("enrolment", service_env(_child_env(dsn, kafka))).start()
        try:
            early = ok(http.post(f"{replica.url}/dev/clock", json={"seconds": 20 * 86400}, headers=ADMIN))
            assert early["done"]["retention"] == 0, "20 days after closing: kept"
            late = ok(http.post(f"{replica.url}/dev/clock", json={"seconds": 15 * 86400}, headers=ADMIN))
            assert late["done"]["retention"] == len(PEOPLE), "35 days after closing: a month has passed"
        finally:
            assert replica.stop() == 0

        listed = ok(http.get(f"{enrolment}/programs/{program_id}/participants", headers=ADMIN))
        rows = listed["items"] if isinstance(listed, dict) else listed
        assert len(rows) == len(PEOPLE)
        assert {(r["status"], r["display_name"], r["email"]) for r in rows} == {("erased", "", "")}
        for employee_id in PEOPLE:
            assert asyncio.run(tables_containing(dsn, f"Retained {employee_id}")) == []

        after = eventually(lambda: (r := report()) and r["participants"]["withdrawn"] == len(PEOPLE) and r, 60, "")
        assert after["participants"]["enrolled"] == before["participants"]["enrolled"] == len(PEOPLE)
        assert after["participants"]["by_role"] == before["participants"]["by_role"]
