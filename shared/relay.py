"""The outbox relay: publishes a service's stored events to its Kafka topic, in position order.

Guarantees (ARCHITECTURE §2):
- at-least-once: the cursor moves only after Kafka acknowledged (acks=all) every event up to it, so a relay
  killed at any instant resends from the cursor; a duplicate is always the same event id;
- per-stream order: events are sent in position order (within a stream, position order is version order),
  keyed by stream id, through an idempotent producer, which keeps order within a partition across retries;
- one active relay per store and topic: a session advisory lock elects it, so extra replicas wait as
  standbys and take over when the leader's connection ends.
The relay wakes on NOTIFY from `EventStore.append` and also polls every `idle_poll_s`, in case a
notification was missed while the listening connection was being re-established.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg
from aiokafka import AIOKafkaProducer

from shared.db import advisory_key
from shared.eventstore import PostgresEventStore
from shared.metrics import RELAY_LAST_POSITION, RELAY_PUBLISHED

log = logging.getLogger(__name__)


class Relay:
    def __init__(
        self,
        store: PostgresEventStore,
        dsn: str,
        topic: str,
        producer: AIOKafkaProducer,
        *,
        source: str,
        batch_size: int = 1000,
        idle_poll_s: float = 1.0,
    ):
        self.store, self.dsn, self.topic, self.producer = store, dsn, topic, producer
        self.source, self.batch_size, self.idle_poll_s = source, batch_size, idle_poll_s
        self._wake = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until `stop` is set. The in-flight batch is finished and its cursor stored first."""
        control = await asyncpg.connect(self.dsn)
        try:
            await self._become_leader(control, stop)
            if stop.is_set():
                return
            await control.add_listener(self.store.notify_channel, self._on_notify)
            await self._ensure_cursor()
            log.info("relay %s -> %s: leader, publishing", self.store.schema, self.topic)
            while not stop.is_set():
                if control.is_closed():
                    raise ConnectionError("lost the relay's control connection (and with it, leadership)")
                if await self.publish_batch() == 0:
                    await self._sleep_until_woken(stop)
        finally:
            with contextlib.suppress(Exception):
                await control.close()

    async def publish_batch(self) -> int:
        """Publish the next batch after the cursor; return how many events it held."""
        cursor = await self.store.pool.fetchval(
            f"SELECT last_position FROM {self.store.schema}.relay_cursor WHERE topic = $1", self.topic
        )
        events = await self.store.read_after(cursor or 0, self.batch_size)
        if not events:
            return 0
        deliveries = []
        for stored in events:
            envelope = stored.envelope(self.source)
            deliveries.append(
                await self.producer.send(
                    self.topic,
                    value=envelope.kafka_value(),
                    key=envelope.kafka_key(),
                    headers=envelope.kafka_headers(),
                )
            )
        await asyncio.gather(*deliveries)
        last = events[-1].position
        await self.store.pool.execute(
            f"UPDATE {self.store.schema}.relay_cursor SET last_position = $2 WHERE topic = $1",
            self.topic,
            last,
        )
        RELAY_PUBLISHED.labels(self.topic).inc(len(events))
        RELAY_LAST_POSITION.labels(self.topic).set(last)
        log.debug("relay %s: published %d events up to position %d", self.topic, len(events), last)
        return len(events)

    async def _ensure_cursor(self) -> None:
        await self.store.pool.execute(
            f"INSERT INTO {self.store.schema}.relay_cursor (topic, last_position) VALUES ($1, 0)"
            " ON CONFLICT DO NOTHING",
            self.topic,
        )

    async def _become_leader(self, control: asyncpg.Connection, stop: asyncio.Event) -> None:
        key = advisory_key(f"relay:{self.store.schema}:{self.topic}")
        announced = False
        while not stop.is_set():
            if await control.fetchval("SELECT pg_try_advisory_lock($1)", key):
                return
            if not announced:
                log.info("relay %s -> %s: another relay is leader; standing by", self.store.schema, self.topic)
                announced = True
            await self._sleep_until_woken(stop, seconds=2.0)

    def _on_notify(self, *_args) -> None:
        self._wake.set()

    async def _sleep_until_woken(self, stop: asyncio.Event, seconds: float | None = None) -> None:
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=seconds or self.idle_poll_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
            self._wake.clear()
