"""The `directory` read model (programs' title and rhythm, pairs' members) and the rules that decide notifications.

`NotificationRules` is a policy sharing the directory's runner: a notification is a decision, recorded in the
transaction that applies its cause (with the tracking record), and a replay, which runs projections only, never
decides it again. The policy runs before the directory's own handler in that transaction (shared/projection.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import asyncpg

from services.notifications.adapters import postgres
from services.notifications.domain.model import PairMembers, ProgramFacts
from services.notifications.service_layer import handlers
from services.notifications.service_layer.unit_of_work import PostgresNotificationsUnitOfWork
from shared.envelope import Envelope
from shared.events import PairFormed, ProgramLaunched, ProgramSettingsChanged, SessionHeld
from shared.projection import Policy, Projection, on


class DirectoryProjection(Projection):
    name = "directory"
    migrations = Path(__file__).parents[1] / "adapters" / "directory_sql"

    @on(ProgramLaunched)
    async def program_launched(self, conn: asyncpg.Connection, event: ProgramLaunched, envelope: Envelope) -> None:
        facts = ProgramFacts(event.program_id, event.title, event.cadence_days, event.duration_weeks)
        await postgres.program_facts(conn, facts, settings_version=1)

    @on(ProgramSettingsChanged)
    async def settings_changed(
        self, conn: asyncpg.Connection, event: ProgramSettingsChanged, envelope: Envelope
    ) -> None:
        facts = ProgramFacts(event.program_id, event.title, event.cadence_days, event.duration_weeks)
        await postgres.program_facts(conn, facts, settings_version=event.settings_version)

    @on(PairFormed)
    async def pair_formed(self, conn: asyncpg.Connection, event: PairFormed, envelope: Envelope) -> None:
        pair = PairMembers(event.pair_id, event.program_id, event.mentor_id, event.mentee_id)
        await postgres.pair_formed(conn, pair, envelope.time)

    @on(SessionHeld)
    async def session_held(self, conn: asyncpg.Connection, event: SessionHeld, envelope: Envelope) -> None:
        # Also what puts sessions' topic among those the runner reads, which the feedback-prompt rule needs.
        await postgres.session_held(conn, event.pair_id, event.held_on)


class NotificationRules(Policy):
    """Introductions when a pair starts; feedback prompts after each logged session."""

    name = "notification-rules"
    projection = "directory"

    def __init__(self, unit_of_work: Callable[[], PostgresNotificationsUnitOfWork]):
        self.unit_of_work = unit_of_work

    @on(PairFormed)
    async def introduce(self, conn: asyncpg.Connection, event: PairFormed, envelope: Envelope) -> None:
        await handlers.introduce(self.unit_of_work().joining(conn), event, envelope.event_id, envelope.time)

    @on(SessionHeld)
    async def prompt_feedback(self, conn: asyncpg.Connection, event: SessionHeld, envelope: Envelope) -> None:
        await handlers.prompt_feedback(self.unit_of_work().joining(conn), event, envelope.event_id, envelope.time)
