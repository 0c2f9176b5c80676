"""Issue #15 against a real sessions process, Kafka and PostgreSQL: the program's guidelines arrive from enrolment's
topic and the pair from matching's; both members sign an agreement, a session advances a goal, and moving the
process's development clock past the agreed end completes the pair (PairCompleted by the schedule, on sessions'
topic), with no goal's words, note or reflection on the broker."""

import asyncio
import uuid
from datetime import date, timedelta

import httpx
import pytest

from shared.envelope import Envelope
from shared.events import PairFormed, ProgramLaunched
from shared.topics import events_topic
from tests.support.bodies import session
from tests.support.kafka_log import KafkaLog, envelope_of, produce
from tests.support.services import eventually, running, service_env, token

ADMIN = token("program_admin", "hr-1")
MENTOR, MENTEE = "p-mentor-15", "p-mentee-15"
GOAL_WORDS = "how to explain a product roadmap to a new team"


@pytest.fixture(scope="module")
def sessions(child_env_module):
    yield from running("sessions", service_env(child_env_module))


def member(who: str) -> dict[str, str]:
    return token("participant", who)


def published(kafka, pair_id: str) -> list[Envelope]:
    async def read():
        async with KafkaLog(kafka.kafka_bootstrap_servers) as log_:
            records = await log_.records(events_topic("sessions", kafka.topic_prefix))
        return [Envelope.from_kafka(r.headers, r.value) for r in records]

    return [e for e in asyncio.run(read()) if e.data.get("pair_id") == pair_id]


def test_an_agreed_pair_advances_goals_and_ends_on_the_moved_clock(sessions, kafka):
    program, pair = f"prg-{uuid.uuid4().hex[:8]}", f"pair-{uuid.uuid4().hex[:8]}"
    launched = ProgramLaunched(program_id=program, title="Reverse mentoring", cadence_days=14, duration_weeks=12)
    formed = PairFormed(
        program_id=program, pair_id=pair, round_id="r1", mentor_id=MENTOR, mentee_id=MENTEE, score=1.0, breakdown={}
    )
    bootstrap = kafka.kafka_bootstrap_servers
    asyncio.run(produce(bootstrap, events_topic("enrolment", kafka.topic_prefix), [envelope_of(launched, program)]))
    asyncio.run(produce(bootstrap, events_topic("matching", kafka.topic_prefix), [envelope_of(formed, pair)]))
    url = f"{sessions.url}/pairs/{pair}"
    eventually(lambda: httpx.get(url, headers=member(MENTOR)).status_code == 200, 60, "the pair")

    body = {
        "goals": [
            {"direction": "mentee_to_mentor", "text": GOAL_WORDS},
            {"direction": "mentor_to_mentee", "text": "prompting well"},
        ],
        "cadence_days": 7,
        "duration_weeks": 4,
        "confidentiality": "strict",
        "confidentiality_note": "nothing about our managers leaves the room",
    }

    # The program's guidelines arrive on enrolment's topic; until then an agreement waits (409).
    def written() -> httpx.Response | None:
        response = httpx.put(f"{url}/agreement", json=body, headers=member(MENTEE))
        return response if response.status_code == 200 else None

    agreement = eventually(written, 60, "the program's guidelines").json()["agreement"]
    # Twelve weeks is the program's duration: an agreement may not outlast it.
    assert httpx.put(f"{url}/agreement", json={**body, "duration_weeks": 13}, headers=member(MENTEE)).status_code == 422
    for who in (MENTOR, MENTEE):
        signed = httpx.post(f"{url}/agreement/sign", json={"version": 1}, headers=member(who))
        assert signed.status_code == 200, signed.text
    shown = httpx.get(f"{url}/agreement", headers=member(MENTOR)).json()
    started = date.fromisoformat(httpx.get(url, headers=member(MENTOR)).json()["formed_at"][:10])
    assert shown["status"] == "in_force" and shown["ends_on"] == str(started + timedelta(weeks=4))

    goal = next(g["goal_id"] for g in agreement["goals"] if g["direction"] == "mentee_to_mentor")
    logged = httpx.post(f"{url}/sessions", json=session(goals_advanced=[goal]), headers=member(MENTOR))
    assert logged.status_code == 201, logged.text
    before = httpx.post(
        f"{url}/sessions", json=session(held_on=str(started - timedelta(days=1))), headers=member(MENTOR)
    )
    assert before.status_code == 422
    progress = {
        p["goal_id"]: p["sessions"] for p in httpx.get(f"{url}/agreement", headers=member(MENTEE)).json()["progress"]
    }
    assert progress[goal] == 1

    moved = httpx.post(f"{sessions.url}/dev/clock", json={"seconds": 5 * 7 * 86400}, headers=ADMIN)
    assert moved.status_code == 200 and moved.json()["done"]["pair-end"] >= 1
    ended = httpx.get(url, headers=member(MENTOR)).json()
    assert ended["status"] == "completed" and ended["completed_by"] == "schedule"
    assert httpx.post(f"{url}/sessions", json=session(), headers=member(MENTOR)).status_code == 409
    reflected = httpx.post(
        f"{url}/completion",
        json={"learned": "patience", "changed": "my slides", "would_recommend": True},
        headers=member(MENTEE),
    )
    assert reflected.status_code == 200, reflected.text

    def kinds() -> list[str]:
        return [e.type.split(".")[2] for e in published(kafka, pair)]

    expected = [
        "agreement-proposed",
        "agreement-signed",
        "agreement-signed",
        "agreement-in-force",
        "session-held",
        "pair-completed",
        "reflection-recorded",
    ]
    eventually(lambda: kinds() == expected, 60, "sessions' events on the broker")
    on_the_broker = str([e.data for e in published(kafka, pair)])
    for words in (GOAL_WORDS, "prompting well", "managers", "patience", "my slides"):
        assert words not in on_the_broker
    completed = next(e for e in published(kafka, pair) if e.type.endswith("pair-completed.v1"))
    assert completed.data["completed_by"] == "schedule" and completed.data["completed_on"] == shown["ends_on"]
