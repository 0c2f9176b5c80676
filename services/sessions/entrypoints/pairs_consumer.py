"""The `pairs` read model: which pairs exist and whether they are active, from matching's events. A pair's
PairFormed and PairDissolved share one stream, hence one partition, so they arrive in order."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from services.sessions.adapters import repository
from services.sessions.domain.model import Pair
from shared.envelope import Envelope
from shared.events import PairDissolved, PairFormed
from shared.projection import Projection, on


class PairsProjection(Projection):
    name = "pairs"
    migrations = Path(__file__).parents[1] / "adapters" / "pairs_sql"

    @on(PairFormed)
    async def pair_formed(self, conn: asyncpg.Connection, event: PairFormed, envelope: Envelope) -> None:
        pair = Pair(event.pair_id, event.program_id, event.mentor_id, event.mentee_id)
        await repository.pair_formed(conn, pair, envelope.time)

    @on(PairDissolved)
    async def pair_dissolved(self, conn: asyncpg.Connection, event: PairDissolved, envelope: Envelope) -> None:
        await repository.pair_dissolved(conn, event.pair_id, envelope.time)
