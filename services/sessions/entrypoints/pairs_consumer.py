"""The `pairs` read model: which pairs exist, when they started and whether they are active, from matching's events
(a pair's PairFormed and PairDissolved share one stream, hence one partition, so they arrive in order); and each
program's guidelines (cadence, duration) from enrolment's, which bound agreements and end pairs without one."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from services.sessions.adapters import repository
from services.sessions.domain.model import Pair, ProgramGuidelines
from shared.envelope import Envelope
from shared.events import PairDissolved, PairFormed, ProgramLaunched, ProgramSettingsChanged
from shared.projection import Projection, on


class PairsProjection(Projection):
    name = "pairs"
    migrations = Path(__file__).parents[1] / "adapters" / "pairs_sql"
    # Every handler is one upsert of its own stream's row (a pair, a program), order-independent across streams,
    # so a replay may apply partitions concurrently (shared/projection.py, ADR 0009).
    parallel_replay = True

    @on(PairFormed)
    async def pair_formed(self, conn: asyncpg.Connection, event: PairFormed, envelope: Envelope) -> None:
        pair = Pair(event.pair_id, event.program_id, event.mentor_id, event.mentee_id)
        await repository.pair_formed(conn, pair, envelope.time)

    @on(PairDissolved)
    async def pair_dissolved(self, conn: asyncpg.Connection, event: PairDissolved, envelope: Envelope) -> None:
        await repository.pair_dissolved(conn, event.pair_id, envelope.time)

    @on(ProgramLaunched)
    async def program_launched(self, conn: asyncpg.Connection, event: ProgramLaunched, envelope: Envelope) -> None:
        guidelines = ProgramGuidelines(event.program_id, event.cadence_days, event.duration_weeks, settings_version=1)
        await repository.program_guidelines(conn, guidelines)

    @on(ProgramSettingsChanged)
    async def settings_changed(
        self, conn: asyncpg.Connection, event: ProgramSettingsChanged, envelope: Envelope
    ) -> None:
        guidelines = ProgramGuidelines(
            event.program_id, event.cadence_days, event.duration_weeks, settings_version=event.settings_version
        )
        await repository.program_guidelines(conn, guidelines)
