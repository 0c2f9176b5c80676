"""Correlation and causation across services: every event of the end-to-end program names the HTTP request that
caused it, and an event one service appends in reaction to another's names that event as its cause."""

from __future__ import annotations

from shared.envelope import Envelope
from shared.events import PairDissolved, ParticipantWithdrawn
from shared.topics import SERVICES_THAT_PUBLISH, events_topic
from tests.e2e.lifecycle import Sent
from tests.support.kafka_log import KafkaLog


async def program_events(kafka, program_id: str) -> list[Envelope]:
    async with KafkaLog(kafka.kafka_bootstrap_servers) as log:
        records = [r for s in SERVICES_THAT_PUBLISH for r in await log.records(events_topic(s, kafka.topic_prefix))]
    envelopes = [Envelope.from_kafka(r.headers, r.value) for r in records]
    return [e for e in envelopes if e.data.get("program_id") == program_id]


async def test_every_event_carries_the_correlation_id_of_the_request_that_caused_it(sent: Sent, kafka):
    events = await program_events(kafka, sent.program["program_id"])
    assert {e.source for e in events} == {"/tandem/enrolment", "/tandem/matching", "/tandem/sessions"}
    assert all(e.correlation_id and e.causation_id for e in events)
    assert {e.correlation_id for e in events} <= sent.correlations


async def test_a_pair_dissolved_by_a_withdrawal_names_the_withdrawal_as_its_cause(sent: Sent, kafka):
    events = await program_events(kafka, sent.program["program_id"])
    mentee, pair_id = sent.pairs[-1]["mentee_id"], sent.pairs[-1]["pair_id"]
    (withdrawal,) = [
        e for e in events if e.type == ParticipantWithdrawn.type_name and e.data["participant_id"] == mentee
    ]
    (dissolution,) = [e for e in events if e.type == PairDissolved.type_name and e.data["pair_id"] == pair_id]
    assert withdrawal.correlation_id == withdrawal.causation_id == sent.withdrawal_correlation
    assert dissolution.source == "/tandem/matching"
    assert dissolution.causation_id == withdrawal.event_id
    assert dissolution.correlation_id == sent.withdrawal_correlation
