"""The `pairs` read model: which pairs exist, when they started and whether they are active, from matching's events
(a pair's PairFormed and PairDissolved share one stream, hence one partition, so they arrive in order); and each
program's guidelines (cadence, duration) from enrolment's, which bound agreements and end pairs without one. With
the policy that an erasure blanks the person's words in sessions' own tables."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import asyncpg

from services.sessions.adapters import repository
from services.sessions.domain.model import Pair, ProgramGuidelines
from services.sessions.service_layer import handlers
from services.sessions.service_layer.unit_of_work import PostgresSessionsUnitOfWork
from shared.envelope import Envelope
from shared.events import PairDissolved, PairFormed, ParticipantErased, ProgramLaunched, ProgramSettingsChanged
from shared.projection import Policy, Projection, on


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


class ErasureForgetsWords(Policy):
    """ParticipantErased (enrolment's): the person's words in the program's pairs read blank (handlers.forget_words_of).

    Those words are sessions' own state, written beside its events but never in them (notes, reflections, goals,
    confidentiality notes) or sealed in them (feedback's `learned` under the writer's key, sessions' topics under
    the pair's, which this policy destroys; a replay reads them blank once the keys are gone): no replay rebuilds
    them, so blanking them here *is* their erasure. A policy,
    not a projection handler: it changes sessions' own tables, which a replay of `pairs` into a fresh schema does not
    hold and must not touch; the `pairs` read model keeps no one's words, so its replay still equals the live one.

    It shares the `pairs` runner, which reads enrolment's topic for ProgramLaunched (a runner subscribes to its
    projection's topics only; tests/sessions/test_sessions_erasure.py checks it still does)."""

    name = "erasure-forgets-words"
    projection = PairsProjection.name

    def __init__(self, unit_of_work: Callable[[], PostgresSessionsUnitOfWork]):
        self.unit_of_work = unit_of_work

    @on(ParticipantErased)
    async def forget(self, conn: asyncpg.Connection, event: ParticipantErased, envelope: Envelope) -> None:
        await handlers.forget_words_of(self.unit_of_work().joining(conn), event.program_id, event.participant_id)
