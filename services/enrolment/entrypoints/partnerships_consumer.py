"""The `partnerships` read model: which pairs matching formed and whether they are still active, so a pair's
members can be introduced to each other (GET /me/partners); and, from sessions, which pairs completed and the
topics of their sessions, so enrolment can certify them (issue #16). A pair's PairFormed and PairDissolved share one
stream, hence one partition, so they arrive in order; its PairCompleted comes on sessions' topic, in no order with
them, hence the policy reacting to whichever of formation and completion comes second."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import asyncpg

from services.enrolment.adapters import postgres
from services.enrolment.domain.model import Partnership
from services.enrolment.service_layer import recognition
from services.enrolment.service_layer.unit_of_work import PostgresEnrolmentUnitOfWork
from shared.envelope import Envelope
from shared.events import PairCompleted, PairDissolved, PairFormed, SessionHeld
from shared.projection import Policy, Projection, on


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

    @on(PairCompleted)
    async def pair_completed(self, conn: asyncpg.Connection, event: PairCompleted, envelope: Envelope) -> None:
        await postgres.partnership_completed(conn, event.program_id, event.pair_id, event.completed_on)

    @on(SessionHeld)
    async def session_held(self, conn: asyncpg.Connection, event: SessionHeld, envelope: Envelope) -> None:
        await postgres.partnership_session(conn, event.pair_id, event.topics, event.learning_direction)


class CompletionIssuesCertificates(Policy):
    """Each member of a pair that ran its course receives a certificate, once (never for a dissolved pair)."""

    name = "completion-issues-certificates"
    projection = PartnershipsProjection.name

    def __init__(self, unit_of_work: Callable[[], PostgresEnrolmentUnitOfWork]):
        self.unit_of_work = unit_of_work

    # Policies run before the read model records the event: each handler passes what its event says.

    @on(PairCompleted)
    async def completed(self, conn: asyncpg.Connection, event: PairCompleted, envelope: Envelope) -> None:
        uow = self.unit_of_work().joining(conn)
        await recognition.issue_certificates(uow, event.pair_id, completed_on=event.completed_on)

    @on(PairFormed)
    async def formed(self, conn: asyncpg.Connection, event: PairFormed, envelope: Envelope) -> None:
        pair = Partnership(event.program_id, event.pair_id, event.mentor_id, event.mentee_id, envelope.time)
        await recognition.issue_certificates(self.unit_of_work().joining(conn), event.pair_id, formed=pair)
