"""Insights as a real process on the real Kafka and PostgreSQL: it reads a program's events from the enrolment,
matching and sessions topics and its report matches figures this test computes from what it sent.

The events are produced sessions first, then matching, then enrolment (the reverse of how they happened), and
some twice, so the read model has to tolerate cross-topic reordering and redelivery.
"""

from __future__ import annotations

import csv
import io
import statistics
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from services.insights import bootstrap
from services.insights.domain.small_cells import protect
from shared.connections import Connections
from shared.events import (
    FeedbackGiven,
    PairDissolved,
    PairFormed,
    ParticipantEnrolled,
    ParticipantProfileUpdated,
    ParticipantWithdrawn,
    ProgramLaunched,
    SessionHeld,
)
from shared.replay import replay
from shared.topics import events_topic
from tests.insights.test_partnerships_api import PARTNERSHIP_TABLES
from tests.support.insights_events import EventLog
from tests.support.kafka_log import produce, wait_until
from tests.support.services import ServiceProcess, running, service_env, token

ADMIN, AUDITOR = token("program_admin"), token("auditor")

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
AS_OF = T0 + timedelta(days=60)
CADENCE = 14
TARGETS = {
    "pairs_formed": 8,
    "sessions_per_pair": 3,
    "average_rating": 4,
    "match_rate": 0.9,
    "participants_enrolled": 10,
    "nps": 40,
}

K = 2  # the program's min_group_size
# key, role, birth year, department, enrolled (days after T0)
PEOPLE = [
    ("m1", "mentor", 1999, "Technology", 0.0),
    ("m2", "mentor", 2001, "Marketing", 0.5),
    ("m3", "mentor", 1994, "Finance", 1.0),
    ("m4", "mentor", 1997, "Technology", 1.25),
    ("m5", "mentor", 2000, "Sales", 2.0),
    ("m6", "mentor", 1998, "HR", 2.5),
    ("e1", "mentee", 1963, "Finance", 0.25),
    ("e2", "mentee", 1970, "Marketing", 1.5),
    ("e3", "mentee", 1979, "Operations", 3.0),
    ("e4", "mentee", 1966, "Technology", 3.5),
    ("e5", "mentee", 1982, "Legal", 5.0),
    ("b1", "both", 1988, "Technology", 6.0),
]
MOVES = [("m4", "Data", 3.0)]  # key, new department, day
WITHDRAWALS = [("m6", 4.0), ("e5", 30.0)]  # m6 was never paired; e5's pair dissolves
PAIRS = [("A", "m1", "e1", 7.0), ("B", "m2", "e2", 7.0), ("C", "m3", "e3", 7.0), ("D", "m4", "e4", 7.0)]
PAIRS += [("E", "m5", "e5", 7.0), ("F", "m1", "b1", 20.0)]
DISSOLVED = {"E": 30.0}
# pair, held on (day), minutes, topics, direction; logged half a day after the session
SESSIONS = [
    ("A", 10, 45, ("tiktok", "genai"), "mentor_to_mentee"),
    ("A", 24, 60, ("strategy",), "mentee_to_mentor"),
    ("A", 38, 30, ("genai", "strategy"), "both"),
    ("A", 52, 45, ("tiktok",), "mentor_to_mentee"),
    ("B", 12, 50, ("social media",), "mentor_to_mentee"),
    ("B", 40, 40, ("negotiation",), "mentee_to_mentor"),
    ("C", 14, 30, ("genai",), "both"),
    ("E", 10, 60, ("social media", "tiktok"), "mentor_to_mentee"),
    ("E", 20, 45, ("leadership",), "mentee_to_mentor"),
    ("F", 25, 55, ("genai",), "mentor_to_mentee"),
    ("F", 45, 35, ("strategy", "leadership"), "both"),
]
# pair, side, rating, day given
FEEDBACK = [
    ("A", "mentor", 4, 11.0),
    ("A", "mentee", 5, 11.0),
    ("B", "mentor", 4, 13.0),
    ("B", "mentee", 5, 13.0),
    ("B", "mentee", 2, 41.0),
    ("C", "mentor", 1, 15.0),
    ("E", "mentee", 3, 11.0),
    ("F", "mentor", 5, 26.0),
    ("F", "mentee", 4, 26.0),
]


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def held_on(days: int) -> date:
    return at(days).date()


@dataclass(frozen=True)
class Sent:
    program_id: str
    pid: dict[str, str]  # person key -> participant id
    pair_id: dict[str, str]  # pair key -> pair id


@pytest.fixture(scope="module")
def insights(child_env_module):
    yield from running("insights", service_env(child_env_module))


@pytest.fixture(scope="module")
async def sent(kafka) -> Sent:
    run = uuid.uuid4().hex[:8]
    s = Sent(f"prg-{run}", {k: f"p-{k}-{run}" for k, *_ in PEOPLE}, {k: f"{k}-{run}" for k, *_ in PAIRS})
    log = EventLog(kafka.topic_prefix)
    program = ProgramLaunched(
        program_id=s.program_id,
        title="Insights IT",
        targets=TARGETS,
        cadence_days=CADENCE,
        duration_weeks=26,
        min_group_size=K,  # the smallest a program may set: a dozen people still leave cells to show
    )
    log.add(program, f"program-{s.program_id}", at(-1))
    profiles = {}
    for key, role, born, department, day in PEOPLE:
        profiles[key] = ParticipantEnrolled(
            program_id=s.program_id,
            participant_id=s.pid[key],
            role=role,
            grade=2 if role == "mentor" else 8,
            birth_year=born,
            department=department,
            time_zone="Europe/Paris",
            languages=("en",),
        )
        log.add(profiles[key], f"enrolment-{s.program_id}-{s.pid[key]}", at(day))
    for key, department, day in MOVES:
        moved = ParticipantProfileUpdated(**{**profiles[key].model_dump(), "department": department})
        log.add(moved, f"enrolment-{s.program_id}-{s.pid[key]}", at(day))
    for key, day in WITHDRAWALS:
        withdrawn = ParticipantWithdrawn(program_id=s.program_id, participant_id=s.pid[key], reason="no time")
        log.add(withdrawn, f"enrolment-{s.program_id}-{s.pid[key]}", at(day))
    for key, mentor, mentee, day in PAIRS:
        formed = PairFormed(
            program_id=s.program_id,
            pair_id=s.pair_id[key],
            round_id=f"round-{day}",
            mentor_id=s.pid[mentor],
            mentee_id=s.pid[mentee],
            score=3.5,
            breakdown={"skills_to_mentee": 3.5},
        )
        log.add(formed, f"pair-{s.pair_id[key]}", at(day))
    for key, day in DISSOLVED.items():
        dissolved = PairDissolved(program_id=s.program_id, pair_id=s.pair_id[key], reason="member withdrew")
        log.add(dissolved, f"pair-{s.pair_id[key]}", at(day) + timedelta(seconds=1))
    for n, (key, day, minutes, topics, direction) in enumerate(SESSIONS):
        held = SessionHeld(
            program_id=s.program_id,
            pair_id=s.pair_id[key],
            session_id=f"s{n}-{run}",
            held_on=held_on(day),
            minutes=minutes,
            topics=topics,
            learning_direction=direction,
            logged_by=s.pid[next(m for k, m, *_ in PAIRS if k == key)],
            logged_at=at(day + 0.5),
        )
        log.add(held, f"sessions-{s.pair_id[key]}", at(day + 0.5))
    for n, (key, side, rating, day) in enumerate(FEEDBACK):
        mentor, mentee = next((m, e) for k, m, e, _ in PAIRS if k == key)
        given = FeedbackGiven(
            program_id=s.program_id,
            pair_id=s.pair_id[key],
            feedback_id=f"f{n}-{run}",
            given_by=s.pid[mentor if side == "mentor" else mentee],
            side=side,
            rating=rating,
            would_continue=rating > 2,
        )
        log.add(given, f"sessions-{s.pair_id[key]}", at(day))
    for service in ("sessions", "matching", "enrolment"):  # the reverse of how it happened
        topic = events_topic(service, kafka.topic_prefix)
        await produce(kafka.kafka_bootstrap_servers, topic, log.by_topic[topic])
    for service in ("sessions", "enrolment"):  # a redelivery of the first few events changes nothing
        topic = events_topic(service, kafka.topic_prefix)
        await produce(kafka.kafka_bootstrap_servers, topic, log.by_topic[topic][:5])
    return s


async def get(service: ServiceProcess, path: str, headers=AUDITOR, **params) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.get(f"{service.url}{path}", headers=headers, params=params)


@pytest.fixture(scope="module")
async def report(insights, sent) -> dict:
    """The report as of AS_OF, once every fact sent has been applied."""

    async def complete():
        response = await get(insights, f"/programs/{sent.program_id}/report", as_of=AS_OF.isoformat())
        if response.status_code != 200:
            return None
        body = response.json()
        seen = (
            body["participants"]["enrolled"],
            body["participants"]["withdrawn"],
            "Data" in body["participants"]["by_department"],  # m4's move (the count itself is a small cell)
            body["pairs"]["formed"],
            body["pairs"]["dissolved"],
            body["sessions"]["total"],
            body["ratings"]["overall"]["count"],
        )
        expected = (len(PEOPLE), len(WITHDRAWALS), True, len(PAIRS), 1, len(SESSIONS), len(FEEDBACK))
        return body if seen == expected else None

    return await wait_until(complete, 90, 0.5, "the insights report to reflect every event sent")


# ------------------------------------------------------------------------------- figures computed from what was sent


def generation(year: int) -> str:
    return "baby_boomers" if year <= 1964 else "gen_x" if year <= 1980 else "millennials" if year <= 1996 else "gen_z"


def department(key: str) -> str:
    moved = [d for k, d, _ in MOVES if k == key]
    return moved[-1] if moved else next(p[3] for p in PEOPLE if p[0] == key)


def born(key: str) -> int:
    return next(p[2] for p in PEOPLE if p[0] == key)


def active_pairs() -> list[tuple]:
    return [p for p in PAIRS if p[0] not in DISSOLVED]


def whole_days(since: date) -> int:
    return (AS_OF.date() - since).days


def expected_adherence(pair: str, formed: float) -> float | None:
    due = whole_days(at(formed).date()) // CADENCE
    held = sum(s[0] == pair for s in SESSIONS)
    return min(1.0, held / due) if due else None


def expected_risks() -> dict[str, list[str]]:
    risks = {}
    for key, _, _, formed in active_pairs():
        last = max((held_on(s[1]) for s in SESSIONS if s[0] == key), default=at(formed).date())
        reasons = ["no_recent_session"] if whole_days(last) > 1.5 * CADENCE else []
        latest = [
            max((f for f in FEEDBACK if f[0] == key and f[1] == side), key=lambda f: f[3], default=None)
            for side in ("mentor", "mentee")
        ]
        if any(f is not None and f[2] <= 2 for f in latest):
            reasons.append("low_rating")
        if reasons:
            risks[key] = reasons
    return risks


def expected_ledger(directions: tuple[str, str]) -> dict[str, int]:
    counts = Counter(t for _, _, _, topics, d in SESSIONS if d in directions for t in topics)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


# ---------------------------------------------------------------------------------------------------------- tests


def test_enrolment_figures_by_role_department_and_generation(report):
    participants = report["participants"]
    assert participants["enrolled"] == len(PEOPLE)
    assert participants["withdrawn"] == len(WITHDRAWALS)
    assert participants["active"] == len(PEOPLE) - len(WITHDRAWALS)
    # Counted, then withheld below the program's min_group_size (K) as tests/insights/test_small_cells.py proves.
    assert participants["by_role"] == protect(dict(Counter(p[1] for p in PEOPLE)), K)
    assert participants["by_department"] == protect(dict(sorted(Counter(department(p[0]) for p in PEOPLE).items())), K)
    assert None in participants["by_department"].values(), "departments of one person are withheld"
    by_generation = Counter(generation(p[2]) for p in PEOPLE)
    assert participants["by_generation"] == protect(
        {g: by_generation[g] for g in ("baby_boomers", "gen_x", "millennials", "gen_z")}, K
    )


def test_match_rate_and_median_days_to_first_pair(report):
    active_people = {p[0] for p in PEOPLE} - {k for k, _ in WITHDRAWALS}
    matched = active_people & {m for _, mentor, mentee, _ in active_pairs() for m in (mentor, mentee)}
    enrolled = {p[0]: p[4] for p in PEOPLE}
    first_pair = {}
    for _, mentor, mentee, day in PAIRS:
        for member in (mentor, mentee):
            first_pair[member] = min(day, first_pair.get(member, day))
    waits = [first_pair[m] - enrolled[m] for m in first_pair]
    matching = report["matching"]
    assert (matching["active_participants"], matching["matched_participants"]) == (len(active_people), len(matched))
    assert matching["match_rate"] == pytest.approx(len(matched) / len(active_people)) == pytest.approx(9 / 10)
    assert matching["median_days_to_first_pair"] == pytest.approx(statistics.median(waits))


def test_pairs_sessions_and_cadence_adherence(report):
    minutes = sum(s[2] for s in SESSIONS)
    assert report["pairs"] == {
        "formed": len(PAIRS),
        "active": len(active_pairs()),
        "dissolved": len(DISSOLVED),
        "completed": 0,
        "at_risk": len(expected_risks()),
    }
    sessions = report["sessions"]
    assert (sessions["total"], sessions["minutes"]) == (len(SESSIONS), minutes)
    assert sessions["average_per_pair"] == pytest.approx(len(SESSIONS) / len(PAIRS))
    assert sessions["average_minutes_per_pair"] == pytest.approx(minutes / len(PAIRS))
    due = [a for a in (expected_adherence(k, day) for k, _, _, day in active_pairs()) if a is not None]
    assert sessions["pairs_due"] == len(due)
    assert sessions["cadence_adherence"] == pytest.approx(statistics.fmean(due)) == pytest.approx(0.6)


def test_at_risk_pairs_with_their_reasons(report, sent):
    found = {r["pair_id"]: r["reasons"] for r in report["at_risk_pairs"]}
    expected = {sent.pair_id[k]: reasons for k, reasons in expected_risks().items()}
    assert found == expected
    assert expected == {
        sent.pair_id["B"]: ["low_rating"],
        sent.pair_id["C"]: ["no_recent_session", "low_rating"],
        sent.pair_id["D"]: ["no_recent_session"],
    }


def test_average_rating_by_side(report):
    ratings = report["ratings"]
    for side in ("mentor", "mentee"):
        given = [f[2] for f in FEEDBACK if f[1] == side]
        assert ratings[side] == {"average": pytest.approx(statistics.fmean(given)), "count": len(given)}
    assert ratings["overall"]["average"] == pytest.approx(statistics.fmean(f[2] for f in FEEDBACK))


def test_two_way_learning_ledger(report):
    assert report["learning_ledger"] == {
        "mentor_to_mentee": expected_ledger(("mentor_to_mentee", "both")),
        "mentee_to_mentor": expected_ledger(("mentee_to_mentor", "both")),
    }


def test_cross_generation_and_cross_department_shares(report):
    cross_generation = sum(generation(born(m)) != generation(born(e)) for _, m, e, _ in PAIRS)
    cross_department = sum(department(m) != department(e) for _, m, e, _ in PAIRS)
    assert report["mix"] == {
        "pairs_considered": len(PAIRS),
        "cross_generation": cross_generation,
        "cross_generation_share": pytest.approx(cross_generation / len(PAIRS)),
        "cross_department": cross_department,
        "cross_department_share": pytest.approx(cross_department / len(PAIRS)),
    }


def test_progress_against_each_target(report):
    actual = {
        "pairs_formed": len(PAIRS),
        "sessions_per_pair": len(SESSIONS) / len(PAIRS),
        "average_rating": statistics.fmean(f[2] for f in FEEDBACK),
        "match_rate": report["matching"]["match_rate"],
        "participants_enrolled": len(PEOPLE),
        "nps": None,
    }
    assert [t["name"] for t in report["targets"]] == sorted(TARGETS)
    assert {t["name"]: (t["target"], t["actual"], t["progress"]) for t in report["targets"]} == {
        name: (
            TARGETS[name],
            pytest.approx(value) if value is not None else None,
            pytest.approx(value / TARGETS[name]) if value is not None else None,
        )
        for name, value in actual.items()
    }


async def test_an_earlier_as_of_counts_only_what_was_known_then(insights, sent, report):
    response = await get(insights, f"/programs/{sent.program_id}/report", as_of=at(8).isoformat())
    early = response.json()
    assert early["participants"]["enrolled"] == len(PEOPLE) and early["participants"]["withdrawn"] == 1
    assert early["pairs"] == {"formed": 5, "active": 5, "dissolved": 0, "completed": 0, "at_risk": 0}
    assert early["sessions"]["total"] == 0 and early["ratings"]["overall"]["count"] == 0
    assert early["matching"]["match_rate"] == pytest.approx(10 / 11)
    naive = await get(insights, f"/programs/{sent.program_id}/report", as_of=at(8).replace(tzinfo=None).isoformat())
    assert naive.json() == early  # an instant without a time zone is read as UTC


async def test_without_as_of_the_report_is_as_of_now(insights, sent, report):
    before = datetime.now(UTC)
    now = (await get(insights, f"/programs/{sent.program_id}/report")).json()
    assert before <= datetime.fromisoformat(now["as_of"]) <= datetime.now(UTC)
    for section in ("participants", "ratings", "learning_ledger", "mix"):
        assert now[section] == report[section]
    assert now["sessions"]["total"] == report["sessions"]["total"]


async def test_per_pair_rows(insights, sent, report):
    rows = {
        r["pair_id"]: r
        for r in (await get(insights, f"/programs/{sent.program_id}/pairs", as_of=AS_OF.isoformat())).json()
    }
    assert set(rows) == set(sent.pair_id.values())
    risks = expected_risks()
    for key, mentor, mentee, formed in PAIRS:
        row = rows[sent.pair_id[key]]
        held = [s for s in SESSIONS if s[0] == key]
        latest = {
            side: max((f for f in FEEDBACK if f[0] == key and f[1] == side), key=lambda f: f[3], default=(0, 0, None))[
                2
            ]
            for side in ("mentor", "mentee")
        }
        assert (row["mentor_id"], row["mentee_id"]) == (sent.pid[mentor], sent.pid[mentee])
        assert row["status"] == ("dissolved" if key in DISSOLVED else "active")
        assert (row["sessions"], row["minutes"]) == (len(held), sum(s[2] for s in held))
        assert row["last_session"] == (str(held_on(max(s[1] for s in held))) if held else None)
        assert (row["latest_mentor_rating"], row["latest_mentee_rating"]) == (latest["mentor"], latest["mentee"])
        assert (row["at_risk"], row["at_risk_reasons"]) == (key in risks, risks.get(key, []))
        adherence = None if key in DISSOLVED else expected_adherence(key, formed)
        assert row["cadence_adherence"] == (pytest.approx(adherence) if adherence is not None else None)


async def test_csv_export_has_a_header_and_one_row_per_pair(insights, sent, report):
    response = await get(insights, f"/programs/{sent.program_id}/export.csv", headers=ADMIN, as_of=AS_OF.isoformat())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert sorted(r["pair_id"] for r in rows) == sorted(sent.pair_id.values())
    assert {r["pair_id"] for r in rows if r["at_risk"] == "true"} == {sent.pair_id[k] for k in expected_risks()}


async def test_the_program_is_listed(insights, sent, report):
    programs = (await get(insights, "/programs")).json()
    [program] = [p for p in programs if p["program_id"] == sent.program_id]
    assert (program["title"], program["cadence_days"], program["targets"]) == ("Insights IT", CADENCE, TARGETS)


async def test_unknown_program_is_404(insights):
    assert (await get(insights, "/programs/prg-nope/report")).status_code == 404
    assert (await get(insights, "/programs/prg-nope/export.csv")).status_code == 404


async def test_an_invalid_as_of_is_422_naming_it(insights, sent):
    response = await get(insights, f"/programs/{sent.program_id}/report", as_of="last tuesday")
    assert response.status_code == 422
    assert any(error["loc"][-1] == "as_of" for error in response.json()["errors"])


@pytest.mark.parametrize("path", ["/programs", "/programs/x/report", "/programs/x/pairs", "/programs/x/export.csv"])
async def test_a_participant_gets_403_and_no_token_401(insights, path):
    assert (await get(insights, path, headers=token("participant", "p-someone"))).status_code == 403
    assert (await get(insights, path, headers={})).status_code == 401


async def test_a_replay_from_offset_0_rebuilds_identical_facts(insights, kafka, dsn, report):
    async def caught_up():
        async with httpx.AsyncClient(timeout=10) as client:
            status = await client.get(f"{insights.url}/status", headers=token("auditor"))
            return status.json()["projections"]["facts"]["lag"] == 0

    await wait_until(caught_up, 60, 0.2, "the live facts projection to catch up")
    [projection] = bootstrap.SPEC.projections
    async with Connections(dsn, kafka, "insights", pool_size=2) as connections:
        result = await replay(projection, connections, live_schema="insights")
    sent_once = 1 + len(PEOPLE) + len(MOVES) + len(WITHDRAWALS) + len(PAIRS) + len(DISSOLVED) + len(SESSIONS)
    assert result.events >= sent_once + len(FEEDBACK)
    assert [t.table for t in result.tables if not t.identical] == []
    assert {t.table for t in result.tables} == {
        "programs",
        "profiles",
        "withdrawals",
        "pairs",
        "dissolutions",
        "sessions",
        "feedback",
        "rounds",
        *PARTNERSHIP_TABLES,
        "training_completions",
        "recognitions",
    }
