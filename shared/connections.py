"""What a Tandem process opens once and shares: one PostgreSQL pool, one Kafka producer, one set of Kafka client
options (servers, TLS, SASL). The relay, projections, policies, replays and CLI commands all take them from here,
so a setting such as SASL reaches every client the process creates (a replay that fell back to plaintext was the
bug this closes), and nothing opens connections of its own."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any, Self

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.db import check_identifier, create_pool
from shared.settings import KafkaSettings


def idempotent_producer(client_options: dict, **overrides: Any) -> AIOKafkaProducer:
    """`client_options`: KafkaSettings.client_options() (servers, TLS, SASL)."""
    options = dict(
        **client_options,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_batch_size=1024 * 1024,
        request_timeout_ms=30_000,
    )
    return AIOKafkaProducer(**{**options, **overrides})


class Connections:
    def __init__(self, database_url: str, kafka: KafkaSettings, schema: str, *, pool_size: int = 10):
        self.database_url, self.kafka, self.schema = database_url, kafka, check_identifier(schema)
        self.kafka_options = kafka.client_options()
        self.pool_size = pool_size
        self.pool: asyncpg.Pool
        self._producer: AIOKafkaProducer | None = None
        # The relay and enrolment's contacts relay ask for the producer at the same moment on start-up: without the
        # lock each started one, and the one overwritten was never stopped ("Unclosed AIOKafkaProducer" on exit).
        self._producer_started = asyncio.Lock()

    async def open(self) -> None:
        self.pool = await create_pool(self.database_url, self.schema, max_size=self.pool_size)

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
        await self.pool.close()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def producer(self) -> AIOKafkaProducer:
        """The process's one producer (idempotent, acks=all), started on first use."""
        async with self._producer_started:
            if self._producer is None:
                producer = idempotent_producer(self.kafka_options, max_request_size=self.kafka.kafka_max_request_size)
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()  # Kafka away at start: release its client; the next call tries again
                    raise
                self._producer = producer
            return self._producer

    @property
    def started_producer(self) -> AIOKafkaProducer | None:
        return self._producer

    def consumer(self, group_id: str | None, **options: Any) -> AIOKafkaConsumer:
        """A consumer with the process's client options; consumers are per reader (each has its own position)."""
        return AIOKafkaConsumer(**self.kafka_options, group_id=group_id, **options)
