"""Stories against a real sessions process, Kafka and PostgreSQL (issue #16): of three completed pairs, one where
both members shared, one where only one did and one where both shared and one withdrew, the stories endpoint
returns exactly the first, with both reflections; StoryShared on sessions' topic carries ids only."""

import asyncio
import uuid

import httpx
import pytest

from shared.envelope import Envelope
from shared.events import PairFormed, ProgramLaunched, StoryShared
from shared.topics import events_topic
from tests.support.kafka_log import KafkaLog, envelope_of, produce
from tests.support.services import eventually, running, service_env, token

ADMIN = token("program_admin", "hr-1")


@pytest.fixture(scope="module")
def sessions(child_env_module):
    yield from running("sessions", service_env(child_env_module))


def member(who: str) -> dict[str, str]:
    return token("participant", who)


def test_stories_are_exactly_the_pairs_whose_two_members_shared(sessions, kafka):
    program = f"prg-{uuid.uuid4().hex[:8]}"
    pairs = {name: (f"pair-{uuid.uuid4().hex[:8]}", f"p-mentor-{name}", f"p-mentee-{name}") for name in "abc"}
    bootstrap = kafka.kafka_bootstrap_servers
    launched = ProgramLaunched(program_id=program, title="Stories", cadence_days=14, duration_weeks=12)
    asyncio.run(produce(bootstrap, events_topic("enrolment", kafka.topic_prefix), [envelope_of(launched, program)]))
    formed = [
        envelope_of(
            PairFormed(program_id=program, pair_id=p, round_id="r1", mentor_id=m, mentee_id=e, score=1.0, breakdown={}),
            p,
        )
        for p, m, e in pairs.values()
    ]
    asyncio.run(produce(bootstrap, events_topic("matching", kafka.topic_prefix), formed))

    def completed(pair_id: str) -> bool:
        return httpx.post(f"{sessions.url}/pairs/{pair_id}/completion", headers=ADMIN).status_code == 200

    for pair_id, mentor, mentee in pairs.values():
        eventually(lambda pair_id=pair_id: completed(pair_id), 60, f"pair {pair_id} known and completed")
        for who in (mentor, mentee):
            body = {"learned": f"{who} learned", "changed": f"{who} changed", "would_recommend": True}
            response = httpx.post(f"{sessions.url}/pairs/{pair_id}/completion", json=body, headers=member(who))
            assert response.status_code == 200, response.text

    def share(name: str, who: str, share: bool = True) -> None:
        response = httpx.post(
            f"{sessions.url}/pairs/{pairs[name][0]}/story", json={"share": share}, headers=member(who)
        )
        assert response.status_code == 200, response.text

    share("a", pairs["a"][1])
    share("a", pairs["a"][2])
    share("b", pairs["b"][1])  # b's mentee never shares
    share("c", pairs["c"][1])
    share("c", pairs["c"][2])
    share("c", pairs["c"][2], False)  # and c's mentee withdraws

    stories = httpx.get(f"{sessions.url}/programs/{program}/stories", headers=ADMIN)
    assert stories.status_code == 200, stories.text
    pair_a, mentor_a, mentee_a = pairs["a"]
    assert stories.json() == [
        {
            "pair_id": pair_a,
            "mentor": {
                "participant_id": mentor_a,
                "side": "mentor",
                "learned": f"{mentor_a} learned",
                "changed": f"{mentor_a} changed",
            },
            "mentee": {
                "participant_id": mentee_a,
                "side": "mentee",
                "learned": f"{mentee_a} learned",
                "changed": f"{mentee_a} changed",
            },
        }
    ]
    leaders = httpx.get(f"{sessions.url}/programs/{program}/leaders-changed", headers=ADMIN).json()
    assert leaders == {"program_id": program, "suppressed": True, "small_group": 5, "changed": []}
    assert httpx.get(f"{sessions.url}/programs/{program}/stories", headers=member(mentor_a)).status_code == 403

    async def shared_on_the_topic() -> list[Envelope]:
        async with KafkaLog(bootstrap) as log_:
            records = await log_.records(events_topic("sessions", kafka.topic_prefix))
        envelopes = [Envelope.from_kafka(r.headers, r.value) for r in records]
        return [e for e in envelopes if e.type == StoryShared.type_name and e.data.get("program_id") == program]

    published = eventually(lambda: (found := asyncio.run(shared_on_the_topic())) and len(found) == 5 and found, 60)
    assert sorted(e.data["participant_id"] for e in published) == sorted(
        [mentor_a, mentee_a, pairs["b"][1], pairs["c"][1], pairs["c"][2]]
    )
    assert all("learned" not in str(e.data) and "changed" not in str(e.data) for e in published), "no words"
