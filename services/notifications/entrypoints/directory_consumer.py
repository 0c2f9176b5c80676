"""The `directory` read model (programs' title, rhythm and notification settings; pairs' members and how they
stand; proposals waiting) and the rules that decide notifications from events.

`NotificationRules` is a policy sharing the directory's runner: a notification is a decision, recorded in the
transaction that applies its cause (with the tracking record), and a replay, which runs projections only, never
decides it again. The policy runs before the directory's own handler in that transaction (shared/projection.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import asyncpg

from services.notifications.adapters.postgres import PostgresDirectory
from services.notifications.service_layer import directory, handlers, rules
from services.notifications.service_layer.unit_of_work import PostgresNotificationsUnitOfWork
from shared.envelope import Envelope
from shared.events import Event, PairCompleted, PairFormed, PairProposed, ProgramClosed, SessionHeld
from shared.projection import Policy, Projection, on


class DirectoryProjection(Projection):
    name = "directory"
    migrations = Path(__file__).parents[1] / "adapters" / "directory_sql"

    @on(*directory.DIRECTORY_EVENTS)
    async def change(self, conn: asyncpg.Connection, event: Event, envelope: Envelope) -> None:
        # SessionHeld here also puts sessions' topic among those the runner reads, which the feedback prompt needs.
        await directory.apply(PostgresDirectory(conn), event, envelope.event_id, envelope.time)

    @on(ProgramClosed)
    async def program_closed(self, conn: asyncpg.Connection, event: ProgramClosed, envelope: Envelope) -> None:
        """Nothing to keep (open pairs run to their end): handled so the policy's program-ended rule sees it."""


class NotificationRules(Policy):
    """The event-driven rules: proposals, introductions, feedback prompts, the program's end, completions."""

    name = "notification-rules"
    projection = "directory"

    def __init__(self, unit_of_work: Callable[[], PostgresNotificationsUnitOfWork]):
        self.unit_of_work = unit_of_work

    @on(PairProposed)
    async def propose(self, conn: asyncpg.Connection, event: PairProposed, envelope: Envelope) -> None:
        await rules.propose(self.unit_of_work().joining(conn), event, envelope.event_id, envelope.time)

    @on(PairFormed)
    async def introduce(self, conn: asyncpg.Connection, event: PairFormed, envelope: Envelope) -> None:
        await handlers.introduce(self.unit_of_work().joining(conn), event, envelope.event_id, envelope.time)

    @on(SessionHeld)
    async def prompt_feedback(self, conn: asyncpg.Connection, event: SessionHeld, envelope: Envelope) -> None:
        await handlers.prompt_feedback(self.unit_of_work().joining(conn), event, envelope.event_id, envelope.time)

    @on(ProgramClosed)
    async def program_ended(self, conn: asyncpg.Connection, event: ProgramClosed, envelope: Envelope) -> None:
        await rules.program_closed(self.unit_of_work().joining(conn), event, envelope.event_id, envelope.time)

    @on(PairCompleted)
    async def completed(self, conn: asyncpg.Connection, event: PairCompleted, envelope: Envelope) -> None:
        await rules.pair_completed(self.unit_of_work().joining(conn), event, envelope.event_id, envelope.time)
