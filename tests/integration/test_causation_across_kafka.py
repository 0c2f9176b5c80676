"""A request's correlation id and trace reach, through PostgreSQL, the relay, Kafka and a projection runner, the
event a downstream policy appends in reaction (ARCHITECTURE §3: ce_correlationid, ce_causationid, ce_traceparent)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from shared import observability
from shared.connections import Connections, idempotent_producer
from shared.db import migrate, migration_files
from shared.envelope import Envelope
from shared.events import Event, ParticipantWithdrawn
from shared.eventstore import PostgresEventStore
from shared.observability import correlation_scope
from shared.projection import TRACKING_MIGRATIONS, Projection, ProjectionRunner, on
from shared.relay import Relay
from shared.settings import KafkaSettings
from shared.topics import create_topics, events_topic
from tests.support.kafka_log import KafkaLog, wait_until, withdrawal


class Reacting(Projection):
    """Like matching's withdrawal policy: appends its own event in the runner's transaction, passing no correlation
    or causation id (the runner's caused_by supplies them)."""

    name = "reacting"

    def __init__(self, topic: str, downstream: PostgresEventStore):
        self.topic, self.downstream = topic, downstream

    def topics(self, prefix: str) -> list[str]:
        return [self.topic]

    @on(ParticipantWithdrawn)
    async def react(self, conn: asyncpg.Connection, event: Event, envelope: Envelope) -> None:
        await self.downstream.append(f"reaction-{envelope.stream_id}", None, [event], conn=conn)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    observability.configure_tracing("causation-test", exporter=exporter)
    yield exporter
    observability.disable_tracing()


async def publish_everything(store: PostgresEventStore, dsn: str, topic: str, kafka: KafkaSettings) -> None:
    producer = idempotent_producer({"bootstrap_servers": kafka.kafka_bootstrap_servers})
    await producer.start()
    stop = asyncio.Event()
    relay = asyncio.create_task(Relay(store, dsn, topic, producer, source="/tandem/enrolment").run(stop))
    try:
        async with KafkaLog(kafka.kafka_bootstrap_servers) as log:

            async def published() -> int:
                try:
                    return await log.size(topic)
                except LookupError:  # the broker creates a new topic asynchronously
                    return 0

            await wait_until(published, 30, 0.05, "the relay to publish")
    finally:
        stop.set()
        await relay
        await producer.stop()


async def test_a_reaction_carries_the_requests_correlation_its_cause_and_its_trace(
    store_factory, kafka: KafkaSettings, dsn: str, spans: InMemorySpanExporter
):
    topic = events_topic("obsup", kafka.topic_prefix)
    await create_topics(kafka, [topic])
    upstream, downstream = await store_factory("obsup"), await store_factory("obsdown")

    assert observability._tracing.provider is not None
    tracer = observability._tracing.provider.get_tracer(__name__)
    with (
        correlation_scope("req-obs-1", "req-obs-1"),
        tracer.start_as_current_span("POST /withdrawals", kind=SpanKind.SERVER) as request_span,
    ):
        appended = await upstream.append("pt-9", 0, [withdrawal("pt-9", 1).event()])
    await publish_everything(upstream, dsn, topic, kafka)

    async with KafkaLog(kafka.kafka_bootstrap_servers) as log:
        (record,) = await log.records(topic)
    on_kafka = Envelope.from_kafka(record.headers, record.value)
    request = request_span.get_span_context()
    assert (on_kafka.correlation_id, on_kafka.causation_id) == ("req-obs-1", "req-obs-1")
    assert (on_kafka.traceparent or "").startswith(f"00-{request.trace_id:032x}-{request.span_id:016x}-")

    async with Connections(dsn, kafka, "obs_reacting", pool_size=2) as connections:
        await migrate(connections.pool, "obs_reacting", migration_files(TRACKING_MIGRATIONS))
        assert await ProjectionRunner(Reacting(topic, downstream), connections).catch_up() == 1

    (reaction,) = await downstream.read_after(0)
    assert reaction.metadata["correlation_id"] == "req-obs-1"
    assert reaction.metadata["causation_id"] == appended.event_ids[0]
    (consumer,) = [s for s in spans.get_finished_spans() if s.kind == SpanKind.CONSUMER]
    assert consumer.parent is not None
    assert (consumer.parent.trace_id, consumer.parent.span_id) == (request.trace_id, request.span_id)
    assert consumer.context is not None
    assert reaction.metadata["traceparent"].startswith(
        f"00-{request.trace_id:032x}-{consumer.context.span_id:016x}-"
    ), "the reaction belongs to the same trace, appended inside the consumer's span"
