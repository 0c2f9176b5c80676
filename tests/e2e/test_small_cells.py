"""No small cells against the real services (issue #19): people enrol in enrolment, insights follows Kafka, and its
report shows no count for a department of four people, nor for the one a total would give it away with; raising
the program's threshold through enrolment's PATCH withholds more."""

from __future__ import annotations

import httpx

from tests.support.bodies import person
from tests.support.services import eventually, signed_in, token

ADMIN, AUDITOR = token("program_admin"), token("auditor")
DEPARTMENTS = {"IT": 9, "Sales": 6, "Legal": 4}


def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


def test_a_department_of_four_shows_no_count_and_neither_does_its_complement(platform):
    enrolment, insights = platform["enrolment"].url, platform["insights"].url
    with httpx.Client(timeout=60) as http:
        program = ok(http.post(f"{enrolment}/programs", json={"title": "Small cells"}, headers=ADMIN), 201)["program"]
        program_id = program["program_id"]
        assert program["min_group_size"] == 5, "the default threshold"
        for department, count in DEPARTMENTS.items():
            for n in range(count):
                employee_id = f"SC-{department}-{n}"
                body = person(employee_id, department=department, reporting_chain=[])
                ok(
                    http.post(
                        f"{enrolment}/programs/{program_id}/participants", json=body, headers=signed_in(employee_id)
                    ),
                    201,
                )

        def report() -> dict | None:
            response = http.get(f"{insights}/programs/{program_id}/report", headers=AUDITOR)
            body = response.json() if response.status_code == 200 else None
            return body if body and body["participants"]["enrolled"] == sum(DEPARTMENTS.values()) else None

        shown = eventually(report, 60, "insights to count every enrolment")
        assert shown["participants"]["by_department"] == {"IT": 9, "Legal": None, "Sales": None}
        assert shown["small_cells"]["min_group_size"] == 5
        assert "fewer than 5" in shown["small_cells"]["explanation"]

        changed = http.patch(f"{enrolment}/programs/{program_id}", json={"min_group_size": 10}, headers=ADMIN)
        assert ok(changed)["program"]["min_group_size"] == 10
        withheld = {"IT": None, "Legal": None, "Sales": None}
        eventually(lambda: (report() or {}).get("participants", {}).get("by_department") == withheld, 60, "k = 10")
        refused = http.patch(f"{enrolment}/programs/{program_id}", json={"min_group_size": 1}, headers=ADMIN)
        assert refused.status_code == 422 and "min_group_size" in refused.text
