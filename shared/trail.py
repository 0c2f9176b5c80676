"""A participant's complete trail: every event, from every service, that concerns one participant id."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer

from shared.envelope import Envelope, MalformedRecord
from shared.logreader import read_topic
from shared.settings import KafkaSettings
from shared.topics import SERVICES_THAT_PUBLISH, events_topic

PERSON_FIELDS = ("participant_id", "mentor_id", "mentee_id", "given_by", "logged_by")


def trail(envelopes: Iterable[Envelope], participant_id: str) -> list[Envelope]:
    """Events naming the participant, plus everything about the pairs they were in; once each, by time."""
    events = _unique(envelopes)
    pairs = {e.data["pair_id"] for e in events if e.type.endswith("pair-formed.v1") and _names(e, participant_id)}
    concerning = [e for e in events if _names(e, participant_id) or e.data.get("pair_id") in pairs]
    return sorted(concerning, key=lambda e: (e.time, e.source, e.stream_id, e.stream_version))


def as_json(envelope: Envelope) -> dict[str, Any]:
    return {
        "time": envelope.time.isoformat(),
        "type": envelope.type,
        "source": envelope.source,
        "stream_id": envelope.stream_id,
        "stream_version": envelope.stream_version,
        "event_id": envelope.event_id,
        "data": envelope.data,
    }


async def read_log(kafka: KafkaSettings) -> list[Envelope]:
    consumer = AIOKafkaConsumer(**kafka.client_options(), enable_auto_commit=False)
    await consumer.start()
    try:
        envelopes = []
        for service in SERVICES_THAT_PUBLISH:
            for record in await read_topic(consumer, events_topic(service, kafka.topic_prefix)):
                try:
                    envelopes.append(Envelope.from_kafka(record.headers, record.value))
                except MalformedRecord:
                    continue  # not an event; `tandem verify` reports these
        return envelopes
    finally:
        await consumer.stop()


def _names(envelope: Envelope, participant_id: str) -> bool:
    return any(envelope.data.get(f) == participant_id for f in PERSON_FIELDS)


def _unique(envelopes: Iterable[Envelope]) -> list[Envelope]:
    seen: dict[str, Envelope] = {}
    for e in envelopes:
        seen.setdefault(e.event_id, e)  # a redelivery is the same event again
    return list(seen.values())
