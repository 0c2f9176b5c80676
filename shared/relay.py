"""The outbox relay: publishes a service's stored events to its Kafka topic, in position order.

Guarantees (ARCHITECTURE §2):
- at-least-once: the cursor moves only after Kafka acknowledged (acks=all) every event up to it, so a relay
  killed at any instant resends from the cursor; a duplicate is always the same event id;
- per-stream order: events are sent in position order (within a stream, position order is version order),
  keyed by stream id, through an idempotent producer, which keeps order within a partition across retries;
- one active relay per store and topic: a session advisory lock elects it, so extra replicas wait as
  standbys and take over when the leader's connection ends.
- nothing stalls it: an event Kafka refuses for what it is (too large, not encodable) is parked with the later events
  of its stream, and the rest of the log flows on (shared/parked.py); Kafka being away is waited out, never parked.
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
from shared.health import TaskHealth
from shared.metrics import RELAY_LAST_POSITION, RELAY_PARKED, RELAY_PUBLISHED
from shared.parked import HELD, ParkedEvents, describe, unpublishable

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
        health: TaskHealth | None = None,
    ):
        self.store, self.dsn, self.topic, self.producer = store, dsn, topic, producer
        self.source, self.batch_size, self.idle_poll_s = source, batch_size, idle_poll_s
        self.health = health
        self.parked = ParkedEvents(store.pool, store.schema, topic)
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
            RELAY_PARKED.labels(self.topic).set(await self.parked.count_open())
            log.info("relay %s -> %s: leader, publishing", self.store.schema, self.topic)
            while not stop.is_set():
                if control.is_closed():
                    raise ConnectionError("lost the relay's control connection (and with it, leadership)")
                published = await self.publish_batch()
                if self.health:
                    self.health.succeeded()
                if published == 0:
                    await self._sleep_until_woken(stop)
        finally:
            with contextlib.suppress(Exception):
                await control.close()

    async def publish_batch(self) -> int:
        """Publish the next batch after the cursor (parking what Kafka refuses); return how many events it held."""
        cursor = await self.store.pool.fetchval(
            f"SELECT last_position FROM {self.store.schema}.relay_cursor WHERE topic = $1", self.topic
        )
        events = await self.store.read_after(cursor or 0, self.batch_size)
        if not events:
            return 0
        held = await self.parked.open_streams()  # stream -> the parked position its later events wait for
        deliveries = []
        parked = 0
        for stored in events:
            if stored.stream_id in held:
                await self.parked.park(
                    stored, HELD, f"waits for parked position {held[stored.stream_id]}", held[stored.stream_id]
                )
                parked += 1
                continue
            try:
                delivery = await self.producer.send(self.topic, **stored.envelope(self.source).kafka_record())
            except Exception as error:
                if not unpublishable(error):
                    raise  # Kafka away or busy: the supervisor retries the batch from the cursor
                await self._park(stored, error)
                held[stored.stream_id] = stored.position
                parked += 1
                continue
            deliveries.append((stored, delivery))
        results = await asyncio.gather(*(d for _, d in deliveries), return_exceptions=True)
        for (stored, _), result in zip(deliveries, results, strict=True):
            if isinstance(result, BaseException):
                if not unpublishable(result):
                    raise result
                await self._park(stored, result)  # refused by the broker; see shared/parked.py, "Residual"
                parked += 1
        last = events[-1].position
        await self.store.pool.execute(
            f"UPDATE {self.store.schema}.relay_cursor SET last_position = $2 WHERE topic = $1",
            self.topic,
            last,
        )
        RELAY_PUBLISHED.labels(self.topic).inc(len(events) - parked)
        RELAY_LAST_POSITION.labels(self.topic).set(last)
        if parked:
            RELAY_PARKED.labels(self.topic).set(await self.parked.count_open())
        log.debug("relay %s: published %d events up to position %d", self.topic, len(events) - parked, last)
        return len(events)

    async def _park(self, stored, error: BaseException) -> None:
        await self.parked.park(stored, type(error).__name__, describe(error), None)
        log.error(
            "relay %s: parked the event at position %d (%s); later events of its stream wait behind it."
            " See: tandem parked list",
            self.topic,
            stored.position,
            type(error).__name__,
        )

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
            if self.health:
                self.health.succeeded()  # a standby is healthy too: alerts on "no success" must not fire for it
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
