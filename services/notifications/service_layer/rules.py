"""The rules of issue #17 beyond introductions and feedback prompts, as use cases over a unit of work: those an
event decides (the notification rules policy calls them in the transaction applying the event) and the scan the
`remind` schedule runs at the clock's time."""

from __future__ import annotations

from datetime import datetime

from services.notifications.domain import rules
from services.notifications.domain.model import Notification, PairMembers
from services.notifications.service_layer.unit_of_work import NotificationsUnitOfWork
from shared.events import NotificationSettings, PairCompleted, PairProposed, ProgramClosed


async def settings_of(uow: NotificationsUnitOfWork, program_id: str) -> NotificationSettings:
    """The program's rules as its newest settings say; all on while its facts have not arrived."""
    program = await uow.directory.program(program_id)
    return program.notifications if program else NotificationSettings()


async def record(uow: NotificationsUnitOfWork, notifications: list[Notification]) -> int:
    return sum([await uow.notifications.add(n) for n in notifications])


async def propose(uow: NotificationsUnitOfWork, event: PairProposed, cause_event_id: str, now: datetime) -> int:
    """Both members of a proposed pair are asked to accept it."""
    async with uow:
        if not (await settings_of(uow, event.program_id)).proposal.enabled:
            return 0
        pair = PairMembers(event.pair_id, event.program_id, event.mentor_id, event.mentee_id)
        found = rules.proposals(
            cause_event_id=cause_event_id, pair=pair, breakdown=event.breakdown, expires_at=event.expires_at, now=now
        )
        return await record(uow, found)


async def program_closed(uow: NotificationsUnitOfWork, event: ProgramClosed, cause_event_id: str, now: datetime) -> int:
    """Each member of the program's active pairs hears that it ended."""
    async with uow:
        if not (await settings_of(uow, event.program_id)).program_ended.enabled:
            return 0
        pairs = await uow.directory.pairs_of(event.program_id)
        found = rules.program_ended(cause_event_id=cause_event_id, program_id=event.program_id, pairs=pairs, now=now)
        return await record(uow, found)


async def pair_completed(uow: NotificationsUnitOfWork, event: PairCompleted, cause_event_id: str, now: datetime) -> int:
    """Both members of a completed pair hear it, and where their certificate is."""
    async with uow:
        pair = await uow.directory.pair(event.pair_id)
        if pair is None or not (await settings_of(uow, event.program_id)).completion.enabled:
            return 0
        found = rules.completions(cause_event_id=cause_event_id, pair=pair, completed_on=event.completed_on, now=now)
        return await record(uow, found)


async def remind(uow: NotificationsUnitOfWork, now: datetime) -> int:
    """Record every clock-driven notification due at `now` that is not recorded yet; return how many."""
    async with uow:
        snapshot = await uow.directory.snapshot(ended_since=now - rules.DIGEST_WINDOW)
        nudged = await uow.notifications.recorded(rules.all_nudge_ids(snapshot, now))
        due = rules.due(snapshot, now, nudged)
        known = await uow.notifications.recorded([n.notification_id for n in due])
        return await record(uow, [n for n in due if n.notification_id not in known])
