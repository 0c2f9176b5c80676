"""The pool: matching's view of enrolment, from enrolment's events. A withdrawal also dissolves the
participant's active pairs, in the same transaction as the tracking record, so it happens exactly once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import asyncpg

from services.matching.adapters import repository
from services.matching.service_layer import handlers
from shared.envelope import Envelope
from shared.events import Event, ParticipantEnrolled, ParticipantProfileUpdated, ParticipantWithdrawn, ProgramLaunched
from shared.projection import Projection


class PoolProjection(Projection):
    name = "pool"
    migrations: Path | None = None  # its tables are part of the service's own migrations
    handles = frozenset(
        t.type_name for t in (ProgramLaunched, ParticipantEnrolled, ParticipantProfileUpdated, ParticipantWithdrawn)
    )

    def __init__(self, topic: str):
        self.topics = [topic]
        self.matching_factory: Callable[[], handlers.Matching] | None = None

    async def apply(self, conn: asyncpg.Connection, envelope: Envelope, event: Event) -> None:
        match event:
            case ProgramLaunched():
                await repository.upsert_program(conn, event.program_id, event.model_dump(mode="json"))
            case ParticipantEnrolled() | ParticipantProfileUpdated():
                await repository.upsert_candidate(conn, event.model_dump(mode="json"))
            case ParticipantWithdrawn():
                assert self.matching_factory is not None, "bootstrap wires the service in"
                matching = self.matching_factory()
                await handlers.participant_withdrew(matching, conn, event.program_id, event.participant_id)
