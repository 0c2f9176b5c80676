"""Per-program roles without servers (issue #14): the shared dependency, then each service's rules over its
in-memory unit of work (matching, sessions) or an in-memory staff reader (insights), through ASGI."""

from __future__ import annotations

import httpx
import pytest
from fastapi import Depends, FastAPI

from services.insights import bootstrap as insights_bootstrap
from services.insights.entrypoints import http as insights_http
from services.matching import bootstrap as matching_bootstrap
from services.matching.entrypoints import http as matching_http
from services.matching.service_layer.unit_of_work import InMemoryMatchingUnitOfWork, MatchingState
from services.sessions import bootstrap as sessions_bootstrap
from services.sessions.adapters.memory import SessionsState
from services.sessions.domain.model import Pair
from services.sessions.entrypoints import http as sessions_http
from services.sessions.service_layer.unit_of_work import InMemorySessionsUnitOfWork
from shared import problems, program_staff
from shared.auth import Principal, ProgramStaff, issue_token
from shared.eventstore import InMemoryEventStore
from shared.http import create_app
from tests.support.bodies import session
from tests.support.matching_pool import constrained_pool, launched, seed

A, B = "prg-a", "prg-b"
STAFF = {
    A: ProgramStaff.of(["digital-bu-admins"], ["executive-sponsors"]),
    B: ProgramStaff.of(["hr-programs"]),
}


def bearer(roles: list[str], groups: list[str] | None = None, subject: str = "caller", **claims) -> dict:
    return {"Authorization": f"Bearer {issue_token(subject, roles, groups=groups, **claims)}"}


BU_ADMIN = bearer(["program_admin"], ["digital-bu-admins"])
HR_ADMIN = bearer(["program_admin"], ["hr-programs"])
ANY_ADMIN = bearer(["program_admin"])  # no groups: runs only programs naming no admin group
SPONSOR = bearer(["executive_sponsor"], ["executive-sponsors"])
AUDITOR = bearer(["auditor"])


# ------------------------------------------------------------------------------------------ the dependency


@pytest.fixture
async def guarded():
    reader = program_staff.InMemoryProgramStaff({**STAFF, "prg-open": ProgramStaff()})
    app = FastAPI()
    problems.install(app)  # Forbidden and NotFound answered as every service answers them
    for rule in ("administers", "oversees"):

        @app.get(f"/{rule}/{{program_id}}")
        async def route(principal: Principal = Depends(program_staff.program_role(rule, lambda: reader))) -> str:  # noqa: B008
            return principal.subject

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        yield client


@pytest.mark.parametrize(
    "rule, program, headers, status",
    [
        ("administers", A, BU_ADMIN, 200),
        ("administers", B, BU_ADMIN, 403),
        ("administers", "prg-open", BU_ADMIN, 200),
        ("administers", "prg-open", ANY_ADMIN, 200),
        ("administers", A, ANY_ADMIN, 403),
        ("administers", A, SPONSOR, 403),
        ("administers", A, AUDITOR, 403),
        ("administers", "prg-unknown", BU_ADMIN, 404),
        ("oversees", A, SPONSOR, 200),
        ("oversees", B, SPONSOR, 403),
        ("oversees", B, AUDITOR, 200),
        ("oversees", A, BU_ADMIN, 200),
        ("oversees", B, BU_ADMIN, 403),
        ("oversees", A, bearer(["participant"]), 403),
        ("oversees", "prg-unknown", AUDITOR, 404),
    ],
)
async def test_the_program_role_dependency(guarded, rule, program, headers, status):
    reply = await guarded.get(f"/{rule}/{program}", headers=headers)
    assert reply.status_code == status, reply.text
    if status == 403:
        assert reply.json()["detail"] == program_staff.REFUSALS[rule]


# ---------------------------------------------------------------------------------------------------- matching


@pytest.fixture
async def matching():
    state, store = MatchingState(), InMemoryEventStore()
    app = matching_bootstrap.build()
    app.dependency_overrides[matching_http.unit_of_work] = lambda: InMemoryMatchingUnitOfWork(state, store)
    uow = InMemoryMatchingUnitOfWork(state, store)
    await seed(uow, A, constrained_pool(A))
    async with uow:  # seed() launches with no groups; A names its staff as ProgramLaunched would
        state.programs[A] = {**launched(A, optimize_for="participation"), "admin_groups": ["digital-bu-admins"]}
        state.programs[A]["sponsor_groups"] = ["executive-sponsors"]
        await uow.programs.add(B, {**launched(B), "admin_groups": ["hr-programs"]})
    base = f"http://matching{matching_bootstrap.SPEC.prefix}"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base) as client:
        yield client


async def test_matching_rounds_belong_to_the_programs_admins(matching):
    assert (await matching.post(f"/programs/{A}/rounds/preview", headers=HR_ADMIN)).status_code == 403
    assert (await matching.post(f"/programs/{A}/rounds", headers=SPONSOR)).status_code == 403
    committed = await matching.post(f"/programs/{A}/rounds", headers=BU_ADMIN)
    assert committed.status_code == 201, committed.text
    pair = committed.json()["pairs"][0]
    assert (await matching.get(f"/programs/{A}/pairs", headers=SPONSOR)).status_code == 200
    assert (await matching.get(f"/programs/{A}/pairs", headers=HR_ADMIN)).status_code == 403
    assert (await matching.get(f"/programs/{A}/pool", headers=HR_ADMIN)).status_code == 403
    # A pair by id: its program's overseers read it, its admins dissolve it, another program's admin neither.
    assert (await matching.get(f"/pairs/{pair['pair_id']}", headers=HR_ADMIN)).status_code == 403
    assert (await matching.get(f"/pairs/{pair['pair_id']}", headers=AUDITOR)).status_code == 200
    end = {"reason": "moved team"}
    assert (await matching.post(f"/pairs/{pair['pair_id']}/dissolve", json=end, headers=HR_ADMIN)).status_code == 403
    mentor = bearer(["participant"], subject=pair["mentor_id"])
    me = (await matching.get("/me", headers=mentor)).json()
    assert me["participant_id"] == pair["mentor_id"] and me["administers"] == []
    mine = next(p for p in me["pairs"] if p["pair_id"] == pair["pair_id"])
    assert (mine["program_id"], mine["my_role"], mine["partner_participant_id"]) == (A, "mentor", pair["mentee_id"])
    assert (await matching.post(f"/pairs/{pair['pair_id']}/dissolve", json=end, headers=BU_ADMIN)).status_code == 200
    assert pair["pair_id"] not in {p["pair_id"] for p in (await matching.get("/me", headers=mentor)).json()["pairs"]}


async def test_matching_me_lists_the_programs_an_admin_runs_and_a_sponsor_sponsors(matching):
    assert (await matching.get("/me", headers=BU_ADMIN)).json()["administers"] == [A]
    assert (await matching.get("/me", headers=HR_ADMIN)).json()["administers"] == [B]
    sponsor = (await matching.get("/me", headers=SPONSOR)).json()
    assert (sponsor["administers"], sponsor["sponsors"], sponsor["participant_id"]) == ([], [A], None)


# ---------------------------------------------------------------------------------------------------- sessions


@pytest.fixture
async def sessions():
    state = SessionsState(
        pairs={"pair-a": Pair("pair-a", A, "p-mentor", "p-mentee"), "pair-b": Pair("pair-b", B, "p-mentor", "p-x")},
        program_staff=dict(STAFF),
    )
    app = sessions_bootstrap.build()
    app.dependency_overrides[sessions_http.unit_of_work] = lambda: InMemorySessionsUnitOfWork(state)
    base = f"http://sessions{sessions_bootstrap.SPEC.prefix}"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base) as client:
        yield client


async def test_sessions_an_admin_reaches_only_the_pairs_of_its_programs(sessions):
    assert (await sessions.get("/pairs/pair-a", headers=BU_ADMIN)).status_code == 200
    assert (await sessions.get("/pairs/pair-b", headers=BU_ADMIN)).status_code == 403
    assert (await sessions.get("/pairs/pair-b/sessions", headers=BU_ADMIN)).status_code == 403
    body = session()
    assert (await sessions.post("/pairs/pair-b/sessions", json=body, headers=BU_ADMIN)).status_code == 403
    assert (await sessions.post("/pairs/pair-a/sessions", json=body, headers=BU_ADMIN)).status_code == 201
    listed = (await sessions.get("/participants/p-mentor/pairs", headers=BU_ADMIN)).json()
    assert [p["pair_id"] for p in listed] == ["pair-a"]
    assert len((await sessions.get("/participants/p-mentor/pairs", headers=AUDITOR)).json()) == 2


async def test_sessions_me_counts_my_pairs_sessions(sessions):
    body = session()
    mentor = bearer(["participant"], subject="p-mentor")
    assert (await sessions.post("/pairs/pair-a/sessions", json=body, headers=mentor)).status_code == 201
    me = (await sessions.get("/me", headers=mentor)).json()
    assert me["participant_id"] == "p-mentor"
    assert {(p["pair_id"], p["partner_participant_id"], p["sessions"]) for p in me["pairs"]} == {
        ("pair-a", "p-mentee", 1),
        ("pair-b", "p-x", 0),
    }


# ---------------------------------------------------------------------------------------------------- insights


@pytest.fixture
async def insights():
    app = create_app(insights_bootstrap.SPEC)
    app.dependency_overrides[insights_http.staff] = lambda: program_staff.InMemoryProgramStaff(STAFF)
    base = f"http://insights{insights_bootstrap.SPEC.prefix}"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base) as client:
        yield client


@pytest.mark.parametrize("path", ["report", "pairs", "export.csv"])
async def test_insights_refuses_a_sponsor_or_admin_of_another_program(insights, path):
    """Refused before any fact is read (the app's pool is never opened: its lifespan does not run)."""
    for headers in (SPONSOR, BU_ADMIN, bearer(["participant"])):
        assert (await insights.get(f"/programs/{B}/{path}", headers=headers)).status_code == 403


async def test_insights_me_names_the_programs_a_caller_oversees(insights):
    assert (await insights.get("/me", headers=SPONSOR)).json()["oversees"] == [A]
    assert (await insights.get("/me", headers=AUDITOR)).json()["oversees"] == [A, B]
    employee = (await insights.get("/me", headers=bearer(["participant"], employee_id="E1001"))).json()
    assert employee["oversees"] == [] and employee["participant_id"] not in (None, "caller", "E1001")
