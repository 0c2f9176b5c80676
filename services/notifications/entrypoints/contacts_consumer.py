"""Follows enrolment's compacted contacts topic (docs/adr/0008) into the `contacts` table: the newest details of
each participant, and a tombstone deletes the person's row.

Not a projection runner: these records are not events (no envelope, personal data, keyed state rather than a log),
and applying one is idempotent (an upsert or a delete of the newest value per key), so Kafka's own committed
offsets suffice: a batch is committed to Kafka after its rows are, and a crash in between applies it again. A
record that is not valid contact details is skipped and counted in the log by offset only (never its content)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from pydantic import ValidationError

from services.notifications.service_layer import handlers
from services.notifications.service_layer.unit_of_work import NotificationsUnitOfWork
from shared.connections import Connections
from shared.contacts import read
from shared.health import TaskHealth

log = logging.getLogger(__name__)


class ContactsFollower:
    def __init__(
        self,
        connections: Connections,
        topic: str,
        group_id: str,
        unit_of_work: Callable[[], NotificationsUnitOfWork],
    ):
        self.connections, self.topic, self.group_id, self.unit_of_work = connections, topic, group_id, unit_of_work

    async def run(self, stop: asyncio.Event, health: TaskHealth | None = None) -> None:
        consumer = self.connections.consumer(self.group_id, enable_auto_commit=False, auto_offset_reset="earliest")
        consumer.subscribe([self.topic])
        await consumer.start()
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=500, max_records=500)
                for records in batches.values():
                    for record in records:
                        await self.apply(record.key, record.value, f"{record.topic}:{record.partition}@{record.offset}")
                if batches:
                    await consumer.commit()
                if health:
                    health.succeeded()
        finally:
            await consumer.stop()

    async def apply(self, key: bytes | None, value: bytes | None, where: str) -> None:
        try:
            if key is None:
                raise ValueError("no key")
            details = read(value)
            participant_id = key.decode()
            if details is not None and details.participant_id != participant_id:
                raise ValueError("key and participant id differ")
        except (ValidationError, ValueError, UnicodeDecodeError) as error:
            log.warning("contacts: skipped the record at %s (%s)", where, type(error).__name__)
            return
        await handlers.contact_received(self.unit_of_work(), participant_id, details)
