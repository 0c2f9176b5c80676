"""Matching's unit of work: its repositories and event store in one transaction (shared/uow.py)."""

from __future__ import annotations

import asyncpg

from services.matching.adapters import memory
from services.matching.adapters.memory import MatchingState
from services.matching.adapters.repository import (
    Candidates,
    CoupleRules,
    Pairs,
    PostgresCandidates,
    PostgresCoupleRules,
    PostgresPairs,
    PostgresPrograms,
    PostgresRounds,
    Programs,
    Rounds,
)
from shared.uow import InMemoryUnitOfWork, PostgresUnitOfWork, UnitOfWork

__all__ = ["InMemoryMatchingUnitOfWork", "MatchingState", "MatchingUnitOfWork", "PostgresMatchingUnitOfWork"]


class MatchingUnitOfWork(UnitOfWork):
    """What a handler sees inside `async with uow:`."""

    programs: Programs
    candidates: Candidates
    rounds: Rounds
    pairs: Pairs
    couple_rules: CoupleRules


class PostgresMatchingUnitOfWork(PostgresUnitOfWork, MatchingUnitOfWork):
    def _bind(self, conn: asyncpg.Connection) -> None:
        self.programs, self.candidates = PostgresPrograms(conn), PostgresCandidates(conn)
        self.rounds, self.pairs = PostgresRounds(conn), PostgresPairs(conn)
        self.couple_rules = PostgresCoupleRules(conn)


class InMemoryMatchingUnitOfWork(InMemoryUnitOfWork, MatchingUnitOfWork):
    state: MatchingState

    def _bind(self, state: MatchingState) -> None:
        self.programs, self.candidates = memory.InMemoryPrograms(state), memory.InMemoryCandidates(state)
        self.rounds, self.pairs = memory.InMemoryRounds(state), memory.InMemoryPairs(state)
        self.couple_rules = memory.InMemoryCoupleRules(state)
