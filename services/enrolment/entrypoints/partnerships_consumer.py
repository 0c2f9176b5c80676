"""The `partnerships` read model: which pairs matching formed and whether they are still active, so a pair's
members can be introduced to each other (GET /me/partners). A pair's PairFormed and PairDissolved share one stream,
hence one partition, so they arrive in order."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from services.enrolment.adapters import postgres
from services.enrolment.domain.model import Partnership
from shared.envelope import Envelope
from shared.events import PairDissolved, PairFormed
from shared.projection import Projection, on


class PartnershipsProjection(Projection):
    name = "partnerships"
    migrations = Path(__file__).parents[1] / "adapters" / "partnerships_sql"

    @on(PairFormed)
    async def pair_formed(self, conn: asyncpg.Connection, event: PairFormed, envelope: Envelope) -> None:
        pair = Partnership(event.program_id, event.pair_id, event.mentor_id, event.mentee_id, envelope.time)
        await postgres.partnership_formed(conn, pair)

    @on(PairDissolved)
    async def pair_dissolved(self, conn: asyncpg.Connection, event: PairDissolved, envelope: Envelope) -> None:
        await postgres.partnership_dissolved(conn, event.pair_id)
