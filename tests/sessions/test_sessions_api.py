"""Sessions over HTTP as a real process; its pairs come from PairFormed/PairDissolved on matching's topic."""

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import httpx
import pytest

from shared.envelope import Envelope
from shared.events import Event, PairDissolved, PairFormed
from shared.topics import events_topic
from tests.support.kafka_log import KafkaLog, envelope_of, produce
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
    envelopes = [envelope_of(e, f"pair-{e.pair_id}", v) for e, v in events]
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


def feedback(sessions, pair_id: str, who: str = MENTOR, key: str | None = None, **overrides) -> httpx.Response:
    body = {"rating": 4, "learned": "short video", "would_continue": True, **overrides}
    headers = who if isinstance(who, dict) else token("participant", who)
    headers = {**headers, **({"Idempotency-Key": key} if key else {})}
    return httpx.post(f"{sessions.url}/pairs/{pair_id}/feedback", json=body, headers=headers)


def dissolve(sessions, kafka, pair_id: str) -> None:
    announce(kafka, (PairDissolved(program_id="prg-1", pair_id=pair_id, reason="done"), 2))
    url = f"{sessions.url}/pairs/{pair_id}"
    eventually(lambda: httpx.get(url, headers=ADMIN).json()["status"] == "dissolved", 30, what="dissolution")


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
    dissolve(sessions, kafka, pair)
    assert log(sessions, pair, session()).status_code == 409


def test_a_dissolved_pair_still_takes_feedback(sessions, kafka, pair):
    dissolve(sessions, kafka, pair)
    assert feedback(sessions, pair, MENTEE).status_code == 201


def test_feedback_records_the_side_of_the_member_who_gave_it(sessions, pair):
    response = feedback(sessions, pair, MENTEE)
    assert response.status_code == 201 and response.json()["feedback"]["side"] == "mentee"


def test_a_rating_of_six_is_422(sessions, pair):
    response = feedback(sessions, pair, MENTOR, rating=6)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "rating"


def test_only_members_give_feedback(sessions, pair):
    assert feedback(sessions, pair, "p-stranger").status_code == 403
    assert feedback(sessions, pair, ADMIN).status_code == 403
    assert feedback(sessions, pair, AUDITOR).status_code == 403


def test_an_admin_logs_on_behalf_of_the_pair_under_its_own_name(sessions, pair):
    response = httpx.post(
        f"{sessions.url}/pairs/{pair}/sessions", json=session(), headers=token("program_admin", "hr-1")
    )
    assert response.status_code == 201 and response.json()["session"]["logged_by"] == "admin:hr-1"


def test_an_idempotency_key_belongs_to_its_caller(sessions, pair):
    assert log(sessions, pair, session(), MENTOR, key="shared").status_code == 201
    assert log(sessions, pair, session(), MENTEE, key="shared").status_code == 201
    assert len(httpx.get(f"{sessions.url}/pairs/{pair}/sessions", headers=ADMIN).json()) == 2


def test_concurrent_retries_with_one_key_create_one_session(sessions, pair):
    responses = at_once(*[lambda: log(sessions, pair, session(), key="k-concurrent")] * 4)
    assert {r.status_code for r in responses} == {201} and len({r.text for r in responses}) == 1
    assert len(httpx.get(f"{sessions.url}/pairs/{pair}/sessions", headers=ADMIN).json()) == 1


def test_both_members_logging_at_once_land_one_after_the_other_on_the_pairs_stream(sessions, pair):
    responses = at_once(lambda: log(sessions, pair, session(), MENTOR), lambda: log(sessions, pair, session(), MENTEE))
    assert [r.status_code for r in responses] == [201, 201]
    assert sorted(r.json()["event_log"]["stream_version"] for r in responses) == [1, 2]


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


def test_members_admins_and_auditors_read_a_pair_and_outsiders_do_not(sessions, pair):
    url = f"{sessions.url}/pairs/{pair}"
    for reader in (token("participant", MENTOR), token("participant", MENTEE), ADMIN, AUDITOR):
        assert httpx.get(url, headers=reader).status_code == 200
    assert httpx.get(url, headers=token("participant", "p-stranger")).status_code == 403
    assert httpx.get(f"{url}/sessions", headers=token("participant", "p-stranger")).status_code == 403


def test_a_pair_shows_its_status_and_when_it_was_formed(sessions, pair):
    shown = httpx.get(f"{sessions.url}/pairs/{pair}", headers=AUDITOR).json()
    assert shown["status"] == "active" and shown["mentor_id"] == MENTOR and shown["formed_at"]
    assert shown["dissolved_at"] is None


def test_the_session_list_shows_what_was_logged_with_its_notes(sessions, pair):
    logged = log(sessions, pair, session(notes="tiktok basics")).json()["session"]
    assert httpx.get(f"{sessions.url}/pairs/{pair}/sessions", headers=token("participant", MENTEE)).json() == [logged]


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/pairs/pair-x"),
        ("GET", "/pairs/pair-x/sessions"),
        ("POST", "/pairs/pair-x/sessions"),
        ("POST", "/pairs/pair-x/feedback"),
        ("GET", "/participants/p-x/pairs"),
    ],
)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token"}], ids=["none", "invalid"])
def test_every_endpoint_needs_a_valid_bearer_token(sessions, method, path, headers):
    body = session() if path.endswith("sessions") else {"rating": 4, "would_continue": True}
    response = httpx.request(method, f"{sessions.url}{path}", headers=headers, json=body if method == "POST" else None)
    assert response.status_code == 401


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


def test_a_session_key_reused_for_feedback_is_a_conflict(sessions, pair):
    assert log(sessions, pair, session(), MENTOR, key="k-both").status_code == 201
    assert feedback(sessions, pair, MENTOR, key="k-both").status_code == 409
