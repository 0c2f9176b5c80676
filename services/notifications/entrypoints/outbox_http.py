"""The outbox for the program's admins under /notifications/v1: each pair's last notification and how it fared,
and the re-queue of a dead letter. Ids, rules and statuses only; names and addresses stay in `contacts`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from services.notifications.entrypoints.http import NotificationView, Overseer, UoW, staff
from services.notifications.service_layer import outbox
from shared import program_staff
from shared.auth import Principal
from shared.clock import Clock
from shared.http import provided
from shared.types import MAX_PAGE, Identifier

router = APIRouter(tags=["notifications"])


async def clock(request: Request) -> Clock:
    """The wall clock; the composition root binds the runtime's (which a development process can move)."""
    return provided(request, clock, default=Clock)


Now = Annotated[Clock, Depends(clock)]
Admin = Annotated[Principal, Depends(program_staff.program_role("administers", staff))]


class MemberNotice(BaseModel):
    participant_id: str = Field(description="Pseudonymous id of the member.")
    notification_id: str
    rule: str
    status: str = Field(description="pending | sent | dead")
    attempts: int
    last_error: str | None = Field(description="The class of the last failure (no server text, no address).")
    recorded_at: datetime = Field(description="When the notification was decided.")
    sent_at: datetime | None
    next_attempt_at: datetime = Field(description="While pending: when it is tried next.")


class PairNotices(BaseModel):
    pair_id: str
    members: list[MemberNotice] = Field(description="The last notification to each member, by participant id.")


class PairNoticesPage(BaseModel):
    items: list[PairNotices]
    page: int
    page_size: int
    total: int = Field(description="Pairs of the program that have notifications.")


@router.get("/programs/{program_id}/pairs/last-notifications", response_model=PairNoticesPage)
async def last_notifications_per_pair(
    program_id: Identifier,
    uow: UoW,
    _: Overseer,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 100,
) -> PairNoticesPage:
    """Per pair (in id order), the last nudge to each member and its outcome: what the dashboard shows."""
    found, total = await outbox.last_per_pair(uow, program_id, (page - 1) * page_size, page_size)
    pairs: dict[str, list[MemberNotice]] = {}
    for n, recorded_at in found:
        assert n.participant_id is not None  # the repository keeps only notifications to a member
        pairs.setdefault(n.context["pair_id"], []).append(
            MemberNotice(
                participant_id=n.participant_id,
                notification_id=n.notification_id,
                rule=n.rule,
                status=n.status,
                attempts=n.attempts,
                last_error=n.last_error,
                recorded_at=recorded_at,
                sent_at=n.sent_at,
                next_attempt_at=n.next_attempt_at,
            )
        )
    items = [PairNotices(pair_id=pair, members=members) for pair, members in pairs.items()]
    return PairNoticesPage(items=items, page=page, page_size=page_size, total=total)


@router.post("/programs/{program_id}/notifications/{notification_id}/retry", response_model=NotificationView)
async def retry_dead_letter(
    program_id: Identifier, notification_id: Identifier, uow: UoW, _: Admin, now: Now
) -> NotificationView:
    """A dead letter back in the outbox, due at once with a fresh run of attempts (after its cause is fixed);
    409 unless it is dead-lettered. Auditors see a NotificationRequeued."""
    return NotificationView.of(await outbox.requeue(uow, program_id, notification_id, now.now()))
