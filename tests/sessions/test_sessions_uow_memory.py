"""The sessions unit of work's contract on its in-memory backend: no servers."""

from dataclasses import replace
from datetime import timedelta

import pytest

from services.sessions.domain.model import Pair, ProgramGuidelines
from services.sessions.service_layer.unit_of_work import InMemorySessionsUnitOfWork
from tests.contracts.sessions_uow import SessionsUnitOfWorkContract


class TestInMemorySessionsUnitOfWork(SessionsUnitOfWorkContract):
    @pytest.fixture
    def uow(self) -> InMemorySessionsUnitOfWork:
        return InMemorySessionsUnitOfWork()

    async def given_pair(self, uow, pair: Pair) -> None:
        uow.state.pairs[pair.pair_id] = pair

    async def age_keys(self, uow, by: timedelta) -> None:
        keys = uow.state.idempotency_keys
        for k, stored in keys.items():
            keys[k] = replace(stored, created_at=stored.created_at - by)

    async def kept_keys(self, uow):
        return {k: (stored.request_hash, stored.response) for k, stored in uow.state.idempotency_keys.items()}

    async def kept_feedback(self, uow) -> list[str]:
        return [f.feedback_id for f in uow.state.feedback]

    async def kept_learned(self, uow) -> dict[str, str]:
        return {f.feedback_id: f.learned for f in uow.state.feedback}

    async def given_program(self, uow, guidelines: ProgramGuidelines) -> None:
        uow.state.programs[guidelines.program_id] = guidelines
