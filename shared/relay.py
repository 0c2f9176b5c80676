"""The outbox relay: publishes a service's stored events to its Kafka topic, in position order.

Guarantees (ARCHITECTURE §2):
- at-least-once: the cursor moves only after Kafka acknowledged (acks=all) every event up to it, so a relay
  killed at any instant resends from the cursor; a duplicate is always the same event id;
- per-stream order: events are sent in log order, (log_xid, position), which within a stream is version order, keyed
  by stream id, through an idempotent producer, which keeps order within a partition across retries; the partition
  is the one Kafka's default partitioner gives the key (`partition_of`), computed once per stream;
- no late commit skipped: the relay reads only below the store's visibility horizon and its cursor is the pair
  (log_xid, position) of the last event it published (shared/eventstore.py, ADR 0010);
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
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2

from shared import collector
from shared.db import advisory_key
from shared.envelope import CONTENT_TYPE, SPEC_VERSION
from shared.eventstore import LogCursor, PostgresEventStore, stored_event
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
        self._log_sql = store.log_sql(LOG_COLUMNS)
        self._cursor: LogCursor | None = None  # the stored cursor, known while this relay leads
        self._ahead: asyncio.Future | None = None  # the next batch, read while the last one is acknowledged
        self._storing: asyncio.Future | None = None  # the last acknowledged batch's cursor, being written

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
            await self._cursor_stored()
        finally:
            if self._storing is not None:  # leaving on an error: the write may end as it will, its error unread
                self._storing.add_done_callback(_ignore_outcome)
            with contextlib.suppress(Exception):
                await control.close()

    async def publish_batch(self) -> int:
        """Publish the next batch after the cursor (parking what Kafka refuses); return how many events it held.

        While Kafka acknowledges a batch, the next one is already read: rows below the horizon never change and
        whatever commits later sorts after them, so the read ahead is exactly what the next call would read."""
        try:
            # A batch's rows, records and deliveries live until it is acknowledged: collections in the middle only
            # walked them (with the collector on, building the records cost twice as much).
            with collector.paused():
                return await self._publish_batch()
        except BaseException:
            if self._ahead is not None:
                self._ahead.cancel()
            self._cursor, self._ahead = None, None  # start again from the stored cursor
            raise

    async def _publish_batch(self) -> int:
        if self._cursor is None:
            # A write still under way could move the stored cursor past the one read here; if it failed, the cursor
            # stored before it is as good (at-least-once: the relay resends from there).
            with contextlib.suppress(Exception):
                await self._cursor_stored()
            stored = await self.store.pool.fetchrow(
                f"SELECT last_xid, last_position FROM {self.store.schema}.relay_cursor WHERE topic = $1", self.topic
            )
            self._cursor = LogCursor(stored["last_xid"], stored["last_position"]) if stored else LogCursor(0, 0)
        if self._ahead is not None:
            rows, self._ahead = await self._ahead, None
        else:
            rows = await self._read(self._cursor)
        if not rows:
            await self._cursor_stored()  # idle: whoever reads the stored cursor now finds every acknowledged batch
            return 0
        held = await self.parked.open_streams()  # stream -> the parked position its later events wait for
        deliveries = []
        parked = 0
        send, topic, source = self.producer.send, self.topic, self.source.encode()
        partitions = len(await self.producer.partitions_for(topic))
        times: dict[datetime, bytes] = {}
        for row in rows:
            stream_id = row["stream_id"]
            if stream_id in held:
                await self.parked.park(
                    stored_event(row), HELD, f"waits for parked position {held[stream_id]}", held[stream_id]
                )
                parked += 1
                continue
            key, value, headers = record_parts(row, source, times)
            try:
                delivery = await send(topic, value, key, partition_of(key, partitions), None, headers)
            except Exception as error:
                if not unpublishable(error):
                    raise  # Kafka away or busy: the supervisor retries the batch from the cursor
                await self._park(stored_event(row), error)
                held[stream_id] = row["position"]
                parked += 1
                continue
            deliveries.append((row, delivery))
        last = rows[-1]
        if len(rows) == self.batch_size:  # more is likely waiting: read it while Kafka acknowledges this batch
            self._ahead = asyncio.ensure_future(self._read(LogCursor(last["log_xid"], last["position"])))
        # One by one rather than `gather`, whose callback per delivery cost 1.5 us an event: a partition's records
        # are acknowledged in order, so after the first wait most are already done.
        for index, (row, delivery) in enumerate(deliveries):
            try:
                await delivery
            except Exception as error:
                if not unpublishable(error):
                    for _, later in deliveries[index + 1 :]:  # resent from the cursor: their outcomes do not matter
                        later.add_done_callback(_ignore_outcome)
                    raise
                await self._park(stored_event(row), error)  # refused by the broker; see shared/parked.py, "Residual"
                parked += 1
        self._cursor = LogCursor(last["log_xid"], last["position"])
        # Written while the next batch is sent: waiting for its commit (a WAL flush) held up every batch by 1-3 ms,
        # 4-10 % of the relay's time. Writes stay in order, each after its batch's acknowledgements.
        await self._cursor_stored()
        self._storing = asyncio.ensure_future(self._store_cursor(self._cursor))
        RELAY_PUBLISHED.labels(self.topic).inc(len(rows) - parked)
        RELAY_LAST_POSITION.labels(self.topic).set(last["position"])
        if parked:
            RELAY_PARKED.labels(self.topic).set(await self.parked.count_open())
        log.debug("relay %s: published %d events up to position %d", self.topic, len(rows) - parked, last["position"])
        return len(rows)

    async def _store_cursor(self, cursor: LogCursor) -> None:
        await self.store.pool.execute(
            f"UPDATE {self.store.schema}.relay_cursor SET last_xid = $2, last_position = $3 WHERE topic = $1",
            self.topic,
            cursor.xid,
            cursor.position,
        )

    async def _cursor_stored(self) -> None:
        """Wait for the last cursor write, if one is under way (its error, if any, is raised here)."""
        storing, self._storing = self._storing, None
        if storing is not None:
            await storing

    async def _read(self, after: LogCursor) -> list[asyncpg.Record]:
        return await self.store.pool.fetch(self._log_sql, after.xid, after.position, self.batch_size)

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


# The row as the relay needs it: the body stays the text PostgreSQL renders for the stored jsonb, and the metadata the
# headers carry comes out as columns (the whole metadata stays for parking, which rebuilds a StoredEvent).
LOG_COLUMNS = ", ".join(
    [
        "position, stream_id, version, event_id::text AS event_id, type, data, metadata, recorded_at, prev_hash, hash",
        "log_xid, metadata->>'correlation_id' AS correlation_id, metadata->>'causation_id' AS causation_id",
        "metadata->>'traceparent' AS traceparent, metadata->>'tracestate' AS tracestate",
    ]
)
_SPEC_VERSION, _CONTENT_TYPE = SPEC_VERSION.encode(), CONTENT_TYPE.encode()


def _ignore_outcome(done: asyncio.Future) -> None:
    if not done.cancelled():
        done.exception()  # read, so asyncio does not log it as never retrieved


@lru_cache(maxsize=1 << 16)
def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (Java's, and aiokafka's) gives a keyed record: murmur2 of the key.

    Computed once per stream, not once per event: aiokafka's pure-Python murmur2 was the largest single cost of a
    `send`, 1.1 us for a short key and 8 us for a UUID. Same function, so a stream keeps its partition whoever sends
    its events (a redrive goes through the producer's own partitioner)."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def kafka_record(row: Any, source: bytes, times: dict | None = None) -> dict[str, Any]:
    """The producer's `send` arguments for a stored row: the same record as `StoredEvent.envelope(source)` builds
    (tests/unit/test_relay_record.py holds them equal), without the dataclasses and without decoding the body."""
    key, value, headers = record_parts(row, source, times)
    return {"value": value, "key": key, "headers": headers}


def record_parts(row: Any, source: bytes, times: dict | None = None) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """`kafka_record`'s key, value and headers, for a positional `send` (no dict to build and unpack per event).
    `times` caches `ce_time` across rows: the events of one append share their recording time."""
    (position, stream_id, version, event_id, type_, data, _, recorded_at, prev_hash, hash_, _, correlation, causation,
     traceparent, tracestate) = row.values()  # fmt: skip  # LOG_COLUMNS' order; by name costs a lookup each
    time = times.get(recorded_at) if times is not None else None
    if time is None:
        time = recorded_at.astimezone(UTC).isoformat().encode()
        if times is not None:
            times[recorded_at] = time
    subject = stream_id.encode()
    headers = [
        ("ce_specversion", _SPEC_VERSION),
        ("ce_id", event_id.encode()),
        ("ce_type", type_.encode()),
        ("ce_source", source),
        ("ce_subject", subject),
        ("ce_time", time),
        ("ce_streamversion", str(version).encode()),
        ("content-type", _CONTENT_TYPE),
    ]
    if correlation:
        headers.append(("ce_correlationid", correlation.encode()))
    if causation:
        headers.append(("ce_causationid", causation.encode()))
    headers.append(("ce_position", str(position).encode()))
    if hash_:
        headers += [("ce_hash", hash_.encode()), ("ce_prevhash", (prev_hash or "").encode())]
    if traceparent:
        headers.append(("ce_traceparent", traceparent.encode()))
    if tracestate:
        headers.append(("ce_tracestate", tracestate.encode()))
    return subject, data.encode(), headers
