"""Issue #16 "must be proven" against the real services (Kafka, PostgreSQL, the services as processes): a program
requires a shipped module and one of its own; its participants enter matching's pool only once they have passed
both knowledge checks. Until then a round leaves them out with the reason `training incomplete: <module ids>` and
the pool counts them as awaiting training; the mentee missing one module keeps the pair from forming."""

from __future__ import annotations

import httpx
import pytest

from tests.support.bodies import person
from tests.support.services import eventually, signed_in, token

ADMIN = token("program_admin")
MENTOR, MENTEE = "TR-M1", "TR-S1"
SHIPPED = "two-way-partnership"
OWN = "program-house-rules"
OWN_MODULE = f"""---
module_id: {OWN}
title: Our program's house rules
for_roles: [both]
minutes: 5
questions:
  - id: q1
    prompt: Who books the first session?
    choices:
      a: The mentor
      b: The mentee
    answers: [b]
---

# House rules

The mentee books the first session within two weeks of the pair forming.
"""
ANSWERS = {SHIPPED: {"q1": ["a", "b", "c"], "q2": ["b"], "q3": ["a"]}, OWN: {"q1": ["b"]}}


def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


@pytest.fixture(scope="module")
def urls(platform) -> dict[str, str]:
    return {name: service.url for name, service in platform.items()}


@pytest.fixture(scope="module")
def program_id(urls) -> str:
    enrolment = urls["enrolment"]
    body = {"title": "Trained first", "languages": ["en"], "required_modules": [SHIPPED]}
    program = ok(httpx.post(f"{enrolment}/programs", json=body, headers=ADMIN), 201)["program"]["program_id"]
    published = httpx.put(
        f"{enrolment}/programs/{program}/training/{OWN}",
        content=OWN_MODULE.encode(),
        headers={**ADMIN, "Content-Type": "text/markdown"},
    )
    assert ok(published)["module"]["version"] == 1
    changed = ok(
        httpx.patch(f"{enrolment}/programs/{program}", json={"required_modules": [SHIPPED, OWN]}, headers=ADMIN)
    )
    assert changed["program"]["required_modules"] == [SHIPPED, OWN]
    for employee_id, role, grade in ((MENTOR, "mentor", 2), (MENTEE, "mentee", 9)):
        enrolled = httpx.post(
            f"{enrolment}/programs/{program}/participants",
            json=person(employee_id, role=role, grade=grade, birth_year=1999 if grade < 5 else 1968),
            headers=signed_in(employee_id),
        )
        ok(enrolled, 201)
    return program


def pool(urls, program_id: str) -> dict:
    return httpx.get(f"{urls['matching']}/programs/{program_id}/pool", headers=ADMIN).json()


def reasons(urls, program_id: str) -> dict[str, str]:
    preview = ok(httpx.post(f"{urls['matching']}/programs/{program_id}/rounds/preview", headers=ADMIN, timeout=60))
    assert preview["pairs"] == []
    return {u["participant_id"]: u["detail"] for u in preview["unmatched"]}


def complete(urls, program_id: str, employee_id: str, module_id: str) -> dict:
    url = f"{urls['enrolment']}/programs/{program_id}/training/{module_id}/check"
    return ok(httpx.post(url, json={"answers": ANSWERS[module_id]}, headers=signed_in(employee_id)))


def id_in(urls: dict, program_id: str, employee_id: str) -> str:
    """The person's id in the program, as their enrolment names it (one per program, ADR 0011)."""
    me = ok(httpx.get(f"{urls['enrolment']}/me", headers=signed_in(employee_id)))
    return next(e["participant_id"] for e in me["enrolments"] if e["program_id"] == program_id)


def test_participants_enter_the_pool_only_after_completing_the_required_training(urls, program_id):
    mine = {
        who: ok(httpx.get(f"{urls['enrolment']}/programs/{program_id}/training", headers=signed_in(who)))
        for who in (MENTOR, MENTEE)
    }
    assert [plan["left_to_do"] for plan in mine.values()] == [[SHIPPED, OWN], [SHIPPED, OWN]]
    mentor_id, mentee_id = (id_in(urls, program_id, who) for who in (MENTOR, MENTEE))

    eventually(lambda: pool(urls, program_id).get("active") == 2, 60, "matching to hold both")
    assert pool(urls, program_id)["awaiting_training"] == 2
    missing_both = f"training incomplete: {SHIPPED}, {OWN}"
    assert reasons(urls, program_id) == {mentor_id: missing_both, mentee_id: missing_both}

    # The mentor passes both; the mentee only the shipped module: the missing one keeps the mentee out, by name.
    for module_id in (SHIPPED, OWN):
        assert complete(urls, program_id, MENTOR, module_id)["passed"]
    assert complete(urls, program_id, MENTEE, SHIPPED)["event_log"] is not None
    eventually(lambda: pool(urls, program_id)["awaiting_training"] == 1, 60, "matching to learn the completions")
    held_out = reasons(urls, program_id)
    assert held_out[mentee_id] == f"training incomplete: {OWN}"
    assert held_out[mentor_id].startswith("no eligible mentee")

    assert complete(urls, program_id, MENTEE, OWN)["passed"]
    eventually(lambda: pool(urls, program_id)["awaiting_training"] == 0, 60, "matching to learn the last completion")
    round_ = ok(httpx.post(f"{urls['matching']}/programs/{program_id}/rounds", headers=ADMIN, timeout=60), 201)
    assert [(p["mentor_id"], p["mentee_id"]) for p in round_["pairs"]] == [(mentor_id, mentee_id)]
    assert round_["unmatched"] == []

    # Insights follows from the events alone: two people trained, four module completions, and each by-role cell
    # (one mentor, one mentee) under 5 people is suppressed rather than shown.
    def counted() -> dict | None:
        report = httpx.get(f"{urls['insights']}/programs/{program_id}/report", headers=ADMIN, timeout=30)
        figures = report.json()["recognition"] if report.status_code == 200 else {}
        return figures if figures.get("modules_completed") == 4 else None

    figures = eventually(counted, 60, "insights to count the training")
    assert figures["trained"] == 2
    assert figures["trained_by_role"] == {"mentor": None, "mentee": None, "both": 0}
