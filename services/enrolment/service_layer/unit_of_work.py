"""Enrolment's unit of work: its repositories and its event store in one transaction (shared/uow.py)."""

from __future__ import annotations

import asyncpg

from services.enrolment.adapters.memory import (
    EnrolmentState,
    InMemoryCertificates,
    InMemoryConsents,
    InMemoryInvitations,
    InMemoryKudos,
    InMemoryParticipants,
    InMemoryPartnerships,
    InMemoryPrograms,
    InMemoryRoster,
    InMemoryTrainingCompletions,
    InMemoryTrainingModules,
)
from services.enrolment.adapters.postgres import (
    PostgresCertificates,
    PostgresConsents,
    PostgresInvitations,
    PostgresKudos,
    PostgresParticipants,
    PostgresPartnerships,
    PostgresPrograms,
    PostgresRoster,
    PostgresTrainingCompletions,
    PostgresTrainingModules,
)
from services.enrolment.adapters.repository import (
    Certificates,
    Consents,
    Invitations,
    KudosBook,
    Participants,
    Partnerships,
    Programs,
    Roster,
    TrainingCompletions,
    TrainingModules,
)
from shared.eventstore import InMemoryEventStore
from shared.uow import InMemoryUnitOfWork, PostgresUnitOfWork, UnitOfWork

__all__ = [
    "EnrolmentState",
    "EnrolmentUnitOfWork",
    "InMemoryEnrolmentUnitOfWork",
    "PostgresEnrolmentUnitOfWork",
]


class EnrolmentUnitOfWork(UnitOfWork):
    """Bound on entering `async with`: use the repositories only inside the block."""

    programs: Programs
    participants: Participants
    roster: Roster
    consents: Consents
    invitations: Invitations
    partnerships: Partnerships
    training_modules: TrainingModules
    training_completions: TrainingCompletions
    certificates: Certificates
    kudos: KudosBook


class PostgresEnrolmentUnitOfWork(PostgresUnitOfWork, EnrolmentUnitOfWork):
    def _bind(self, conn: asyncpg.Connection) -> None:
        self.programs = PostgresPrograms(conn)
        self.participants = PostgresParticipants(conn)
        self.roster = PostgresRoster(conn)
        self.consents = PostgresConsents(conn)
        self.invitations = PostgresInvitations(conn)
        self.partnerships = PostgresPartnerships(conn)
        self.training_modules = PostgresTrainingModules(conn)
        self.training_completions = PostgresTrainingCompletions(conn)
        self.certificates = PostgresCertificates(conn)
        self.kudos = PostgresKudos(conn)


class InMemoryEnrolmentUnitOfWork(InMemoryUnitOfWork, EnrolmentUnitOfWork):
    state: EnrolmentState

    def __init__(self, state: EnrolmentState | None = None, store: InMemoryEventStore | None = None):
        super().__init__(state or EnrolmentState(), store)

    def _bind(self, state: EnrolmentState) -> None:
        self.programs = InMemoryPrograms(state)
        self.participants = InMemoryParticipants(state)
        self.roster = InMemoryRoster(state)
        self.consents = InMemoryConsents(state)
        self.invitations = InMemoryInvitations(state)
        self.partnerships = InMemoryPartnerships(state)
        self.training_modules = InMemoryTrainingModules(state)
        self.training_completions = InMemoryTrainingCompletions(state)
        self.certificates = InMemoryCertificates(state)
        self.kudos = InMemoryKudos(state)
