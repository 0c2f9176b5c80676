"""The `pairs` read model: which pairs exist and whether they are active, from matching's events. A pair's
PairFormed and PairDissolved share one stream, hence one partition, so they arrive in order."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from services.sessions.adapters import repository
from services.sessions.domain.model import Pair
from shared.envelope import Envelope
from shared.events import Event, PairDissolved, PairFormed
from shared.projection import Projection


class PairsProjection(Projection):
    name = "pairs"
    migrations = Path(__file__).parents[1] / "adapters" / "pairs_sql"
    handles = frozenset({PairFormed.type_name, PairDissolved.type_name})

    def __init__(self, topic: str):
        self.topics = [topic]

    async def apply(self, conn: asyncpg.Connection, envelope: Envelope, event: Event) -> None:
        match event:
            case PairFormed():
                pair = Pair(event.pair_id, event.program_id, event.mentor_id, event.mentee_id)
                await repository.pair_formed(conn, pair, envelope.time)
            case PairDissolved():
                await repository.pair_dissolved(conn, event.pair_id, envelope.time)
