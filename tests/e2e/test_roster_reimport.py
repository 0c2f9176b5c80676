"""The roster on the real servers (issue #14): a 1 000-row CSV import derives chains from manager ids; a re-import
that moves a mentee under their mentor flags the pair (or dissolves it, in a program set to dissolve)."""

from __future__ import annotations

import httpx

from shared.auth import issue_token
from shared.pseudonyms import DEV_PSEUDONYM_KEY, pseudonym
from tests.support.bodies import person
from tests.support.services import eventually, token

ADMIN = token("program_admin")
PEOPLE = 1_000
MENTOR, MENTEE = "R-0900", "R-0990"  # in different branches of the tree: neither is in the other's line


def manager_of(i: int) -> str | None:
    return None if i == 0 else f"R-{(i - 1) // 4:04d}"  # a four-way tree, six levels deep


def chain_of(i: int) -> list[str]:
    chain, boss = [], manager_of(i)
    while boss is not None:
        chain.append(boss)
        boss = manager_of(int(boss[2:]))
    return chain


def csv_roster(moved: dict[str, str] | None = None) -> str:
    lines = ["employee_id,display_name,email,department,grade,manager_id,languages,time_zone"]
    for i in range(PEOPLE):
        employee_id = f"R-{i:04d}"
        grade = {MENTOR: 2, MENTEE: 8}.get(employee_id, 5)
        boss = (moved or {}).get(employee_id, manager_of(i)) or ""
        lines.append(f"{employee_id},Person {i},r{i}@example.com,Dept {i % 7},{grade},{boss},en;fr,Europe/Paris")
    return "\n".join(lines) + "\n"


def pooled(http: httpx.Client, url: str) -> dict | None:
    response = http.get(url, headers=ADMIN)
    return response.json() if response.status_code == 200 else None


def import_csv(http: httpx.Client, url: str, text: str) -> dict:
    response = http.post(f"{url}/roster/csv", files={"file": ("roster.csv", text)}, headers=ADMIN, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_re_import_moving_a_mentee_under_the_mentor_flags_or_dissolves_the_pair(platform):
    enrolment, matching = platform["enrolment"].url, platform["matching"].url
    with httpx.Client(timeout=60) as http:
        report = import_csv(http, enrolment, csv_roster())
        assert (report["accepted"], report["rejected"]) == (PEOPLE, [])
        # The roster is the organisation's, shared with this run's other tests: read it whole, keep this tree's rows.
        roster, page, total = {}, 1, None
        while total is None or (page - 1) * 500 < total:
            listed = http.get(f"{enrolment}/roster", params={"page": page, "page_size": 500}, headers=ADMIN)
            total, page = int(listed.headers["X-Total-Count"]), page + 1
            roster |= {e["employee_id"]: e["reporting_chain"] for e in listed.json() if e["employee_id"][:2] == "R-"}
        assert len(roster) == PEOPLE
        for i in (0, 1, 4, 5, 21, 341, 999):
            assert roster[f"R-{i:04d}"] == chain_of(i)

        programs = {}
        for conflict in ("flag", "dissolve"):
            body = {"title": f"Roster {conflict}", "cadence_days": 14, "duration_weeks": 12}
            launched = http.post(
                f"{enrolment}/programs", json={**body, "on_reporting_conflict": conflict}, headers=ADMIN
            )
            assert launched.status_code == 201, launched.text
            programs[conflict] = program_id = launched.json()["program"]["program_id"]
            for employee_id, role, grade in ((MENTOR, "mentor", 2), (MENTEE, "mentee", 8)):
                own_id = pseudonym(DEV_PSEUDONYM_KEY, program_id, employee_id)
                own = {"Authorization": f"Bearer {issue_token(own_id, ['participant'])}"}
                body = person(
                    employee_id,
                    role=role,
                    grade=grade,
                    department=f"Dept {int(employee_id[2:]) % 7}",
                    reporting_chain=roster[employee_id],
                    languages=["en"],
                )
                enrolled = http.post(f"{enrolment}/programs/{program_id}/participants", json=body, headers=own)
                assert enrolled.status_code == 201, enrolled.text
            pool = f"{matching}/programs/{program_id}/pool"
            eventually(lambda pool=pool: (pooled(http, pool) or {}).get("active") == 2, 60, "both in the pool")
            committed = http.post(f"{matching}/programs/{program_id}/rounds", headers=ADMIN)
            assert committed.status_code == 201, committed.text
            assert len(committed.json()["pairs"]) == 1

        report = import_csv(http, enrolment, csv_roster(moved={MENTEE: MENTOR}))
        assert report["accepted"] == PEOPLE and report["participants_updated"] == 2

        def pair(conflict: str) -> dict:
            [found] = http.get(f"{matching}/programs/{programs[conflict]}/pairs", headers=ADMIN).json()
            return found

        flagged = eventually(lambda: pair("flag")["flags"] and pair("flag"), 60, "the pair flagged")
        assert flagged["status"] == "active"
        assert [f["rule"] for f in flagged["flags"]] == ["reporting_line"]
        dissolved = eventually(lambda: pair("dissolve")["status"] == "dissolved" and pair("dissolve"), 60, "dissolved")
        assert "reporting_line" in dissolved["dissolve_reason"] and dissolved["flags"] == []
