"""The outbox as the program's admins see and steer it: each pair's last notification, and a dead letter sent back
to the outbox once its cause is fixed. Kept apart from the rules and the sender (handlers.py): nothing here sends."""

from __future__ import annotations

from datetime import datetime

from services.notifications.domain.model import Notification
from services.notifications.service_layer.unit_of_work import NotificationsUnitOfWork
from shared.errors import NotFound


async def last_per_pair(
    uow: NotificationsUnitOfWork, program_id: str, offset: int, limit: int
) -> tuple[list[tuple[Notification, datetime]], int]:
    async with uow:
        return await uow.notifications.last_per_pair(program_id, offset, limit)


async def requeue(uow: NotificationsUnitOfWork, program_id: str, notification_id: str, now: datetime) -> Notification:
    """A dead letter is due again at once, with its NotificationRequeued for auditors; 409 unless it is dead."""
    async with uow:
        found = await uow.notifications.locked(notification_id)
        if found is None or found.program_id != program_id:
            raise NotFound(f"no notification {notification_id} in program {program_id}")
        requeued, event = found.requeued(now)
        await uow.notifications.save(requeued)
        await uow.append(requeued.stream_id, None, [event])
        return requeued
