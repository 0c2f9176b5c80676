"""Issue #15's figures as pure functions of hand-built facts (proposals, agreements, goals advanced, completed versus
dissolved pairs, reflections), as of several instants; the CSV's completed and dissolved rows; the overview's rule
on which programs a caller sees. Every expected value is worked out by hand."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.insights import bootstrap
from services.insights.domain import metrics
from services.insights.domain.facts import (
    Answer,
    Expiry,
    Facts,
    Goal,
    Pair,
    Program,
    Proposal,
    Reflection,
    Session,
    SignedAgreement,
)
from services.insights.domain.report import Overview, OverviewRow
from services.insights.entrypoints import http
from services.insights.entrypoints.http import to_csv
from shared.auth import ProgramStaff, issue_token
from shared.metrics_catalogue import METRICS
from shared.program_staff import InMemoryProgramStaff


def token(*roles: str, groups: list[str] | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token('staff-1', list(roles), groups=groups or [])}"}


T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PROGRAM = Program("prg-1", "Digital leaders", cadence_days=14, duration_weeks=12, targets={}, launched_at=T0)


def hour(n: float) -> datetime:
    return T0 + timedelta(hours=n)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def accept(pair_id: str, who: str, at: datetime) -> Answer:
    return Answer(pair_id, who, True, None, at)


def decline(pair_id: str, who: str, at: datetime, code="not_a_fit") -> Answer:
    return Answer(pair_id, who, False, code, at)


def session(sid: str, pair_id: str, at: datetime, goals=()) -> Session:
    return Session(sid, pair_id, at.date(), 30, (), "both", at, tuple(goals))


def a_program() -> Facts:
    """Five proposals at hour 0: p1 accepted after 6 hours, p2 after 30, p3 declined (no_time), p4 expired, p5
    pending; plus m1, a manual pair never proposed. p1 signs an agreement and completes; p2 dissolves; m1 runs."""
    proposals = [Proposal(f"p{i}", "both", hour(0)) for i in range(1, 6)]
    return Facts(
        program=PROGRAM,
        proposals=proposals,
        answers=[
            accept("p1", "a", hour(2)),
            accept("p1", "b", hour(6)),
            accept("p2", "c", hour(30)),
            accept("p3", "e", hour(1)),  # accepted by one, then declined by the other: declined
            decline("p3", "f", hour(4), "no_time"),
        ],
        expiries=[Expiry("p4", hour(168))],
        pairs=[
            Pair("p1", "a", "b", hour(6), proposed_at=hour(0), completed_at=day(80), completed_by="members"),
            Pair("p2", "c", "d", hour(30), proposed_at=hour(0), dissolved_at=day(20), dissolution_reason="no_time"),
            Pair("m1", "g", "h", day(2), origin="manual"),
        ],
        goals=[
            Goal("p1", "g1", "mentor_to_mentee", day(1)),
            Goal("p1", "g2", "mentee_to_mentor", day(1)),
            Goal("m1", "g1", "mentee_to_mentor", day(3)),  # goal ids are the pair's own: m1's g1 is another goal
        ],
        agreements=[
            SignedAgreement("p1", 1, day(2)),
            SignedAgreement("p1", 2, day(30)),
            SignedAgreement("m1", 1, day(4)),
        ],
        sessions=[
            session("s1", "p1", day(10), ["g1", "g2"]),
            session("s2", "p1", day(24), ["g1", "g1"]),  # a goal named twice in a session counts once
            session("s3", "m1", day(25), ["g1", "g9"]),  # g9 is no goal of m1's agreement: not counted
            session("s4", "p2", day(12)),
        ],
        reflections=[
            Reflection("p1", "a", True, day(80)),
            Reflection("p1", "b", False, day(80)),
            Reflection("p1", "b", True, day(81)),  # b gave it again: the latest counts
        ],
    )


def test_the_partnership_figures_follow_every_proposal_agreement_and_end():
    figures = metrics.partnerships(a_program(), day(90))
    assert figures.model_dump() == {
        "proposals": 5,
        "pending": 1,
        "accepted": 2,
        "declined": 1,
        "expired": 1,
        "acceptance_rate": pytest.approx(2 / 4),
        "median_hours_to_accept": pytest.approx((6 + 30) / 2),
        "agreements_in_force": 1,  # m1; p1's ended with its completion
        "agreements_signed": 2,
        "goals_advanced": {"mentor_to_mentee": 2, "mentee_to_mentor": 2},  # s1: g1, g2; s2: g1; s3: m1's g1
        "completed": 1,
        "dissolved": 1,
        "completion_rate": pytest.approx(1 / 2),
        "completed_by": {"members": 1},
        "decline_reasons": {"no_time": 1, "not_a_fit": 0, "prefer_someone_else": 0, "other": 0},
        "dissolution_reasons": {
            "not_working": 0,
            "no_time": 1,
            "left_program": 0,
            "reporting_line": 0,
            "withdrawn": 0,
            "other": 0,
        },
        "reflections": 2,
        "would_recommend_rate": pytest.approx(1.0),
    }


def test_as_of_an_earlier_instant_only_what_was_known_then_counts():
    facts = a_program()
    early = metrics.partnerships(facts, hour(10))  # p1 started; p3 declined; p2, p4 and p5 wait
    assert (early.proposals, early.pending, early.accepted, early.declined, early.expired) == (5, 3, 1, 1, 0)
    assert early.acceptance_rate == pytest.approx(1 / 2)
    assert early.median_hours_to_accept == pytest.approx(6)
    assert (early.agreements_in_force, early.completed, early.dissolved, early.completion_rate) == (0, 0, 0, None)

    middle = metrics.partnerships(facts, day(21))  # p2 dissolved at day 20; p1 and m1 in force
    assert (middle.agreements_in_force, middle.completed, middle.dissolved) == (2, 0, 1)
    assert middle.completion_rate == 0.0
    assert middle.goals_advanced.model_dump() == {"mentor_to_mentee": 1, "mentee_to_mentor": 1}
    assert (middle.reflections, middle.would_recommend_rate) == (0, None)

    nothing = metrics.partnerships(facts, hour(-1))
    assert (nothing.proposals, nothing.acceptance_rate, nothing.median_hours_to_accept) == (0, None, None)


def test_a_pair_ends_once_completed_or_dissolved_by_whichever_came_first():
    facts = Facts(
        program=PROGRAM,
        pairs=[
            Pair("x", "a", "b", day(0), dissolved_at=day(9), completed_at=day(5), completed_by="admin"),
            Pair("y", "c", "d", day(0), dissolved_at=day(5), dissolution_reason="not_working", completed_at=day(9)),
        ],
    )
    rows = {r.pair_id: r for r in metrics.pair_rows(facts, day(10))}
    assert (rows["x"].status, rows["y"].status) == ("completed", "dissolved")
    assert metrics.pairs(facts, day(10)).model_dump() == {
        "formed": 2,
        "active": 0,
        "dissolved": 1,
        "completed": 1,
        "at_risk": 0,
    }
    assert {r.status for r in metrics.pair_rows(facts, day(4))} == {"active"}


def test_the_report_carries_the_partnerships_and_targets_over_them():
    facts = a_program()
    targets = {"acceptance_rate": 0.8, "completion_rate": 0.5, "agreements_in_force": 4}
    report = metrics.program_report(
        Facts(**{**facts.__dict__, "program": Program(**{**PROGRAM.__dict__, "targets": targets})}), day(90)
    )
    assert report.partnerships == metrics.partnerships(facts, day(90))
    progress = {t.name: (t.actual, t.progress) for t in report.targets}
    assert progress == {
        "acceptance_rate": (0.5, pytest.approx(0.5 / 0.8)),
        "agreements_in_force": (1, 0.25),
        "completion_rate": (0.5, 1.0),
    }


def test_every_catalogued_metric_is_measured():
    assert set(metrics.MEASURES) == set(METRICS)
    report = metrics.program_report(a_program(), day(90))
    assert all(isinstance(measure(report), int | float | None) for measure in metrics.MEASURES.values())


def test_the_csv_tells_completed_from_dissolved_pairs():
    rows = list(csv.DictReader(io.StringIO(to_csv(metrics.pair_rows(a_program(), day(90))))))
    by_pair = {r["pair_id"]: r for r in rows}
    assert {p: r["status"] for p, r in by_pair.items()} == {"p1": "completed", "p2": "dissolved", "m1": "active"}
    assert (by_pair["p1"]["completed_by"], by_pair["p1"]["dissolved_at"], by_pair["p1"]["dissolution_reason"]) == (
        "members",
        "",
        "",
    )
    assert (by_pair["p2"]["dissolution_reason"], by_pair["p2"]["completed_at"], by_pair["p2"]["completed_by"]) == (
        "no_time",
        "",
        "",
    )
    assert by_pair["p2"]["dissolved_at"].startswith("2026-01-25")
    assert (by_pair["m1"]["origin"], by_pair["m1"]["agreement_in_force"], by_pair["p2"]["agreement_in_force"]) == (
        "manual",
        "true",
        "false",
    )


def test_an_overview_row_repeats_the_reports_headline_figures():
    facts = a_program()
    row = metrics.overview_row(facts, day(90))
    report = metrics.program_report(facts, day(90))
    assert (row.proposals, row.acceptance_rate, row.agreements_in_force, row.completed, row.dissolved) == (
        5,
        0.5,
        1,
        1,
        1,
    )
    assert (row.completion_rate, row.active_pairs, row.at_risk) == (0.5, report.pairs.active, report.pairs.at_risk)
    closed = Facts(**{**facts.__dict__, "program": Program(**{**PROGRAM.__dict__, "closed_at": day(60)})})
    assert metrics.overview_row(closed, day(59)).closed_at is None
    assert metrics.overview_row(closed, day(90)).closed_at == day(60)


# The overview's authorization, in-process: which program ids reach the query for each caller.
STAFF = {
    "prg-a": ProgramStaff.of(["grp-a"], ["spn-a"]),
    "prg-b": ProgramStaff.of(["grp-b"], []),
    "prg-c": ProgramStaff.of(["grp-a", "grp-c"], []),
}


@pytest.fixture
async def overview_client(monkeypatch):
    asked: list[list[str]] = []

    async def overview(svc, program_ids, as_of):
        asked.append(list(program_ids))
        rows = [
            OverviewRow(
                program_id=p,
                title=p,
                closed_at=None,
                active_participants=0,
                active_pairs=0,
                proposals=0,
                acceptance_rate=None,
                median_hours_to_accept=None,
                agreements_in_force=0,
                completed=0,
                dissolved=0,
                completion_rate=None,
                at_risk=0,
            )
            for p in program_ids
        ]
        return Overview(as_of=as_of, programs=rows)

    monkeypatch.setattr(http.queries, "overview", overview)
    app = bootstrap.build()
    app.dependency_overrides[http.service] = lambda: None
    app.dependency_overrides[http.staff] = lambda: InMemoryProgramStaff(STAFF)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://insights{bootstrap.SPEC.prefix}") as client:
        yield client, asked


@pytest.mark.parametrize(
    ("roles", "groups", "sees"),
    [
        (("program_admin",), ["grp-a"], ["prg-a", "prg-c"]),  # an admin of two programs
        (("program_admin",), ["grp-b"], ["prg-b"]),
        (("executive_sponsor",), ["spn-a"], ["prg-a"]),
        (("auditor",), [], ["prg-a", "prg-b", "prg-c"]),
        (("program_admin",), ["grp-z"], []),  # an admin of none sees none
    ],
)
async def test_the_overview_shows_only_the_programs_the_caller_oversees(overview_client, roles, groups, sees):
    client, asked = overview_client
    response = await client.get("/overview", headers=token(*roles, groups=groups))
    assert response.status_code == 200, response.text
    assert [row["program_id"] for row in response.json()["programs"]] == sees
    assert asked == [sees]


@pytest.mark.parametrize("roles", [("participant",), ()])
async def test_the_overview_refuses_a_caller_who_oversees_nothing(overview_client, roles):
    client, asked = overview_client
    response = await client.get("/overview", headers=token(*roles) if roles else {})
    assert response.status_code in (401, 403)
    assert asked == []


async def test_the_overview_refuses_an_extreme_as_of(overview_client):
    client, asked = overview_client
    response = await client.get("/overview", params={"as_of": "9999-01-01T00:00:00Z"}, headers=token("auditor"))
    assert response.status_code == 422 and [e["field"] for e in response.json()["errors"]] == ["as_of"]
    assert asked == []
