"""Forged but well-formed events on the real broker never enter sessions' pairs: a PairFormed whose source is not
matching's is refused (dead-lettered), and a PairFormed for a pair id sessions already knows does not replace it."""

import asyncio
import uuid

import httpx
import pytest

from shared.events import PairFormed
from shared.topics import dead_letter_topic, events_topic
from tests.support.kafka_log import KafkaLog, envelope_of, produce
from tests.support.services import eventually, running, service_env, token

# An auditor reads every pair: no ProgramLaunched reaches sessions here, so no program admin reaches these (#14).
ADMIN = token("auditor")


@pytest.fixture(scope="module")
def sessions(child_env_module):
    yield from running("sessions", service_env(child_env_module))


def formed(pair_id: str, mentor: str = "p-mentor", mentee: str = "p-mentee") -> PairFormed:
    return PairFormed(
        program_id="prg-1", pair_id=pair_id, round_id="r1", mentor_id=mentor, mentee_id=mentee, score=1.0, breakdown={}
    )


def pair(sessions, pair_id: str) -> httpx.Response:
    return httpx.get(f"{sessions.url}/pairs/{pair_id}", headers=ADMIN)


def test_forged_pair_formed_events_never_enter_sessions_pairs(sessions, kafka):
    genuine, forged, sentinel = (f"pair-{what}-{uuid.uuid4().hex[:8]}" for what in ("ok", "forged", "sentinel"))
    # One record key (so one partition, in this order): when the sentinel is visible, everything before it was
    # consumed, so the forged pair's absence is a refusal and not a delay.
    key = f"forgery-{uuid.uuid4().hex[:8]}"
    records = [
        envelope_of(formed(genuine), key, 1),
        envelope_of(formed(forged, mentor="p-intruder"), key, 2, source="/tandem/enrolment"),
        envelope_of(formed(genuine, mentor="p-intruder"), key, 3),  # a known pair id: first write wins
        envelope_of(formed(sentinel), key, 4),
    ]
    asyncio.run(produce(kafka.kafka_bootstrap_servers, events_topic("matching", kafka.topic_prefix), records))
    eventually(lambda: pair(sessions, sentinel).status_code == 200, 60, "the sentinel pair")
    assert pair(sessions, forged).status_code == 404
    assert pair(sessions, genuine).json()["mentor_id"] == "p-mentor"
    intruder = httpx.get(f"{sessions.url}/participants/p-intruder/pairs", headers=ADMIN)
    assert intruder.status_code == 200 and intruder.json() == []

    async def dead_letters() -> list:
        async with KafkaLog(kafka.kafka_bootstrap_servers) as log:
            return await log.records(dead_letter_topic(kafka.topic_prefix))

    refused = [r for r in asyncio.run(dead_letters()) if dict(r.headers).get("ce_id") == records[1].event_id.encode()]
    # Dead letters are at least once (shared/projection.py): a rebalance between the dead letter and the batch's
    # commit (a consumer of the previous test module leaving the group) sends the same record again.
    assert refused and all(b"published by matching" in dict(r.headers)["dlq_error"] for r in refused)
