"""Matching over HTTP with enrolment, both as real processes on the real Kafka and PostgreSQL: what crosses the
broker (the pool learnt from enrolment's events, withdrawals dissolving pairs). The API's own rules (constraints,
roles, validation, dissolving once) are tested in-process in tests/matching/test_matching_http.py."""

import httpx
import pytest

from shared.pseudonyms import DEV_PSEUDONYM_KEY, pseudonym
from tests.support.services import ServiceProcess, eventually, service_env, signed_in, token

ADMIN = token("program_admin")


@pytest.fixture(scope="module")
def services(child_env_module):
    env = service_env(child_env_module)
    running = {name: ServiceProcess(name, env).start() for name in ("enrolment", "matching")}
    yield running
    assert all(s.stop() == 0 for s in running.values())


def pid(employee_id: str, program: dict) -> str:
    """The employee's id in the program (per program, ADR 0011)."""
    return pseudonym(DEV_PSEUDONYM_KEY, program["program_id"], employee_id)


def person(employee_id: str, role: str, grade: int, **extra) -> dict:
    return {
        "employee_id": employee_id,
        "display_name": employee_id,
        "email": f"{employee_id}@example.com",
        "role": role,
        "grade": grade,
        "birth_year": 2000 if grade < 5 else 1970,
        "department": "IT",
        "time_zone": "Europe/Paris",
        "languages": ["en"],
        "consent": True,
        "skills_offered": ["ai"],
        "skills_wanted": ["strategy"],
        **extra,
    }


# Mentees M1..M4 (senior); mentors J1..J5 (junior). J1 reports to M1, so they must never pair; J2 takes two
# mentees; J3 speaks only Finnish; J4 withdraws before the round; J5 is senior to every mentee; J6 is plain.
# Eligible mentor slots (J1, J2 twice, J6) are exactly enough for the four mentees.
PEOPLE = [
    person("M1", "mentee", 8),
    person("M2", "mentee", 8),
    person("M3", "mentee", 9),
    person("M4", "mentee", 7),
    person("J1", "mentor", 2, reporting_chain=["M1"]),
    person("J2", "mentor", 2, capacity=2),
    person("J3", "mentor", 1, languages=["fi"]),
    person("J4", "mentor", 3),
    person("J5", "mentor", 10),
    person("J6", "mentor", 3),
]


@pytest.fixture(scope="module")
def round_(services):
    enrolment, matching = services["enrolment"].url, services["matching"].url
    with httpx.Client(timeout=60) as http:
        program = http.post(
            f"{enrolment}/programs",
            headers=ADMIN,
            json={"title": "Constraints", "cadence_days": 14, "duration_weeks": 10, "optimize_for": "participation"},
        ).json()["program"]
        url = f"{enrolment}/programs/{program['program_id']}/participants"
        for p in PEOPLE:
            assert http.post(url, json=p, headers=signed_in(p["employee_id"])).status_code == 201
        assert http.post(f"{url}/{pid('J4', program)}/withdraw", headers=ADMIN).status_code == 200
        pool = f"{matching}/programs/{program['program_id']}/pool"
        eventually(
            lambda: (
                _json(http, pool)
                == {"program_id": program["program_id"], "active": 9, "withdrawn": 1, "awaiting_training": 0}
            ),
            60,
            what="matching's pool",
        )
        committed = http.post(f"{matching}/programs/{program['program_id']}/rounds", headers=ADMIN)
        assert committed.status_code == 201, committed.text
        yield program, committed.json()


def _json(http: httpx.Client, url: str):
    response = http.get(url, headers=ADMIN)
    return response.json() if response.status_code == 200 else None


def couples(round_json) -> set[tuple[str, str]]:
    return {(p["mentor_id"], p["mentee_id"]) for p in round_json["pairs"]}


def test_a_reporting_line_crosses_from_enrolment_as_pseudonyms_and_no_pair_crosses_it(round_):
    assert (pid("J1", round_[0]), pid("M1", round_[0])) not in couples(round_[1])


def test_a_withdrawal_before_the_round_keeps_the_participant_out_of_it(round_):
    assert all(pid("J4", round_[0]) not in pair for pair in couples(round_[1]))
    assert {e for _, e in couples(round_[1])} == {pid(m, round_[0]) for m in ("M1", "M2", "M3", "M4")}


def test_withdrawing_a_paired_participant_dissolves_the_pair(services, round_):
    program, committed = round_
    pair = next(p for p in committed["pairs"] if p["mentee_id"] == pid("M3", program))
    with httpx.Client(timeout=30) as http:
        http.post(
            f"{services['enrolment'].url}/programs/{program['program_id']}/participants/{pid('M3', program)}/withdraw",
            headers=ADMIN,
        ).raise_for_status()
        url = f"{services['matching'].url}/pairs/{pair['pair_id']}"
        eventually(lambda: (_json(http, url) or {}).get("status") == "dissolved", 60, what="dissolution")
        assert _json(http, url)["dissolve_reason"] == "participant withdrew"
