"""Matching over HTTP with enrolment, both as real processes on the real Kafka and PostgreSQL."""

import httpx
import pytest

from services.enrolment.config import DEV_PSEUDONYM_KEY
from services.enrolment.domain.model import pseudonym
from tests.support.services import ServiceProcess, eventually, service_env, token

pytestmark = pytest.mark.infra
ADMIN = token("program_admin")


@pytest.fixture(scope="module")
def services(child_env_module):
    env = service_env(child_env_module)
    running = {name: ServiceProcess(name, env).start() for name in ("enrolment", "matching")}
    yield running
    assert all(s.stop() == 0 for s in running.values())


def pid(employee_id: str) -> str:
    return pseudonym(DEV_PSEUDONYM_KEY, employee_id)


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
            assert http.post(url, json=p, headers=ADMIN).status_code == 201
        assert http.post(f"{url}/{pid('J4')}/withdraw", headers=ADMIN).status_code == 200
        pool = f"{matching}/programs/{program['program_id']}/pool"
        eventually(
            lambda: _json(http, pool) == {"program_id": program["program_id"], "active": 9, "withdrawn": 1},
            60,
            what="matching's pool",
        )
        preview = http.post(f"{matching}/programs/{program['program_id']}/rounds/preview", headers=ADMIN).json()
        assert http.get(f"{matching}/programs/{program['program_id']}/pairs", headers=ADMIN).json() == []
        committed = http.post(f"{matching}/programs/{program['program_id']}/rounds", headers=ADMIN)
        assert committed.status_code == 201, committed.text
        yield program, preview, committed.json()


def _json(http: httpx.Client, url: str):
    response = http.get(url, headers=ADMIN)
    return response.json() if response.status_code == 200 else None


def couples(round_json) -> set[tuple[str, str]]:
    return {(p["mentor_id"], p["mentee_id"]) for p in round_json["pairs"]}


def test_preview_proposes_what_commit_forms(round_):
    _, preview, committed = round_
    assert couples(preview) == couples(committed)


def test_no_pair_crosses_a_reporting_line(round_):
    assert (pid("J1"), pid("M1")) not in couples(round_[2])


def test_no_mentor_is_senior_to_the_mentee_and_no_language_is_missing(round_):
    mentors = {m for m, _ in couples(round_[2])}
    assert pid("J5") not in mentors and pid("J3") not in mentors


def test_a_withdrawn_participant_is_never_matched(round_):
    assert all(pid("J4") not in pair for pair in couples(round_[2]))


def test_capacity_is_respected_and_used(round_):
    mentors = [m for m, _ in couples(round_[2])]
    assert mentors.count(pid("J2")) == 2 and all(mentors.count(m) == 1 for m in set(mentors) - {pid("J2")})


def test_every_mentee_is_matched_when_participation_comes_first(round_):
    assert {e for _, e in couples(round_[2])} == {pid(m) for m in ("M1", "M2", "M3", "M4")}


def test_every_pair_carries_its_score_and_breakdown(round_):
    for pair in round_[2]["pairs"]:
        assert pair["score"] == pytest.approx(sum(pair["breakdown"].values()))


def test_unmatched_participants_come_with_a_reason(round_):
    reasons = {u["participant_id"]: u["reason"] for u in round_[2]["unmatched"]}
    assert pid("J5") in reasons and pid("J3") in reasons


def test_withdrawing_a_paired_participant_dissolves_the_pair(services, round_):
    program, _, committed = round_
    pair = next(p for p in committed["pairs"] if p["mentee_id"] == pid("M3"))
    with httpx.Client(timeout=30) as http:
        http.post(
            f"{services['enrolment'].url}/programs/{program['program_id']}/participants/{pid('M3')}/withdraw",
            headers=ADMIN,
        ).raise_for_status()
        url = f"{services['matching'].url}/pairs/{pair['pair_id']}"
        dissolved = eventually(lambda: (_json(http, url) or {}).get("status") == "dissolved", 60, what="dissolution")
    assert dissolved


def test_a_pair_is_dissolved_with_a_reason_once(services, round_):
    pair = round_[2]["pairs"][0]
    url = f"{services['matching'].url}/pairs/{pair['pair_id']}/dissolve"
    with httpx.Client(timeout=30) as http:
        first = http.post(url, json={"reason": "schedules never matched"}, headers=ADMIN)
        second = http.post(url, json={"reason": "again"}, headers=ADMIN)
    assert first.json()["status"] == "dissolved" and second.json()["dissolve_reason"] == "schedules never matched"


def test_a_member_sees_its_pair_but_not_others(services, round_):
    pair = round_[2]["pairs"][0]
    url = f"{services['matching'].url}/pairs/{pair['pair_id']}"
    assert httpx.get(url, headers=token("participant", pair["mentor_id"])).status_code == 200
    assert httpx.get(url, headers=token("participant", "p-someone-else")).status_code == 403
