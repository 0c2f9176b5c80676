"""Issue #15's facts through a real insights process on the real Kafka and PostgreSQL: a program launched, edited
and closed; proposals accepted, declined and expired; a manual pair; an agreement signed twice; sessions advancing
goals; one pair completed with reflections, one dissolved. The events are produced sessions first, then matching,
then enrolment (the reverse of how they happened); the report, the pairs' CSV and the overview show exactly what
was sent, and a replay rebuilds every table identically."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.insights import bootstrap
from shared.auth import issue_token
from shared.connections import Connections
from shared.events import (
    AgreedGoal,
    AgreementInForce,
    AgreementProposed,
    AgreementSigned,
    CompletionRequested,
    CoupleExcluded,
    CouplePinned,
    CoupleRuleLifted,
    PairCompleted,
    PairDissolved,
    PairFormed,
    PairProposed,
    ProgramClosed,
    ProgramLaunched,
    ProgramSettingsChanged,
    ProposalAccepted,
    ProposalDeclined,
    ProposalExpired,
    ReflectionRecorded,
    SessionHeld,
)
from shared.replay import replay
from shared.topics import events_topic
from tests.support.insights_events import EventLog
from tests.support.kafka_log import produce, wait_until
from tests.support.services import ServiceProcess, running, service_env

PARTNERSHIP_TABLES = {
    "program_settings",
    "closures",
    "proposals",
    "proposal_answers",
    "proposal_expiries",
    "couple_rules",
    "agreement_goals",
    "agreement_signatures",
    "agreements_in_force",
    "completion_requests",
    "completions",
    "reflections",
}
T0 = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
AS_OF = T0 + timedelta(days=120)


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


def days(n: float) -> datetime:
    return T0 + timedelta(days=n)


def staff(*roles: str, groups: tuple[str, ...] = ()) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token('staff-1', list(roles), groups=list(groups))}"}


@dataclass(frozen=True)
class Sent:
    program_id: str
    other_program_id: str
    admin_group: str
    run: str

    def pair(self, key: str) -> str:
        return f"{key}-{self.run}"

    def person(self, key: str) -> str:
        return f"p-{key}-{self.run}"


@pytest.fixture(scope="module")
def insights(child_env_module):
    yield from running("insights", service_env(child_env_module))


def proposal(s: Sent, key: str, mentor: str, mentee: str) -> PairProposed:
    return PairProposed(
        program_id=s.program_id,
        pair_id=s.pair(key),
        round_id=f"round-{s.run}",
        mentor_id=s.person(mentor),
        mentee_id=s.person(mentee),
        score=2.0,
        breakdown={"skills_to_mentee": 2.0},
        engine_version="test",
        inputs_hash="0" * 64,
        acceptance_mode="both",
        expires_at=hours(72),
    )


def formed(s: Sent, key: str, mentor: str, mentee: str, origin="round", proposed_at=None) -> PairFormed:
    return PairFormed(
        program_id=s.program_id,
        pair_id=s.pair(key),
        round_id=f"round-{s.run}" if origin == "round" else "manual",
        mentor_id=s.person(mentor),
        mentee_id=s.person(mentee),
        score=2.0,
        breakdown={},
        origin=origin,
        proposed_at=proposed_at,
    )


@pytest.fixture(scope="module")
async def sent(kafka) -> Sent:
    run = uuid.uuid4().hex[:8]
    s = Sent(f"prg-{run}", f"prg-other-{run}", f"grp-{run}", run)
    log = EventLog(kafka.topic_prefix)
    pid = s.program_id
    launched = ProgramLaunched(
        program_id=pid, title="Before", cadence_days=14, duration_weeks=12, admin_groups=("grp-nobody",)
    )
    log.add(launched, f"program-{pid}", hours(-48))
    changed = ProgramSettingsChanged(
        **{
            **launched.model_dump(),
            "title": "Partnerships",
            "admin_groups": (s.admin_group,),
            "targets": {"acceptance_rate": 0.8, "completion_rate": 0.5},
        },
        settings_version=2,
        consent_version=1,
    )
    log.add(changed, f"program-{pid}", hours(-24))
    other = ProgramLaunched(
        program_id=s.other_program_id, title="Other", cadence_days=7, duration_weeks=8, admin_groups=(s.admin_group,)
    )
    log.add(other, f"program-{s.other_program_id}", hours(-24))
    log.add(ProgramClosed(program_id=pid, closed_at=days(110)), f"program-{pid}", days(110))

    for key, mentor, mentee in [("a", "m1", "e1"), ("b", "m2", "e2"), ("c", "m3", "e3"), ("d", "m4", "e4")]:
        log.add(proposal(s, key, mentor, mentee), f"pair-{s.pair(key)}", hours(0))
    answers = [
        ProposalAccepted(program_id=pid, pair_id=s.pair("a"), participant_id=s.person("m1")),
        ProposalAccepted(program_id=pid, pair_id=s.pair("a"), participant_id=s.person("e1")),
        ProposalAccepted(program_id=pid, pair_id=s.pair("b"), participant_id=s.person("m2")),
        ProposalAccepted(program_id=pid, pair_id=s.pair("b"), participant_id=s.person("e2")),
    ]
    for n, answer in enumerate(answers):
        log.add(answer, f"pair-{answer.pair_id}", hours([1, 4, 2, 10][n]))
    log.add(formed(s, "a", "m1", "e1", proposed_at=hours(0)), f"pair-{s.pair('a')}", hours(4))
    log.add(formed(s, "b", "m2", "e2", proposed_at=hours(0)), f"pair-{s.pair('b')}", hours(10))
    declined = ProposalDeclined(
        program_id=pid, pair_id=s.pair("c"), participant_id=s.person("e3"), reason_code="prefer_someone_else"
    )
    log.add(declined, f"pair-{s.pair('c')}", hours(5))
    log.add(ProposalExpired(program_id=pid, pair_id=s.pair("d")), f"pair-{s.pair('d')}", hours(72))
    log.add(formed(s, "m", "m3", "e4", origin="manual"), f"pair-{s.pair('m')}", days(4))
    couple = {"program_id": pid, "mentor_id": s.person("m3"), "mentee_id": s.person("e3")}
    log.add(CouplePinned(**couple), f"rules-{pid}", days(1))
    log.add(CoupleRuleLifted(**couple, rule="pin"), f"rules-{pid}", days(2))
    log.add(CoupleExcluded(**couple), f"rules-{pid}", days(2))

    goals = (
        AgreedGoal(goal_id="g1", direction="mentor_to_mentee"),
        AgreedGoal(goal_id="g2", direction="mentee_to_mentor"),
    )
    for version, at in ((1, days(1)), (2, days(20))):
        agreement = AgreementProposed(
            program_id=pid,
            pair_id=s.pair("a"),
            agreement_version=version,
            proposed_by=s.person("e1"),
            goals=goals,
            cadence_days=14,
            duration_weeks=12,
            confidentiality="standard",
        )
        log.add(agreement, f"agreement-{s.pair('a')}", at)
        for who in ("e1", "m1"):
            signed = AgreementSigned(
                program_id=pid, pair_id=s.pair("a"), agreement_version=version, signed_by=s.person(who)
            )
            log.add(signed, f"agreement-{s.pair('a')}", at + timedelta(hours=1))
        in_force = AgreementInForce(
            program_id=pid,
            pair_id=s.pair("a"),
            agreement_version=version,
            cadence_days=14,
            duration_weeks=12,
            ends_on=days(85).date(),
        )
        log.add(in_force, f"agreement-{s.pair('a')}", at + timedelta(hours=2))
    for n, (day, advanced) in enumerate([(10, ("g1", "g2")), (24, ("g2",)), (38, ("g1",))]):
        held = SessionHeld(
            program_id=pid,
            pair_id=s.pair("a"),
            session_id=f"s{n}-{run}",
            held_on=days(day).date(),
            minutes=45,
            learning_direction="both",
            logged_by=s.person("m1"),
            logged_at=days(day),
            goals_advanced=advanced,
        )
        log.add(held, f"sessions-{s.pair('a')}", days(day))
    for who in ("m1", "e1"):
        asked = CompletionRequested(program_id=pid, pair_id=s.pair("a"), participant_id=s.person(who))
        log.add(asked, f"agreement-{s.pair('a')}", days(60))
    done = PairCompleted(program_id=pid, pair_id=s.pair("a"), completed_by="members", completed_on=days(60).date())
    log.add(done, f"agreement-{s.pair('a')}", days(60))
    for who, side, recommend in (("m1", "mentor", True), ("e1", "mentee", False)):
        reflected = ReflectionRecorded(
            program_id=pid, pair_id=s.pair("a"), participant_id=s.person(who), side=side, would_recommend=recommend
        )
        log.add(reflected, f"agreement-{s.pair('a')}", days(61))
    dissolved = PairDissolved(program_id=pid, pair_id=s.pair("b"), reason="not working", reason_code="not_working")
    log.add(dissolved, f"pair-{s.pair('b')}", days(30))

    for service in ("sessions", "matching", "enrolment"):  # the reverse of how it happened
        topic = events_topic(service, kafka.topic_prefix)
        await produce(kafka.kafka_bootstrap_servers, topic, log.by_topic[topic])
    return s


async def get(service: ServiceProcess, path: str, headers: dict[str, str], **params) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.get(f"{service.url}{path}", headers=headers, params=params)


@pytest.fixture(scope="module")
async def report(insights, sent) -> dict:
    async def complete():
        response = await get(insights, f"/programs/{sent.program_id}/report", staff("auditor"), as_of=AS_OF.isoformat())
        if response.status_code != 200:
            return None
        body = response.json()
        p = body["partnerships"]
        seen = (p["proposals"], p["accepted"], p["declined"], p["expired"], p["completed"], p["dissolved"])
        goals = p["goals_advanced"]["mentor_to_mentee"] + p["goals_advanced"]["mentee_to_mentor"]
        done = seen == (4, 2, 1, 1, 1, 1) and goals == 4 and p["reflections"] == 2 and p["agreements_signed"] == 1
        return body if done and body["title"] == "Partnerships" else None

    return await wait_until(complete, 90, 0.5, "the insights report to reflect every #15 event sent")


def test_the_report_shows_the_partnerships_as_sent(report):
    assert report["partnerships"] == {
        "proposals": 4,
        "pending": 0,
        "accepted": 2,
        "declined": 1,
        "expired": 1,
        "acceptance_rate": 0.5,
        "median_hours_to_accept": 7.0,  # 4 and 10 hours
        "agreements_in_force": 0,  # a completed, b dissolved; the manual pair signed none
        "agreements_signed": 1,
        "goals_advanced": {"mentor_to_mentee": 2, "mentee_to_mentor": 2},
        "completed": 1,
        "dissolved": 1,
        "completion_rate": 0.5,
        "completed_by": {"members": 1},
        "decline_reasons": {"no_time": 0, "not_a_fit": 0, "prefer_someone_else": 1, "other": 0},
        "dissolution_reasons": {
            "not_working": 1,
            "no_time": 0,
            "left_program": 0,
            "reporting_line": 0,
            "withdrawn": 0,
            "other": 0,
        },
        "reflections": 2,
        "would_recommend_rate": 0.5,
    }
    assert report["pairs"] | {"at_risk": 0} == {"formed": 3, "active": 1, "dissolved": 1, "completed": 1, "at_risk": 0}
    assert {t["name"]: t["actual"] for t in report["targets"]} == {"acceptance_rate": 0.5, "completion_rate": 0.5}


async def test_as_of_a_past_instant_the_settings_and_figures_then_count(insights, sent, report):
    response = await get(insights, f"/programs/{sent.program_id}/report", staff("auditor"), as_of=days(21).isoformat())
    body = response.json()
    assert body["title"] == "Partnerships" and body["pairs"]["active"] == 3
    assert (body["partnerships"]["agreements_in_force"], body["partnerships"]["completion_rate"]) == (1, None)
    assert body["partnerships"]["goals_advanced"] == {"mentor_to_mentee": 1, "mentee_to_mentor": 1}
    launched = await get(
        insights, f"/programs/{sent.program_id}/report", staff("auditor"), as_of=hours(-30).isoformat()
    )
    assert (launched.json()["title"], launched.json()["targets"]) == ("Before", [])


async def test_the_csv_distinguishes_completed_from_dissolved(insights, sent, report):
    response = await get(insights, f"/programs/{sent.program_id}/export.csv", staff("auditor"), as_of=AS_OF.isoformat())
    rows = {r["pair_id"]: r for r in csv.DictReader(io.StringIO(response.text))}
    assert {k: rows[sent.pair(k)]["status"] for k in "abm"} == {"a": "completed", "b": "dissolved", "m": "active"}
    assert (rows[sent.pair("a")]["completed_by"], rows[sent.pair("b")]["dissolution_reason"]) == (
        "members",
        "not_working",
    )
    assert rows[sent.pair("m")]["origin"] == "manual"


async def test_the_overview_follows_the_edited_admin_groups(insights, sent, report):
    response = await get(
        insights, "/overview", staff("program_admin", groups=(sent.admin_group,)), as_of=AS_OF.isoformat()
    )
    assert response.status_code == 200, response.text
    rows = {r["program_id"]: r for r in response.json()["programs"]}
    # Both programs this admin's group runs (other tests' programs naming no group are every admin's too).
    assert {sent.program_id, sent.other_program_id} <= set(rows)
    mine = rows[sent.program_id]
    assert (mine["proposals"], mine["acceptance_rate"], mine["completed"], mine["dissolved"]) == (4, 0.5, 1, 1)
    assert mine["closed_at"] == days(110).isoformat().replace("+00:00", "Z")
    before = await get(insights, "/overview", staff("program_admin", groups=("grp-nobody",)), as_of=AS_OF.isoformat())
    assert sent.program_id not in {r["program_id"] for r in before.json()["programs"]}  # the launch's group no more


async def test_a_replay_rebuilds_every_partnership_table_identically(insights, kafka, dsn, report):
    async def caught_up():
        status = await get(insights, "/status", staff("auditor"))
        return status.json()["projections"]["facts"]["lag"] == 0

    await wait_until(caught_up, 60, 0.2, "the live facts projection to catch up")
    [projection] = bootstrap.SPEC.projections
    async with Connections(dsn, kafka, "insights", pool_size=2) as connections:
        result = await replay(projection, connections, live_schema="insights")
    assert [t.table for t in result.tables if not t.identical] == []
    assert PARTNERSHIP_TABLES <= {t.table for t in result.tables}
