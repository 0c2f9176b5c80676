"""Parked events: what the relay sets aside when Kafka refuses a record itself, so one bad event cannot stop the log.

Kafka refuses some records for what they are, not for where Kafka is: larger than the producer's or the broker's
limit, or impossible to encode. Retrying such a record forever stopped every later event of the service (issue #13).
The relay now parks it (table `parked_events`), moves its cursor past it and goes on. Errors that say Kafka is away
or busy (timeouts, no leader, not enough replicas) are never parked: the relay waits and retries as before.

Per-stream order: once an event of a stream is parked, the relay parks every later event of that stream too, held
behind it, until an operator re-drives or skips it (`tandem parked`); consumers therefore never see a stream's
version N+1 before N. Other streams flow on. Re-driving publishes the stream's parked events in position order and
stops at the first that is refused again. Skipping gives up one event (its consumers will see a version gap, which
the operator accepts by skipping) and then re-drives the events held behind it. Each resolution writes an audit row:
who (an operator id or ticket reference), when and why.

Residual: a record the *broker* refuses after later records of the same stream were already sent in the same batch
cannot be called back; those later records are in Kafka before it. Keep the producer's `max_request_size` at or
below the broker's `message.max.bytes` (the defaults are) so oversized records are refused before sending.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    CorruptRecordException,
    InvalidTimestampError,
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
    UnsupportedForMessageFormatError,
)

from shared.db import check_identifier
from shared.eventstore import StoredEvent, stored_event

HELD = "HeldBehindParkedEvent"
# Kafka errors about the record itself: retrying it cannot succeed.
RECORD_ERRORS: tuple[type[KafkaError], ...] = (
    MessageSizeTooLargeError,
    RecordTooLargeError,
    RecordListTooLargeError,
    CorruptRecordException,
    InvalidTimestampError,
    UnsupportedForMessageFormatError,
)


def unpublishable(error: BaseException) -> bool:
    """True when the record itself is refused; False for anything that may pass on a retry (Kafka away, busy)."""
    if isinstance(error, KafkaError):
        return isinstance(error, RECORD_ERRORS)
    # Building the record failed: e.g. a lone surrogate that UTF-8 cannot encode.
    return isinstance(error, ValueError | TypeError | UnicodeError)


def describe(error: BaseException) -> str:
    """Kafka's own texts name sizes and limits; any other error's text may quote the event, so only its class."""
    if isinstance(error, KafkaError):
        return str(error)[:500] or type(error).__name__
    return f"{type(error).__name__} while encoding the record"


@dataclass(frozen=True)
class ParkedEvent:
    position: int
    event_id: str
    stream_id: str
    error_class: str
    error_text: str
    held_behind: int | None
    parked_at: datetime
    resolved_at: datetime | None
    resolution: str | None

    def as_dict(self) -> dict[str, object]:
        return {
            "position": self.position,
            "event_id": self.event_id,
            "stream_id": self.stream_id,
            "error_class": self.error_class,
            "error_text": self.error_text,
            "held_behind": self.held_behind,
            "parked_at": self.parked_at.isoformat(),
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
            "resolution": self.resolution,
        }


@dataclass(frozen=True)
class Outcome:
    position: int
    event_id: str
    action: str  # redriven | skipped | redrive failed


class ParkedEvents:
    """The parked events of one store and topic."""

    def __init__(self, pool: asyncpg.Pool, schema: str, topic: str):
        self.pool, self.schema, self.topic = pool, check_identifier(schema), topic

    async def open_streams(self) -> dict[str, int]:
        """Stream id -> its lowest parked position, for every stream that has a parked event."""
        rows = await self.pool.fetch(
            f"""SELECT stream_id, min(position) AS first FROM {self.schema}.parked_events
                WHERE topic = $1 AND resolved_at IS NULL GROUP BY stream_id""",
            self.topic,
        )
        return {r["stream_id"]: r["first"] for r in rows}

    async def park(self, stored: StoredEvent, error_class: str, error_text: str, held_behind: int | None) -> None:
        await self.pool.execute(
            f"""INSERT INTO {self.schema}.parked_events
                    (position, event_id, stream_id, topic, error_class, error_text, held_behind)
                VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (position) DO NOTHING""",
            stored.position,
            stored.event_id,
            stored.stream_id,
            self.topic,
            error_class,
            error_text,
            held_behind,
        )

    async def count_open(self) -> int:
        return await self.pool.fetchval(
            f"SELECT count(*) FROM {self.schema}.parked_events WHERE topic = $1 AND resolved_at IS NULL", self.topic
        )

    async def listing(self, *, include_resolved: bool = False) -> list[ParkedEvent]:
        rows = await self.pool.fetch(
            f"""SELECT * FROM {self.schema}.parked_events
                WHERE topic = $1 AND ($2 OR resolved_at IS NULL) ORDER BY position""",
            self.topic,
            include_resolved,
        )
        return [_parked(r) for r in rows]

    async def find(self, event_id: str) -> ParkedEvent | None:
        row = await self.pool.fetchrow(
            f"SELECT * FROM {self.schema}.parked_events WHERE topic = $1 AND event_id = $2::uuid", self.topic, event_id
        )
        return _parked(row) if row else None

    async def redrive(
        self, producer: AIOKafkaProducer, source: str, *, actor: str, reason: str, event_id: str | None = None
    ) -> list[Outcome]:
        """Publish parked events again in position order: all of them, or the stream of `event_id`."""
        if event_id is not None:
            target = await self._open(event_id)
            streams = [target.stream_id]
        else:
            streams = list((await self.open_streams()).keys())
        outcomes: list[Outcome] = []
        for stream in streams:
            outcomes += await self._release(stream, producer, source, actor, reason)
        return outcomes

    async def skip(
        self, producer: AIOKafkaProducer, source: str, *, event_id: str, actor: str, reason: str
    ) -> list[Outcome]:
        """Give up one parked event, then publish the events of its stream held behind it."""
        target = await self._open(event_id)
        async with self.pool.acquire() as conn, conn.transaction():
            await self._resolve(conn, target.position, target.event_id, "skipped", actor, reason)
        released = await self._release(target.stream_id, producer, source, actor, f"released after a skip: {reason}")
        return [Outcome(target.position, target.event_id, "skipped"), *released]

    async def _open(self, event_id: str) -> ParkedEvent:
        parked = await self.find(event_id)
        if parked is None or parked.resolved_at is not None:
            raise LookupError(f"event {event_id} is not parked on {self.topic}")
        return parked

    async def _release(
        self, stream_id: str, producer: AIOKafkaProducer, source: str, actor: str, reason: str
    ) -> list[Outcome]:
        """Publish the stream's parked events one by one, in order; stop at the first refused again. Loops until none
        is left, since the relay may hold a newer event of the stream behind them meanwhile."""
        outcomes: list[Outcome] = []
        while True:
            positions = [
                r["position"]
                for r in await self.pool.fetch(
                    f"""SELECT position FROM {self.schema}.parked_events
                        WHERE topic = $1 AND stream_id = $2 AND resolved_at IS NULL ORDER BY position""",
                    self.topic,
                    stream_id,
                )
            ]
            if not positions:
                return outcomes
            for stored in await self._events(positions):
                try:
                    await producer.send_and_wait(self.topic, **stored.envelope(source).kafka_record())
                except Exception as error:
                    if not unpublishable(error):
                        raise
                    await self._refused_again(stored, error, actor, reason)
                    return [*outcomes, Outcome(stored.position, stored.event_id, "redrive failed")]
                async with self.pool.acquire() as conn, conn.transaction():
                    await self._resolve(conn, stored.position, stored.event_id, "redriven", actor, reason)
                outcomes.append(Outcome(stored.position, stored.event_id, "redriven"))

    async def _refused_again(self, stored: StoredEvent, error: BaseException, actor: str, reason: str) -> None:
        """It becomes the stream's cause: later parked events of the stream now wait for it."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                f"""UPDATE {self.schema}.parked_events SET error_class = $2, error_text = $3, held_behind = NULL
                    WHERE position = $1""",
                stored.position,
                type(error).__name__,
                describe(error),
            )
            await conn.execute(
                f"""UPDATE {self.schema}.parked_events SET held_behind = $1
                    WHERE topic = $2 AND stream_id = $3 AND position > $1 AND resolved_at IS NULL""",
                stored.position,
                self.topic,
                stored.stream_id,
            )
            await self._audit(conn, stored.position, stored.event_id, "redrive failed", actor, reason)

    async def _resolve(
        self, conn: asyncpg.Connection, position: int, event_id: str, action: str, actor: str, reason: str
    ) -> None:
        await conn.execute(
            f"UPDATE {self.schema}.parked_events SET resolved_at = now(), resolution = $2 WHERE position = $1",
            position,
            action,
        )
        await self._audit(conn, position, event_id, action, actor, reason)

    async def _audit(
        self, conn: asyncpg.Connection, position: int, event_id: str, action: str, actor: str, reason: str
    ) -> None:
        await conn.execute(
            f"""INSERT INTO {self.schema}.parked_events_audit (position, event_id, action, actor, reason)
                VALUES ($1, $2::uuid, $3, $4, $5)""",
            position,
            event_id,
            action,
            actor,
            reason,
        )

    async def audit_trail(self) -> list[dict[str, object]]:
        rows = await self.pool.fetch(f"SELECT * FROM {self.schema}.parked_events_audit ORDER BY id")
        return [{**dict(r), "event_id": str(r["event_id"]), "at": r["at"].isoformat()} for r in rows]

    async def _events(self, positions: Sequence[int]) -> list[StoredEvent]:
        rows = await self.pool.fetch(
            f"SELECT * FROM {self.schema}.events WHERE position = ANY($1::bigint[]) ORDER BY position", list(positions)
        )
        return [stored_event(r) for r in rows]


def _parked(row: asyncpg.Record) -> ParkedEvent:
    return ParkedEvent(
        position=row["position"],
        event_id=str(row["event_id"]),
        stream_id=row["stream_id"],
        error_class=row["error_class"],
        error_text=row["error_text"],
        held_behind=row["held_behind"],
        parked_at=row["parked_at"],
        resolved_at=row["resolved_at"],
        resolution=row["resolution"],
    )
