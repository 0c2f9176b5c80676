"""Per-program roles with the real Keycloak and real services (issue #14): a business unit's admin runs only the
programs naming its group, an executive sponsor reads the dashboard of the programs it sponsors and changes
nothing, an employee reads no program's dashboard. Programs reach matching and insights through Kafka."""

from __future__ import annotations

import httpx
import pytest

from demo.keycloak_realm import username
from demo.organisation import organisation
from tests.support.keycloak import Keycloak
from tests.support.services import ServiceProcess, eventually, service_env

TARGETS = {"pairs_formed": 10, "sessions_per_pair": 3, "average_rating": 4.0, "match_rate": 0.5}


def launch(enrolment: ServiceProcess, token: str, title: str, **groups: list[str]) -> str:
    body = {
        "title": title,
        "objectives": "Leaders learn digital skills from junior colleagues.",
        "targets": TARGETS,
        "cadence_days": 14,
        "duration_weeks": 26,
        "focus_areas": ["digital-skills"],
        "languages": ["en"],
        **groups,
    }
    reply = httpx.post(f"{enrolment.url}/programs", json=body, headers=bearer(token), timeout=30)
    assert reply.status_code == 201, reply.text
    return reply.json()["program"]["program_id"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def readers(keycloak: Keycloak, child_env_module: dict[str, str]):
    """Matching and insights as real processes on the realm's tokens."""
    env = service_env(child_env_module, **keycloak.service_env())
    started = [ServiceProcess(name, env).start() for name in ("matching", "insights")]
    yield dict(zip(("matching", "insights"), started, strict=True))
    assert [service.stop() for service in started] == [0, 0]


@pytest.fixture(scope="module")
def programs(keycloak: Keycloak, enrolment: ServiceProcess, readers) -> dict[str, str]:
    """Program A, run by the digital business unit and sponsored by the executive sponsors; program B, HR's. Both
    launched with Keycloak tokens; the test waits until matching and insights have heard of them."""
    a = launch(
        enrolment,
        keycloak.password_token("bu.admin"),
        "Digital unit's program",
        admin_groups=["digital-bu-admins"],
        sponsor_groups=["executive-sponsors"],
    )
    b = launch(enrolment, keycloak.password_token("hr.admin"), "HR's program", admin_groups=["hr-programs"])
    auditor = bearer(keycloak.password_token("auditor"))
    for program in (a, b):
        pool = f"{readers['matching'].url}/programs/{program}/pool"
        eventually(lambda pool=pool: httpx.get(pool, headers=auditor).status_code == 200, what=f"matching's {program}")
        report = f"{readers['insights'].url}/programs/{program}/report"
        eventually(lambda r=report: httpx.get(r, headers=auditor).status_code == 200, what=f"insights' {program}")
    return {"A": a, "B": b}


def test_a_business_units_admin_runs_its_program_only(keycloak: Keycloak, readers, programs):
    admin = bearer(keycloak.password_token("bu.admin"))
    matching, insights = readers["matching"].url, readers["insights"].url
    # A's round gets past the roles to the rule that an empty pool forms no round (409); B's stops at the role.
    for program, expected in ((programs["A"], [409, 200, 200]), (programs["B"], [403, 403, 403])):
        answers = [
            httpx.post(f"{matching}/programs/{program}/rounds/preview", headers=admin, timeout=30).status_code,
            httpx.get(f"{matching}/programs/{program}/pairs", headers=admin).status_code,
            httpx.get(f"{insights}/programs/{program}/report", headers=admin).status_code,
        ]
        assert answers == expected, (program, answers)
    me = httpx.get(f"{insights}/me", headers=admin).json()
    assert programs["A"] in me["administers"] and programs["B"] not in me["administers"]
    listed = {p["program_id"] for p in httpx.get(f"{insights}/programs", headers=admin).json()}
    assert programs["A"] in listed and programs["B"] not in listed


def test_an_executive_sponsor_reads_its_programs_dashboard_and_changes_nothing(keycloak: Keycloak, readers, programs):
    sponsor = bearer(keycloak.password_token("exec.sponsor"))
    matching, insights = readers["matching"].url, readers["insights"].url
    assert httpx.get(f"{insights}/programs/{programs['A']}/report", headers=sponsor).status_code == 200
    assert httpx.get(f"{insights}/programs/{programs['B']}/report", headers=sponsor).status_code == 403
    assert httpx.post(f"{matching}/programs/{programs['A']}/rounds", headers=sponsor).status_code == 403
    assert httpx.post(f"{matching}/programs/{programs['A']}/rounds/preview", headers=sponsor).status_code == 403
    me = httpx.get(f"{insights}/me", headers=sponsor).json()
    assert (programs["A"] in me["sponsors"], programs["A"] in me["oversees"], me["administers"]) == (True, True, [])


def test_an_employee_reads_no_programs_dashboard(keycloak: Keycloak, readers, programs):
    employee = bearer(keycloak.password_token(username(organisation()[7])))
    assert httpx.get(f"{readers['insights'].url}/programs/{programs['A']}/report", headers=employee).status_code == 403
    me = httpx.get(f"{readers['matching'].url}/me", headers=employee).json()
    assert me["participant_id"] and me["roles"] == ["participant"] and me["pairs"] == []
