"""Sessions over HTTP as a real process; its pairs come from PairFormed/PairDissolved on matching's topic."""

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from shared.envelope import Envelope
from shared.events import Event, PairDissolved, PairFormed
from shared.topics import events_topic
from tests.support.kafka_log import KafkaLog, produce
from tests.support.services import ServiceProcess, eventually, service_env, token

pytestmark = pytest.mark.infra
ADMIN, AUDITOR = token("program_admin"), token("auditor")
MENTOR, MENTEE = "p-mentor-1", "p-mentee-1"


@pytest.fixture(scope="module")
def sessions(child_env_module):
    service = ServiceProcess("sessions", service_env(child_env_module)).start()
    yield service
    assert service.stop() == 0


def announce(kafka, *events: tuple[Event, int]) -> None:
    envelopes = [
        Envelope(
            event_id=str(uuid.uuid4()),
            type=e.type_name,
            source="/tandem/matching",
            subject=f"pair-{e.pair_id}",
            stream_version=v,
            time=datetime.now(UTC),
            data=e.model_dump(mode="json"),
        )
        for e, v in events
    ]
    asyncio.run(produce(kafka.kafka_bootstrap_servers, events_topic("matching", kafka.topic_prefix), envelopes))


@pytest.fixture
def pair(sessions, kafka) -> str:
    pair_id = f"pair-{uuid.uuid4().hex[:8]}"
    formed = PairFormed(
        program_id="prg-1", pair_id=pair_id, round_id="r1", mentor_id=MENTOR, mentee_id=MENTEE, score=1.0, breakdown={}
    )
    announce(kafka, (formed, 1))
    eventually(lambda: httpx.get(f"{sessions.url}/pairs/{pair_id}", headers=ADMIN).status_code == 200, 30, "pair")
    return pair_id


def session(**overrides) -> dict:
    return {
        "held_on": str(date.today()),
        "minutes": 45,
        "topics": ["social media"],
        "learning_direction": "mentor_to_mentee",
        "notes": "private",
        **overrides,
    }


def log(sessions, pair_id: str, body: dict, who: str = MENTOR, key: str | None = None) -> httpx.Response:
    headers = {**token("participant", who), **({"Idempotency-Key": key} if key else {})}
    return httpx.post(f"{sessions.url}/pairs/{pair_id}/sessions", json=body, headers=headers)


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
    assert len(httpx.get(f"{sessions.url}/pairs/{pair}/sessions", headers=ADMIN).json()) == 1
    eventually(lambda: published(kafka, pair), 30, what="SessionHeld on Kafka")
    assert len(published(kafka, pair)) == 1


def test_the_same_idempotency_key_with_another_body_is_a_conflict(sessions, pair):
    assert log(sessions, pair, session(), key="k-2").status_code == 201
    assert log(sessions, pair, session(minutes=90), key="k-2").status_code == 409


def test_a_session_in_the_future_is_422_naming_held_on(sessions, pair):
    response = log(sessions, pair, session(held_on=str(date.today() + timedelta(days=5))))
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "held_on"


def test_an_unknown_pair_is_404(sessions):
    assert log(sessions, "pair-unknown", session()).status_code == 404


def test_a_dissolved_pair_takes_no_more_sessions(sessions, kafka, pair):
    announce(kafka, (PairDissolved(program_id="prg-1", pair_id=pair, reason="done"), 2))
    url = f"{sessions.url}/pairs/{pair}"
    eventually(lambda: httpx.get(url, headers=ADMIN).json()["status"] == "dissolved", 30, what="dissolution")
    assert log(sessions, pair, session()).status_code == 409


def test_feedback_records_the_side_of_the_member_who_gave_it(sessions, pair):
    body = {"rating": 4, "learned": "short video", "would_continue": True}
    response = httpx.post(f"{sessions.url}/pairs/{pair}/feedback", json=body, headers=token("participant", MENTEE))
    assert response.status_code == 201 and response.json()["feedback"]["side"] == "mentee"


def test_a_rating_of_six_is_422(sessions, pair):
    body = {"rating": 6, "learned": "", "would_continue": True}
    response = httpx.post(f"{sessions.url}/pairs/{pair}/feedback", json=body, headers=token("participant", MENTOR))
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "rating"


def test_outsiders_and_auditors_cannot_log(sessions, pair):
    assert log(sessions, pair, session(), who="p-stranger").status_code == 403
    assert httpx.post(f"{sessions.url}/pairs/{pair}/sessions", json=session(), headers=AUDITOR).status_code == 403


def test_a_participant_lists_only_its_own_pairs(sessions, pair):
    mine = httpx.get(f"{sessions.url}/participants/{MENTOR}/pairs", headers=token("participant", MENTOR))
    assert pair in {p["pair_id"] for p in mine.json()}
    assert (
        httpx.get(f"{sessions.url}/participants/{MENTOR}/pairs", headers=token("participant", MENTEE)).status_code
        == 403
    )
