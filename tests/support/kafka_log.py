"""Reading a topic from the start, and producing test events, against the real broker."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from shared.envelope import Envelope
from shared.events import Event, ParticipantWithdrawn
from shared.logreader import partitions_of, read_topic


class KafkaLog:
    """One long-lived, group-less consumer for inspecting topics (cheap to poll repeatedly)."""

    def __init__(self, bootstrap_servers: str):
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)

    async def __aenter__(self) -> KafkaLog:
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.consumer.stop()

    async def size(self, topic: str) -> int:
        return sum((await self.consumer.end_offsets(await partitions_of(self.consumer, topic))).values())

    async def records(self, topic: str) -> list[ConsumerRecord]:
        """Every record now in `topic`, partition by partition in offset order."""
        return await read_topic(self.consumer, topic)


def envelope_of(
    event: Event,
    stream_id: str,
    version: int = 1,
    *,
    time: datetime | None = None,
    event_id: str | None = None,
    source: str | None = None,
) -> Envelope:
    """An event as its publisher's relay would put it on Kafka (tests produce these directly)."""
    return Envelope(
        event_id=event_id or str(uuid.uuid4()),
        type=event.type_name,
        source=source or f"/tandem/{event.service}",
        subject=stream_id,
        stream_version=version,
        time=time or datetime.now(UTC),
        data=event.model_dump(mode="json"),
    )


def withdrawal(stream_id: str, version: int, event_id: str | None = None) -> Envelope:
    event = ParticipantWithdrawn(program_id="p1", participant_id=stream_id, reason=f"v{version}")
    return envelope_of(event, stream_id, version, event_id=event_id)


async def produce(bootstrap_servers: str, topic: str, envelopes: list[Envelope]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        futures = [await producer.send(topic, **e.kafka_record()) for e in envelopes]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def wait_until(predicate, timeout_s: float, interval_s: float = 0.1, what: str = "condition"):
    """Poll an async predicate until it returns a truthy value; fail with `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(interval_s)
