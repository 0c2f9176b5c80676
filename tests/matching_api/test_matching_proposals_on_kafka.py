"""Issue #15, the matching process alone on the real Kafka and PostgreSQL: it follows a program's settings changes
and its closing from enrolment's events, proposes pairs that expire when its clock is moved (the schedule), forms a
pair both members accept, and hears from sessions that a pair completed."""

from datetime import UTC, date, datetime

import httpx
import pytest

from shared.envelope import Envelope
from shared.events import (
    PairCompleted,
    ParticipantEnrolled,
    ProgramClosed,
    ProgramLaunched,
    ProgramSettingsChanged,
)
from shared.topics import events_topic
from tests.support.kafka_log import KafkaLog, envelope_of, produce, wait_until
from tests.support.matching_pool import launched, profile
from tests.support.services import running, service_env, token

ADMIN = token("program_admin")
PROGRAM = "prg-proposals-on-kafka"
TTL_HOURS = 2


@pytest.fixture(scope="module")
def matching(child_env_module):
    yield from running("matching", service_env(child_env_module))


async def pair_events(kafka, pair_id: str) -> list[Envelope]:
    async with KafkaLog(kafka.kafka_bootstrap_servers) as log:
        records = await log.records(events_topic("matching", kafka.topic_prefix))
    envelopes = [Envelope.from_kafka(r.headers, r.value) for r in records]
    return [e for e in envelopes if e.subject == f"pair-{pair_id}"]


async def test_changed_settings_proposals_expiry_acceptance_completion_and_closing(matching, kafka):
    enrolment = events_topic("enrolment", kafka.topic_prefix)
    people = [profile(PROGRAM, "p-P-M1", "mentee", 8), profile(PROGRAM, "p-P-J1", "mentor", 2)]
    settings = launched(PROGRAM)
    changed = ProgramSettingsChanged(
        **{**settings, "acceptance_mode": "both", "proposal_ttl_hours": TTL_HOURS},
        settings_version=2,
        consent_version=1,
    )
    await produce(
        kafka.kafka_bootstrap_servers,
        enrolment,
        [
            envelope_of(ProgramLaunched(**settings), f"program-{PROGRAM}"),
            envelope_of(changed, f"program-{PROGRAM}", 2),
        ]
        + [envelope_of(ParticipantEnrolled(**p), f"participant-{p['participant_id']}") for p in people],
    )
    async with httpx.AsyncClient(base_url=matching.url, headers=ADMIN, timeout=30) as http:

        async def followed(**expected) -> bool:
            response = await http.get(f"/programs/{PROGRAM}/settings")
            return response.status_code == 200 and expected.items() <= response.json().items()

        async def pool_filled() -> bool:
            response = await http.get(f"/programs/{PROGRAM}/pool")
            return response.status_code == 200 and response.json()["active"] == 2

        await wait_until(lambda: followed(settings_version=2, acceptance_mode="both"), 60, what="settings change")
        await wait_until(pool_filled, 60, what="pool")

        # Proposed, then expired when the process's clock is moved past the proposal's ttl.
        committed = await http.post(f"/programs/{PROGRAM}/rounds")
        assert committed.status_code == 201, committed.text
        (proposed,) = committed.json()["pairs"]
        assert proposed["status"] == "proposed"
        moved = await http.post("/dev/clock", json={"seconds": TTL_HOURS * 3600 + 1})
        assert moved.status_code == 200 and moved.json()["done"]["expire-proposals"] == 1
        assert (await http.get(f"/pairs/{proposed['pair_id']}")).json()["status"] == "expired"

        # Proposed again (an expiry is held against nobody), accepted by both: the pair starts.
        again = (await http.post(f"/programs/{PROGRAM}/rounds")).json()["pairs"][0]
        for member in ("p-P-J1", "p-P-M1"):
            answered = await http.post(f"/proposals/{again['pair_id']}/accept", headers=token("participant", member))
            assert answered.status_code == 200, answered.text
        assert answered.json()["started"] is True

        async def published(pair_id: str, count: int) -> list[Envelope]:
            events = await pair_events(kafka, pair_id)
            return events if len(events) >= count else []

        first = await wait_until(lambda: published(proposed["pair_id"], 2), 60, what="proposal expired on Kafka")
        assert [e.type.split(".")[2] for e in first] == ["pair-proposed", "proposal-expired"]
        second = await wait_until(lambda: published(again["pair_id"], 4), 60, what="pair formed on Kafka")
        assert [e.type.split(".")[2] for e in second] == [
            "pair-proposed",
            "proposal-accepted",
            "proposal-accepted",
            "pair-formed",
        ]
        assert second[-1].data["proposed_at"] is not None

        # Sessions completes the pair; enrolment closes the program.
        completed = PairCompleted(
            program_id=PROGRAM, pair_id=again["pair_id"], completed_by="members", completed_on=date(2027, 1, 1)
        )
        closed = ProgramClosed(program_id=PROGRAM, closed_at=datetime.now(UTC))
        await produce(
            kafka.kafka_bootstrap_servers,
            events_topic("sessions", kafka.topic_prefix),
            [envelope_of(completed, f"completion-{again['pair_id']}")],
        )
        await produce(kafka.kafka_bootstrap_servers, enrolment, [envelope_of(closed, f"program-{PROGRAM}", 3)])

        async def pair_completed() -> bool:
            return (await http.get(f"/pairs/{again['pair_id']}")).json()["status"] == "completed"

        await wait_until(pair_completed, 60, what="pair completed")
        await wait_until(lambda: _closed(http), 60, what="program closed")
        assert (await http.post(f"/programs/{PROGRAM}/rounds/preview")).status_code == 409
        assert (await http.post(f"/programs/{PROGRAM}/rounds")).status_code == 409


async def _closed(http: httpx.AsyncClient) -> bool:
    return (await http.get(f"/programs/{PROGRAM}/settings")).json()["closed_at"] is not None
