"""The matching process alone on the real Kafka and PostgreSQL: it learns its pool from enrolment's events as they
arrive on the broker, and its relay publishes what its rounds and dissolutions decide."""

import httpx
import pytest

from shared import sealing
from shared.envelope import Envelope
from shared.events import ParticipantEnrolled, ParticipantWithdrawn, ProgramLaunched
from shared.topics import events_topic
from tests.support.kafka_log import KafkaLog, envelope_of, produce, wait_until
from tests.support.matching_pool import launched, profile
from tests.support.personal_data import opened
from tests.support.services import running, service_env, token

ADMIN = token("program_admin")
PROGRAM = "prg-on-kafka"


@pytest.fixture(scope="module")
def matching(child_env_module):
    yield from running("matching", service_env(child_env_module))


async def matching_events(kafka, pair_id: str) -> list[Envelope]:
    async with KafkaLog(kafka.kafka_bootstrap_servers) as log:
        records = await log.records(events_topic("matching", kafka.topic_prefix))
    envelopes = [Envelope.from_kafka(r.headers, r.value) for r in records]
    return [e for e in envelopes if e.subject == f"pair-{pair_id}"]


async def test_a_round_over_the_pool_from_the_broker_publishes_its_pairs_and_a_withdrawal_dissolves_them(
    matching, kafka, dsn
):
    people = [profile(PROGRAM, "p-K-M1", "mentee", 8), profile(PROGRAM, "p-K-J1", "mentor", 2)]
    await produce(
        kafka.kafka_bootstrap_servers,
        events_topic("enrolment", kafka.topic_prefix),
        [envelope_of(ProgramLaunched(**launched(PROGRAM)), f"program-{PROGRAM}")]
        + [envelope_of(ParticipantEnrolled(**p), f"participant-{p['participant_id']}") for p in people],
    )
    async with httpx.AsyncClient(base_url=matching.url, headers=ADMIN, timeout=30) as http:

        async def pool() -> dict | None:
            response = await http.get(f"/programs/{PROGRAM}/pool")
            return response.json() if response.status_code == 200 else None

        await wait_until(
            lambda: _equals(pool(), {"program_id": PROGRAM, "active": 2, "withdrawn": 0, "awaiting_training": 0}), 60
        )
        committed = await http.post(f"/programs/{PROGRAM}/rounds")
        assert committed.status_code == 201, committed.text
        (pair,) = committed.json()["pairs"]
        formed = await wait_until(lambda: matching_events(kafka, pair["pair_id"]), 60, what="PairFormed on Kafka")
        assert [(e.type, e.data["round_id"]) for e in formed] == [
            ("tandem.matching.pair-formed.v1", committed.json()["round_id"])
        ]

        withdrawn = ParticipantWithdrawn(program_id=PROGRAM, participant_id="p-K-M1")
        await produce(
            kafka.kafka_bootstrap_servers,
            events_topic("enrolment", kafka.topic_prefix),
            [envelope_of(withdrawn, "participant-p-K-M1", 2)],
        )

        async def dissolved() -> list[Envelope]:
            events = await matching_events(kafka, pair["pair_id"])
            return events if len(events) == 2 else []

        events = await wait_until(dissolved, 60, what="PairDissolved on Kafka")
        assert events[1].type == "tandem.matching.pair-dissolved.v1"
        dissolved_body = events[1].data
        assert sealing.is_sealed(dissolved_body["reason"]), "words about the pair travel sealed (issue #19)"
        (clear,) = await opened(dsn, [(events[1].type, dissolved_body)])
        assert clear["reason"] == "participant withdrew"
        assert (await http.get(f"/pairs/{pair['pair_id']}")).json()["status"] == "dissolved"
        assert await pool() == {"program_id": PROGRAM, "active": 1, "withdrawn": 1, "awaiting_training": 0}


async def _equals(value, expected) -> bool:
    return await value == expected
