"""Notifications' HTTP API under /notifications/v1: the program's notifications and their delivery, for the
people who oversee it (ids and statuses only; names and addresses stay in `contacts`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from services.notifications.domain.model import Notification
from services.notifications.service_layer import handlers
from services.notifications.service_layer.unit_of_work import NotificationsUnitOfWork
from shared import program_staff
from shared.auth import Principal
from shared.http import provided
from shared.types import MAX_PAGE, Identifier

router = APIRouter(tags=["notifications"])


async def unit_of_work(request: Request) -> NotificationsUnitOfWork:
    return provided(request, unit_of_work)


async def staff(request: Request) -> program_staff.ProgramStaffReader:
    return provided(request, staff)


UoW = Annotated[NotificationsUnitOfWork, Depends(unit_of_work)]
Overseer = Annotated[Principal, Depends(program_staff.program_role("oversees", staff))]


class NotificationView(BaseModel):
    notification_id: str
    rule: str
    channel: str
    participant_id: str = Field(description="Pseudonymous id of the recipient.")
    pair_id: str | None
    cause_event_id: str
    status: str = Field(
        description="pending | sent | dead (dead-lettered after its last attempt) | digested (in a daily digest)"
        " | suppressed (its person unsubscribed)"
    )
    attempts: int
    next_attempt_at: datetime
    last_error: str | None = Field(description="The class of the last failure (no server text, no address).")
    sent_at: datetime | None

    @classmethod
    def of(cls, n: Notification) -> NotificationView:
        return cls(
            notification_id=n.notification_id,
            rule=n.rule,
            channel=n.channel,
            participant_id=n.participant_id,
            pair_id=n.context.get("pair_id"),
            cause_event_id=n.cause_event_id,
            status=n.status,
            attempts=n.attempts,
            next_attempt_at=n.next_attempt_at,
            last_error=n.last_error,
            sent_at=n.sent_at,
        )


class NotificationPage(BaseModel):
    items: list[NotificationView]
    page: int
    page_size: int
    total: int


@router.get("/programs/{program_id}/notifications", response_model=NotificationPage)
async def notifications_of_program(
    program_id: Identifier,
    uow: UoW,
    _: Overseer,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> NotificationPage:
    """The program's notifications, newest first: the outbox with delivery status, attempts and dead letters."""
    items, total = await handlers.notifications_of(uow, program_id, (page - 1) * page_size, page_size)
    return NotificationPage(items=[NotificationView.of(n) for n in items], page=page, page_size=page_size, total=total)


@router.get("/programs/{program_id}/notifications/{notification_id}", response_model=NotificationView)
async def notification_of_program(
    program_id: Identifier, notification_id: Identifier, uow: UoW, _: Overseer
) -> NotificationView:
    """One notification: where its delivery stands (a dead letter says why, by class of failure)."""
    return NotificationView.of(await handlers.notification(uow, program_id, notification_id))
