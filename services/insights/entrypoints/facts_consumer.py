"""The `facts` projection: every event insights counts, from enrolment's, matching's and sessions' topics, recorded
as a fact with its event time. Topics are read independently, so facts may arrive in any order across them."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from services.insights.adapters import repository
from shared.envelope import Envelope
from shared.events import (
    FeedbackGiven,
    PairDissolved,
    PairFormed,
    ParticipantEnrolled,
    ParticipantProfileUpdated,
    ParticipantWithdrawn,
    ProgramLaunched,
    RoundCommitted,
    SessionHeld,
)
from shared.projection import Projection, on


class FactsProjection(Projection):
    name = "facts"
    migrations = Path(__file__).parents[1] / "adapters" / "sql"

    @on(ProgramLaunched)
    async def program_launched(self, conn: asyncpg.Connection, event: ProgramLaunched, envelope: Envelope) -> None:
        await repository.record_program(conn, event, envelope.time)

    @on(ParticipantEnrolled, ParticipantProfileUpdated)
    async def profile(self, conn: asyncpg.Connection, event: ParticipantEnrolled, envelope: Envelope) -> None:
        await repository.record_profile(conn, envelope.event_id, event, envelope.time)

    @on(ParticipantWithdrawn)
    async def withdrawn(self, conn: asyncpg.Connection, event: ParticipantWithdrawn, envelope: Envelope) -> None:
        await repository.record_withdrawal(conn, event, envelope.time)

    @on(PairFormed)
    async def pair_formed(self, conn: asyncpg.Connection, event: PairFormed, envelope: Envelope) -> None:
        await repository.record_pair(conn, event, envelope.time)

    @on(RoundCommitted)
    async def round_committed(self, conn: asyncpg.Connection, event: RoundCommitted, envelope: Envelope) -> None:
        await conn.execute(
            """INSERT INTO rounds (round_id, program_id, pairs_formed, unmatched, at) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (round_id) DO NOTHING""",
            event.round_id,
            event.program_id,
            event.pairs_formed,
            event.unmatched,
            envelope.time,
        )

    @on(PairDissolved)
    async def pair_dissolved(self, conn: asyncpg.Connection, event: PairDissolved, envelope: Envelope) -> None:
        await repository.record_dissolution(conn, event, envelope.time)

    @on(SessionHeld)
    async def session_held(self, conn: asyncpg.Connection, event: SessionHeld, envelope: Envelope) -> None:
        await repository.record_session(conn, event, envelope.time)

    @on(FeedbackGiven)
    async def feedback_given(self, conn: asyncpg.Connection, event: FeedbackGiven, envelope: Envelope) -> None:
        await repository.record_feedback(conn, event, envelope.time)
