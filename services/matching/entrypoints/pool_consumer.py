"""The pool: matching's view of enrolment (programs as launched, changed and closed; participants and the training
they completed) from enrolment's events, and of the pairs sessions completed; with the policies that a withdrawal
dissolves the participant's active pairs and a completion ends its pair. The read model only records; the policies
decide, in the same transaction."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import asyncpg

from services.matching.adapters.repository import PostgresCandidates, PostgresPrograms
from services.matching.service_layer import handlers
from services.matching.service_layer.unit_of_work import PostgresMatchingUnitOfWork
from shared.envelope import Envelope
from shared.events import (
    PairCompleted,
    ParticipantEnrolled,
    ParticipantErased,
    ParticipantProfileUpdated,
    ParticipantWithdrawn,
    ProgramClosed,
    ProgramLaunched,
    ProgramSettingsChanged,
    TrainingCompleted,
)
from shared.projection import Policy, Projection, on
from shared.sealing import SEALED

# What a profile's sealed fields read as once the person's key is destroyed: a replay after an erasure builds the
# pool from these, so the live pool takes them on ParticipantErased (issue #19).
ERASED_PROFILE = SEALED[ParticipantEnrolled.type_name].erased


class PoolProjection(Projection):
    name = "pool"
    migrations = Path(__file__).parents[1] / "adapters" / "pool_sql"

    @on(ProgramLaunched)
    async def program_launched(self, conn: asyncpg.Connection, event: ProgramLaunched, envelope: Envelope) -> None:
        await PostgresPrograms(conn).add(event.program_id, event.model_dump(mode="json"))

    @on(ProgramSettingsChanged)
    async def program_changed(
        self, conn: asyncpg.Connection, event: ProgramSettingsChanged, envelope: Envelope
    ) -> None:
        # The whole settings travel on each change: the newest version replaces what the pool knows.
        await PostgresPrograms(conn).change(event.program_id, event.model_dump(mode="json"), event.settings_version)

    @on(ProgramClosed)
    async def program_closed(self, conn: asyncpg.Connection, event: ProgramClosed, envelope: Envelope) -> None:
        await PostgresPrograms(conn).close(event.program_id, event.closed_at)

    @on(PairCompleted)
    async def pair_completed(self, conn: asyncpg.Connection, event: PairCompleted, envelope: Envelope) -> None:
        await conn.execute(
            "INSERT INTO pool_completed_pairs VALUES ($1, $2, $3, $4) ON CONFLICT (pair_id) DO NOTHING",
            event.pair_id,
            event.program_id,
            event.completed_by,
            event.completed_on,
        )

    @on(ParticipantEnrolled, ParticipantProfileUpdated)
    async def profile(self, conn: asyncpg.Connection, event: ParticipantEnrolled, envelope: Envelope) -> None:
        await PostgresCandidates(conn).upsert(event.model_dump(mode="json"))

    @on(ParticipantErased)
    async def erased(self, conn: asyncpg.Connection, event: ParticipantErased, envelope: Envelope) -> None:
        await PostgresCandidates(conn).erase(event.program_id, event.participant_id, ERASED_PROFILE)

    @on(TrainingCompleted)
    async def trained(self, conn: asyncpg.Connection, event: TrainingCompleted, envelope: Envelope) -> None:
        await PostgresCandidates(conn).record_training(
            event.program_id, event.participant_id, event.module_id, event.module_version
        )

    @on(ParticipantWithdrawn)
    async def withdrawn(self, conn: asyncpg.Connection, event: ParticipantWithdrawn, envelope: Envelope) -> None:
        await PostgresCandidates(conn).mark_withdrawn(event.program_id, event.participant_id)


class WithdrawalDissolvesPairs(Policy):
    """A withdrawn participant is never left in an active pair (ARCHITECTURE §5)."""

    name = "withdrawal-dissolves-pairs"
    projection = PoolProjection.name

    def __init__(self, unit_of_work: Callable[[], PostgresMatchingUnitOfWork]):
        self.unit_of_work = unit_of_work

    @on(ParticipantWithdrawn)
    async def dissolve(self, conn: asyncpg.Connection, event: ParticipantWithdrawn, envelope: Envelope) -> None:
        uow = self.unit_of_work().joining(conn)
        await handlers.dissolve_pairs_of_withdrawn(uow, event.program_id, event.participant_id)


class ErasureForgetsWords(Policy):
    """ParticipantErased (enrolment's): the words about the person's pairs read blank (handlers.forget_words_of).
    A policy, not a pool handler: pairs and declines are matching's own state, which a replay of the pool neither
    rebuilds nor touches."""

    name = "erasure-forgets-words"
    projection = PoolProjection.name

    def __init__(self, unit_of_work: Callable[[], PostgresMatchingUnitOfWork]):
        self.unit_of_work = unit_of_work

    @on(ParticipantErased)
    async def forget(self, conn: asyncpg.Connection, event: ParticipantErased, envelope: Envelope) -> None:
        await handlers.forget_words_of(self.unit_of_work().joining(conn), event.program_id, event.participant_id)


class ProfileChangeRechecksPairs(Policy):
    """An active pair that a profile change makes break a hard rule (an HR re-import putting one member in the
    other's reporting line, or the mentor no longer junior) is flagged or dissolved, per its program's
    `on_reporting_conflict`. It runs before the pool records the update, so it reads the new profile from the
    event and the partner's from the pool."""

    name = "profile-change-rechecks-pairs"
    projection = PoolProjection.name

    def __init__(self, unit_of_work: Callable[[], PostgresMatchingUnitOfWork]):
        self.unit_of_work = unit_of_work

    @on(ParticipantProfileUpdated)
    async def recheck(self, conn: asyncpg.Connection, event: ParticipantProfileUpdated, envelope: Envelope) -> None:
        uow = self.unit_of_work().joining(conn)
        await handlers.recheck_pairs_of_updated(uow, event.model_dump(mode="json"))


class CompletionEndsPairs(Policy):
    """Sessions decides when a pair has run its course (PairCompleted): matching ends the pair in its own tables,
    so it no longer holds its members' places and the couple is not paired again."""

    name = "completion-ends-pairs"
    projection = PoolProjection.name

    def __init__(self, unit_of_work: Callable[[], PostgresMatchingUnitOfWork]):
        self.unit_of_work = unit_of_work

    @on(PairCompleted)
    async def complete(self, conn: asyncpg.Connection, event: PairCompleted, envelope: Envelope) -> None:
        await handlers.complete_pair(self.unit_of_work().joining(conn), event.pair_id)
