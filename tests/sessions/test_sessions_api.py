"""Sessions over HTTP as a real process: what crosses the broker (pairs from PairFormed/PairDissolved on matching's
topic, SessionHeld/FeedbackGiven published on sessions' topic) and what only PostgreSQL shows (concurrent requests).
The API's rules run in-process over the in-memory unit of work in test_sessions_http.py."""

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from shared.envelope import Envelope
from shared.events import Event, PairDissolved, PairFormed
from shared.topics import events_topic
from tests.support.bodies import session
from tests.support.kafka_log import KafkaLog, envelope_of, produce
from tests.support.services import eventually, running, service_env, token

# Reads as an auditor: the pairs here come straight from matching's topic, and with no ProgramLaunched sessions knows
# no staff of their program, so no program admin reaches them (issue #14); auditors read every pair.
AUDITOR = token("auditor")
MENTOR, MENTEE = "p-mentor-1", "p-mentee-1"


@pytest.fixture(scope="module")
def sessions(child_env_module):
    yield from running("sessions", service_env(child_env_module))


def announce(kafka, *events: tuple[Event, int]) -> None:
    envelopes = [envelope_of(e, f"pair-{e.pair_id}", v) for e, v in events]
    asyncio.run(produce(kafka.kafka_bootstrap_servers, events_topic("matching", kafka.topic_prefix), envelopes))


@pytest.fixture
def pair(sessions, kafka) -> str:
    pair_id = f"pair-{uuid.uuid4().hex[:8]}"
    formed = PairFormed(
        program_id="prg-1", pair_id=pair_id, round_id="r1", mentor_id=MENTOR, mentee_id=MENTEE, score=1.0, breakdown={}
    )
    announce(kafka, (formed, 1))
    eventually(lambda: httpx.get(f"{sessions.url}/pairs/{pair_id}", headers=AUDITOR).status_code == 200, 30, "pair")
    return pair_id


def log(sessions, pair_id: str, body: dict, who: str = MENTOR, key: str | None = None) -> httpx.Response:
    headers = {**token("participant", who), **({"Idempotency-Key": key} if key else {})}
    return httpx.post(f"{sessions.url}/pairs/{pair_id}/sessions", json=body, headers=headers)


def feedback(sessions, pair_id: str, who: str = MENTOR, key: str | None = None, **overrides) -> httpx.Response:
    body = {"rating": 4, "learned": "short video", "would_continue": True, **overrides}
    headers = who if isinstance(who, dict) else token("participant", who)
    headers = {**headers, **({"Idempotency-Key": key} if key else {})}
    return httpx.post(f"{sessions.url}/pairs/{pair_id}/feedback", json=body, headers=headers)


def dissolve(sessions, kafka, pair_id: str) -> None:
    announce(kafka, (PairDissolved(program_id="prg-1", pair_id=pair_id, reason="done"), 2))
    url = f"{sessions.url}/pairs/{pair_id}"
    eventually(lambda: httpx.get(url, headers=AUDITOR).json()["status"] == "dissolved", 30, what="dissolution")


def at_once(*calls) -> list[httpx.Response]:
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def published(kafka, pair_id: str) -> list[Envelope]:
    async def read():
        async with KafkaLog(kafka.kafka_bootstrap_servers) as log_:
            records = await log_.records(events_topic("sessions", kafka.topic_prefix))
        return [Envelope.from_kafka(r.headers, r.value) for r in records]

    return [e for e in asyncio.run(read()) if e.data.get("pair_id") == pair_id]


def test_a_logged_session_is_published_without_its_private_notes(sessions, kafka, pair):
    response = log(sessions, pair, session())
    assert response.status_code == 201, response.text
    [event] = eventually(lambda: published(kafka, pair), 30, what="SessionHeld on Kafka")
    assert event.type == "tandem.sessions.session-held.v1" and event.data["logged_by"] == MENTOR
    assert "notes" not in event.data and event.stream_id == f"pair-sessions-{pair}"


def test_a_retry_with_the_same_idempotency_key_creates_one_session(sessions, kafka, pair):
    first, retry = (log(sessions, pair, session(), key="k-1") for _ in range(2))
    assert first.status_code == retry.status_code == 201 and first.json() == retry.json()
    assert len(httpx.get(f"{sessions.url}/pairs/{pair}/sessions", headers=AUDITOR).json()) == 1
    eventually(lambda: published(kafka, pair), 30, what="SessionHeld on Kafka")
    assert len(published(kafka, pair)) == 1


def test_a_dissolved_pair_takes_no_more_sessions(sessions, kafka, pair):
    dissolve(sessions, kafka, pair)
    assert log(sessions, pair, session()).status_code == 409


def test_concurrent_retries_with_one_key_create_one_session(sessions, pair):
    responses = at_once(*[lambda: log(sessions, pair, session(), key="k-concurrent")] * 4)
    assert {r.status_code for r in responses} == {201} and len({r.text for r in responses}) == 1
    assert len(httpx.get(f"{sessions.url}/pairs/{pair}/sessions", headers=AUDITOR).json()) == 1


def test_both_members_logging_at_once_land_one_after_the_other_on_the_pairs_stream(sessions, pair):
    responses = at_once(lambda: log(sessions, pair, session(), MENTOR), lambda: log(sessions, pair, session(), MENTEE))
    assert [r.status_code for r in responses] == [201, 201]
    assert sorted(r.json()["event_log"]["stream_version"] for r in responses) == [1, 2]


def test_a_pair_shows_its_status_and_when_it_was_formed(sessions, pair):
    shown = httpx.get(f"{sessions.url}/pairs/{pair}", headers=AUDITOR).json()
    assert shown["status"] == "active" and shown["mentor_id"] == MENTOR and shown["formed_at"]
    assert shown["dissolved_at"] is None


def feedback_given(kafka, pair_id: str) -> list[Envelope]:
    return [e for e in published(kafka, pair_id) if e.type == "tandem.sessions.feedback-given.v1"]


def test_a_retried_feedback_with_its_idempotency_key_is_recorded_once(sessions, kafka, pair):
    first, retry = (feedback(sessions, pair, MENTEE, key="fb-1") for _ in range(2))
    assert first.status_code == retry.status_code == 201 and first.json() == retry.json()
    eventually(lambda: feedback_given(kafka, pair), 30, what="FeedbackGiven on Kafka")
    assert len(feedback_given(kafka, pair)) == 1


def test_concurrent_feedback_retries_with_one_key_record_one_feedback(sessions, kafka, pair):
    responses = at_once(*[lambda: feedback(sessions, pair, MENTOR, key="fb-concurrent")] * 3)
    assert {r.status_code for r in responses} == {201} and len({r.text for r in responses}) == 1
    eventually(lambda: feedback_given(kafka, pair), 30, what="FeedbackGiven on Kafka")
    assert len(feedback_given(kafka, pair)) == 1
