"""The `facts` projection: every event insights counts, from enrolment's, matching's and sessions' topics, recorded
as a fact with its event time. Topics are read independently, so facts may arrive in any order across them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import asyncpg

from services.insights.adapters import repository
from shared.envelope import Envelope
from shared.events import (
    Event,
    FeedbackGiven,
    PairDissolved,
    PairFormed,
    ParticipantEnrolled,
    ParticipantProfileUpdated,
    ParticipantWithdrawn,
    ProgramLaunched,
    SessionHeld,
)
from shared.projection import Projection

MIGRATIONS = Path(__file__).parents[1] / "adapters" / "sql"
FACTS = (
    ProgramLaunched,
    ParticipantEnrolled,
    ParticipantProfileUpdated,
    ParticipantWithdrawn,
    PairFormed,
    PairDissolved,
    SessionHeld,
    FeedbackGiven,
)


class FactsProjection(Projection):
    name = "facts"
    migrations = MIGRATIONS
    handles = frozenset(t.type_name for t in FACTS)

    def __init__(self, topics: Sequence[str]):
        self.topics = list(topics)

    async def apply(self, conn: asyncpg.Connection, envelope: Envelope, event: Event) -> None:
        at = envelope.time
        match event:
            case ProgramLaunched():
                await repository.record_program(conn, event, at)
            case ParticipantEnrolled() | ParticipantProfileUpdated():
                await repository.record_profile(conn, envelope.event_id, event, at)
            case ParticipantWithdrawn():
                await repository.record_withdrawal(conn, event, at)
            case PairFormed():
                await repository.record_pair(conn, event, at)
            case PairDissolved():
                await repository.record_dissolution(conn, event, at)
            case SessionHeld():
                await repository.record_session(conn, event, at)
            case FeedbackGiven():
                await repository.record_feedback(conn, event, at)
