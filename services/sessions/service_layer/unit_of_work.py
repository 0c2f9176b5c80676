"""Sessions' unit of work: its repositories and its event store in one transaction (shared/uow.py)."""

from __future__ import annotations

import asyncpg

from services.sessions.adapters import memory, repository
from shared.eventstore import InMemoryEventStore
from shared.program_staff import InMemoryProgramStaff, PostgresProgramStaff, ProgramStaffReader
from shared.uow import InMemoryUnitOfWork, PostgresUnitOfWork, UnitOfWork


class SessionsUnitOfWork(UnitOfWork):
    """What a sessions handler may touch inside `async with uow:`."""

    pairs: repository.Pairs
    sessions: repository.Sessions
    feedback: repository.Feedback
    programs: repository.Programs
    agreements: repository.Agreements
    reflections: repository.Reflections
    stories: repository.Stories
    idempotency_keys: repository.IdempotencyKeys
    program_staff: ProgramStaffReader  # the shared `program_staff` read model (shared/program_staff.py)


class PostgresSessionsUnitOfWork(PostgresUnitOfWork, SessionsUnitOfWork):
    def _bind(self, conn: asyncpg.Connection) -> None:
        self.pairs = repository.PostgresPairs(conn)
        self.sessions = repository.PostgresSessions(conn)
        self.feedback = repository.PostgresFeedback(conn)
        self.programs = repository.PostgresPrograms(conn)
        self.agreements = repository.PostgresAgreements(conn)
        self.reflections = repository.PostgresReflections(conn)
        self.stories = repository.PostgresStories(conn)
        self.idempotency_keys = repository.PostgresIdempotencyKeys(conn)
        self.program_staff = PostgresProgramStaff(conn)


class InMemorySessionsUnitOfWork(InMemoryUnitOfWork, SessionsUnitOfWork):
    """Units of work built over one `state` and `store` share them, as requests share one database."""

    state: memory.SessionsState

    def __init__(self, state: memory.SessionsState | None = None, store: InMemoryEventStore | None = None):
        super().__init__(state if state is not None else memory.SessionsState(), store)

    def _bind(self, state: memory.SessionsState) -> None:
        self.pairs = memory.InMemoryPairs(state)
        self.sessions = memory.InMemorySessions(state)
        self.feedback = memory.InMemoryFeedback(state)
        self.programs = memory.InMemoryPrograms(state)
        self.agreements = memory.InMemoryAgreements(state)
        self.reflections = memory.InMemoryReflections(state)
        self.stories = memory.InMemoryStories(state)
        self.idempotency_keys = memory.InMemoryIdempotencyKeys(state)
        self.program_staff = InMemoryProgramStaff(state.program_staff)
