"""Publishes participants' contact details to the compacted contacts topic (docs/adr/0008, shared/contacts.py).

`contact_outbox` holds the ids of participants whose row changed, written in the transaction that changed it, so
no change is lost. For each id the relay publishes what enrolment holds *now*: the newest un-erased enrolment's
display name, e-mail and time zone, or a tombstone when every enrolment of the person is erased. Publishing the
current state rather than a copy made at write time keeps personal data out of the outbox, and a compacted topic
only ever needs the newest value per key anyway.

One relay publishes at a time: each batch runs in a transaction holding an advisory lock, so two replicas cannot
interleave an older and a newer value of one person. Rows are deleted only after Kafka acknowledged every record
of the batch (acks=all); a crash in between publishes the same current values again, which compaction absorbs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg
from aiokafka import AIOKafkaProducer

from shared.contacts import ContactDetails, record
from shared.db import advisory_key
from shared.health import TaskHealth

log = logging.getLogger(__name__)


class ContactsRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        schema: str,
        topic: str,
        producer: AIOKafkaProducer,
        *,
        batch_size: int = 200,
        idle_poll_s: float = 0.5,
    ):
        self.pool, self.schema, self.topic, self.producer = pool, schema, topic, producer
        self.batch_size, self.idle_poll_s = batch_size, idle_poll_s
        self.lock_key = advisory_key(f"contacts-relay:{schema}:{topic}")

    async def run(self, stop: asyncio.Event, health: TaskHealth | None = None) -> None:
        while not stop.is_set():
            published = await self.publish_batch()
            if health:
                health.succeeded()
            if not published:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.idle_poll_s)

    async def publish_batch(self) -> int:
        """Publish the oldest queued changes; return how many outbox rows were published (0: none, or a standby)."""
        async with self.pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", self.lock_key):
                return 0
            rows = await conn.fetch(
                "SELECT position, participant_id FROM contact_outbox ORDER BY position LIMIT $1", self.batch_size
            )
            if not rows:
                return 0
            people = list(dict.fromkeys(r["participant_id"] for r in rows))  # in order, each once
            current = await current_contacts(conn, people)
            deliveries = [
                await self.producer.send(self.topic, key=key, value=value)
                for key, value in (record(p, current.get(p)) for p in people)
            ]
            await asyncio.gather(*deliveries)  # raises if Kafka refused one: the rows stay, the batch is retried
            await conn.execute("DELETE FROM contact_outbox WHERE position <= $1", rows[-1]["position"])
        log.debug("contacts relay: published %d people's contact details", len(people))
        return len(rows)


async def current_contacts(conn: asyncpg.Connection, participant_ids: list[str]) -> dict[str, ContactDetails]:
    """What enrolment holds of each person now: their newest enrolment that is not erased (none: no entry)."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (participant_id) participant_id, display_name, email,
                  coalesce(profile->>'time_zone', 'UTC') AS time_zone
           FROM participants
           WHERE participant_id = ANY($1::text[]) AND status <> 'erased'
           ORDER BY participant_id, enrolled_at DESC, program_id""",
        participant_ids,
    )
    return {
        r["participant_id"]: ContactDetails(
            participant_id=r["participant_id"],
            display_name=r["display_name"],
            email=r["email"],
            time_zone=r["time_zone"],
        )
        for r in rows
    }
