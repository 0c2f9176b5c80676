"""Records no consumer can apply, produced straight onto the publishers' topics (as a buggy or hostile producer
would): malformed JSON, an unknown event type, and bodies that parse but PostgreSQL rejects when a read model
stores them (a NUL character in text, an integer out of int4). Each projection must set them aside (dead-letter)
and go on with the records behind them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from shared.envelope import Envelope
from shared.topics import events_topic

HUGE = 2**40  # beyond PostgreSQL's integer (int4)


def _envelope(publisher: str, type_: str, data: dict) -> Envelope:
    stream = f"poison-{uuid.uuid4().hex[:8]}"
    return Envelope(
        event_id=str(uuid.uuid4()),
        type=type_,
        source=f"/tandem/{publisher}",
        subject=stream,
        stream_version=1,
        time=datetime.now(UTC),
        data=data,
    )


def poison_records() -> list[tuple[str, Envelope, bytes | None]]:
    """(publisher, envelope, raw value replacing the envelope's JSON or None) for every kind of poison."""
    p = f"poison-{uuid.uuid4().hex[:8]}"
    launched = {"program_id": p, "title": "t", "cadence_days": 14, "duration_weeks": 12}
    enrolled = {
        "program_id": p,
        "participant_id": f"{p}-x",
        "role": "mentor",
        "grade": 2,
        "birth_year": 2000,
        "department": "IT",
        "time_zone": "UTC",
        "languages": ["en"],
    }
    formed = {"program_id": p, "pair_id": f"{p}-pair", "round_id": "r", "mentor_id": "a", "mentee_id": "b", "score": 1}
    held = {
        "program_id": p,
        "pair_id": f"{p}-pair",
        "session_id": f"{p}-s",
        "held_on": "2026-01-05",
        "minutes": 30,
        "learning_direction": "both",
        "logged_by": "a",
        "logged_at": "2026-01-05T10:00:00+00:00",
    }
    return [
        ("enrolment", _envelope("enrolment", "tandem.enrolment.program-launched.v1", launched), b'{"program_id": "'),
        ("enrolment", _envelope("enrolment", "tandem.enrolment.no-such-event.v1", {"program_id": p}), None),
        (
            "enrolment",
            _envelope("enrolment", "tandem.enrolment.program-launched.v1", {**launched, "title": "a\x00b"}),
            None,
        ),
        (
            "enrolment",
            _envelope("enrolment", "tandem.enrolment.program-launched.v1", {**launched, "cadence_days": HUGE}),
            None,
        ),
        (
            "enrolment",
            _envelope("enrolment", "tandem.enrolment.participant-enrolled.v1", {**enrolled, "department": "I\x00T"}),
            None,
        ),
        (
            "enrolment",
            _envelope("enrolment", "tandem.enrolment.participant-enrolled.v1", {**enrolled, "birth_year": HUGE}),
            None,
        ),
        ("matching", _envelope("matching", "tandem.matching.pair-formed.v1", {**formed, "mentor_id": "a\x00"}), None),
        ("matching", _envelope("matching", "tandem.matching.pair-formed.v1", formed), b"\xff not json"),
        ("sessions", _envelope("sessions", "tandem.sessions.session-held.v1", {**held, "minutes": HUGE}), None),
        ("sessions", _envelope("sessions", "tandem.sessions.no-such-event.v1", held), None),
    ]


async def inject(kafka: str, prefix: str) -> list[str]:
    """Produce every poison record; their event ids (ce_id)."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        sent = []
        for publisher, envelope, raw in poison_records():
            value = raw if raw is not None else envelope.kafka_value()
            await producer.send_and_wait(
                events_topic(publisher, prefix), value, key=envelope.kafka_key(), headers=envelope.kafka_headers()
            )
            sent.append(envelope.event_id)
        return sent
    finally:
        await producer.stop()
