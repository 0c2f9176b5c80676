"""Auditors' view of a populated system: point-in-time reports, replay, tamper check, trail, erasure."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid

import asyncpg
import httpx
import pytest

from shared import sealing
from tests.e2e.lifecycle import ADMIN, AUDITOR, TODAY, Sent
from tests.support.personal_data import opened_event_bodies, records_containing, tables_containing
from tests.support.services import ServiceProcess, eventually, free_port, service_env, token


@pytest.fixture(scope="module")
def sent(platform) -> Sent:
    """A program of its own: these tests add sessions and erase people, which the lifecycle figures must not see."""
    from tests.e2e import lifecycle

    return lifecycle.run(
        {name: service.url for name, service in platform.items()}, seed=23, id_prefix="X"
    )  # X: not a hex digit, so no hash can contain an id


def tandem(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args], env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def env(dsn, kafka) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": dsn,
        "KAFKA_BOOTSTRAP_SERVERS": kafka.kafka_bootstrap_servers,
        "TANDEM_TOPIC_PREFIX": kafka.topic_prefix,
        "TANDEM_DEVELOPMENT": "true",
    }


def report(platform, program_id: str, **params) -> dict:
    url = f"{platform['insights'].url}/programs/{program_id}/report"
    response = httpx.get(url, params=params, headers=AUDITOR, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_report_as_of_an_earlier_instant_equals_what_it_said_live_then(sent: Sent, platform):
    program_id = sent.program["program_id"]
    live = report(platform, program_id)
    pair = next(p for p in sent.pairs if p["pair_id"] not in sent.dissolved)
    body = {
        "held_on": str(TODAY),  # never before the pair started (it formed today)
        "minutes": 50,
        "topics": ["late topic"],
        "learning_direction": "both",
        "notes": "",
    }
    mentor = {**token("participant", pair["mentor_id"]), "Idempotency-Key": str(uuid.uuid4())}
    assert (
        httpx.post(
            f"{platform['sessions'].url}/pairs/{pair['pair_id']}/sessions", json=body, headers=mentor
        ).status_code
        == 201
    )
    eventually(
        lambda: report(platform, program_id)["sessions"]["total"] == live["sessions"]["total"] + 1,
        60,
        "the new session to reach insights",
    )
    assert report(platform, program_id, as_of=live["as_of"]) == live


def test_replaying_the_read_models_from_offset_zero_gives_identical_tables(sent, platform, env):
    for service in ("insights", "sessions", "matching"):
        result = tandem(env, "replay", "--service", service)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "DIFFERENT" not in result.stdout and "identical" in result.stdout


def test_a_replay_of_matching_rebuilds_its_pool_from_the_log_alone_and_decides_nothing(sent, platform, env, dsn):
    async def matching_events() -> int:
        conn = await asyncpg.connect(dsn)
        try:
            return await conn.fetchval("SELECT count(*) FROM matching.events")
        finally:
            await conn.close()

    before = asyncio.run(matching_events())
    result = tandem(env, "replay", "--service", "matching")
    assert result.returncode == 0, result.stdout + result.stderr
    compared = {line.split(":")[0].strip() for line in result.stdout.splitlines() if "rows, replayed" in line}
    assert compared == {"pool_programs", "pool_candidates", "pool_completed_pairs", "pool_training"}
    assert asyncio.run(matching_events()) == before, "the withdrawal policy did not run again during the replay"


def test_verify_reports_the_populated_log_clean(sent, env):
    result = tandem(env, "verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("clean")


def test_a_participants_trail_holds_their_enrolment_pair_and_sessions(sent, env):
    pair = max(sent.pairs, key=lambda p: len(sent.sessions[p["pair_id"]]))
    result = tandem(env, "trail", "--participant", pair["mentee_id"])
    types = [e["type"] for e in json.loads(result.stdout)]
    assert types[0] == "tandem.enrolment.participant-enrolled.v1"
    assert "tandem.matching.pair-formed.v1" in types
    assert types.count("tandem.sessions.session-held.v1") >= len(sent.sessions[pair["pair_id"]])


@pytest.fixture
def notifications(env, tmp_path_factory):
    """Notifications too (issue #17), the one service that keeps names and addresses beside enrolment: it reads the
    contacts topic from its start, so it holds everyone's details by the time of the erasure. No mail relay: its
    sends fail and wait to be retried, which the scan does not mind."""
    log_path = str(tmp_path_factory.mktemp("notifications-log") / "notifications.log")
    settings = service_env(env, TANDEM_SMTP_PORT=str(free_port()))
    service = ServiceProcess("notifications", settings, log_path=log_path).start()
    yield service
    assert service.stop() == 0


async def contact_emails(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return {r["email"] for r in await conn.fetch("SELECT email FROM notifications.contacts")}
    finally:
        await conn.close()


def test_after_erasure_no_table_or_record_holds_the_name_or_email(sent, platform, dsn, kafka, env, notifications):
    pair = max(sent.pairs, key=lambda p: len(sent.sessions[p["pair_id"]]))
    person = sent.people[pair["mentor_id"]]
    # The scan below would see notifications' copy: it is there before the erasure.
    eventually(lambda: person.email in asyncio.run(contact_emails(dsn)), 60, "notifications to hold the contacts")
    # Words they wrote and words about their pair (issue #19): a session's notes and topic and the reason the mentor
    # gives for ending the pair, each a marker found nowhere else, held by sessions, insights, enrolment and matching
    # before the erasure.
    topic, reason, notes = (f"{kind}-{uuid.uuid4().hex}" for kind in ("topic", "reason", "notes"))
    mentor = {**token("participant", pair["mentor_id"]), "Idempotency-Key": str(uuid.uuid4())}
    body = {"held_on": str(TODAY), "minutes": 30, "topics": [topic], "learning_direction": "both", "notes": notes}
    logged = httpx.post(f"{platform['sessions'].url}/pairs/{pair['pair_id']}/sessions", json=body, headers=mentor)
    assert logged.status_code == 201, logged.text
    dissolve = f"{platform['matching'].url}/pairs/{pair['pair_id']}/dissolve"
    assert httpx.post(dissolve, json={"reason": reason}, headers=mentor).status_code == 200
    words = ((topic, {"sessions": 2, "partnership_topics": 1}), (reason, {"dissolutions": 1}), (notes, {"sessions": 1}))
    for needle, holders in words:
        eventually(
            lambda n=needle, h=holders: holds(asyncio.run(tables_containing(dsn, n)), h),
            60,
            "the pair's words to reach every read model",
        )
    before = report(platform, sent.program["program_id"])
    url = f"{platform['enrolment'].url}/programs/{sent.program['program_id']}/participants/{pair['mentor_id']}/erase"
    assert httpx.post(url, headers=ADMIN).status_code == 200
    words, details = (topic, reason, notes), (person.display_name, person.email, person.employee_id)
    hits = asyncio.run(records_containing(kafka.kafka_bootstrap_servers, kafka.topic_prefix, *words))
    assert hits == [], "the log holds their pair's words only sealed"
    # Every schema, notifications' `contacts` included: it forgets the person when the topic's tombstone arrives,
    # just after the erasure commits (docs/adr/0008). One scan looks for all six strings.
    eventually(
        lambda: asyncio.run(tables_containing(dsn, *words, *details)) == [],
        30,
        "no table to hold their pair's words or the erased person's details",
    )
    # The contacts relay publishes the tombstone just after the erasure commits (docs/adr/0008).
    eventually(
        lambda: asyncio.run(records_containing(kafka.kafka_bootstrap_servers, kafka.topic_prefix, *details)) == [],
        30,
        "no Kafka record to hold the erased person's details",
    )
    after = eventually(
        lambda: (
            (r := report(platform, sent.program["program_id"]))["participants"]["withdrawn"]
            > before["participants"]["withdrawn"]
            and r
        ),
        60,
        "the erasure to reach insights",
    )
    assert after["participants"]["enrolled"] == before["participants"]["enrolled"], "counts survive erasure"
    # Crypto-shredding (issue #19 item 1): their key is destroyed, so the log on Kafka, opened with every key that
    # still exists, shows nothing their profile, withdrawal or feedback said; everyone else's still opens.
    erased_subject = f"{sent.program['program_id']}/{pair['mentor_id']}"
    opened = asyncio.run(opened_event_bodies(dsn, kafka.kafka_bootstrap_servers, kafka.topic_prefix))
    theirs = [(t, raw, clear) for t, raw, clear in opened if sealing.SEALED[t].subject_of(raw) == erased_subject]
    assert {t for t, _, _ in theirs} >= {"tandem.enrolment.participant-enrolled.v1"}
    for type_name, raw, clear in theirs:
        for name, erased in sealing.SEALED[type_name].erased.items():
            assert raw[name] == erased or sealing.is_sealed(raw[name]), f"{type_name}.{name} was stored in the clear"
            assert clear[name] == erased, f"{type_name}.{name} still opens after the erasure"
    others = [
        clear
        for t, raw, clear in opened
        if t.endswith("participant-enrolled.v1") and sealing.SEALED[t].subject_of(raw) != erased_subject
    ]
    still_open = {p.department for pid, p in sent.people.items() if pid != pair["mentor_id"]}
    assert still_open <= {c["department"] for c in others}, "everyone else's profile still opens"
    assert person.birth_year not in {c["birth_year"] for t, raw, c in theirs if "birth_year" in c}
    # The words about their pair went with the pair's key: opened with every key left, the log shows neither.
    assert topic not in str(opened) and reason not in str(opened)
    pair_subject = f"{sent.program['program_id']}/pair:{pair['pair_id']}"
    their_pair = [(t, clear) for t, raw, clear in opened if sealing.SEALED[t].subject_of(raw) == pair_subject]
    assert sorted({t.split(".")[2] for t, _ in their_pair}) == ["pair-dissolved", "session-held"]
    assert all(clear.get("topics", []) == [] and clear.get("reason", "") == "" for _, clear in their_pair)
    # Nor did any service write them in a log line, before or after the erasure.
    for service in [*platform.values(), notifications]:
        with open(service.log_path, encoding="utf-8", errors="replace") as log:
            logged = log.read().lower()
        assert logged, f"{service.name} logged nothing: the search would prove nothing"
        for needle in (person.display_name, person.email, person.employee_id, topic, reason, notes):
            assert needle.lower() not in logged, f"{service.name} logged the erased person's details"
    verified = tandem(env, "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr  # the chain covers the ciphertext
    # Two processes sharing the partitions: insights' and sessions' read models allow it (issue #18).
    replayed = tandem(env, "replay", "--service", "insights", "--processes", "2")
    assert replayed.returncode == 0 and "DIFFERENT" not in replayed.stdout, "replay still works after erasure"
    for service in ("matching", "sessions"):
        replayed = tandem(env, "replay", "--service", service, "--processes", "2")
        assert replayed.returncode == 0 and "DIFFERENT" not in replayed.stdout, f"{service}'s live tables forget them"


def holds(tables: list[str], wanted: dict[str, int]) -> bool:
    """Whether `tables` ("schema"."table" names) hold each wanted table name at least that many times."""
    names = [t.rsplit(".", 1)[-1].strip('"') for t in tables]
    return all(names.count(name) >= n for name, n in wanted.items())


def test_the_cli_reports_as_of_an_instant_exactly_as_the_api_does(sent, platform, env):
    program_id = sent.program["program_id"]
    live = report(platform, program_id)
    result = tandem(env, "report", "--program", program_id, "--as-of", live["as_of"])
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == report(platform, program_id, as_of=live["as_of"])
