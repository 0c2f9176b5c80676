"""The retry around a pair's stream, on a fake unit of work: no database, no broker."""

from contextlib import asynccontextmanager

import pytest

from services.sessions.service_layer.handlers import ATTEMPTS, _on_pair_stream
from shared.eventstore import ConcurrencyError


class FakeUnitOfWork:
    @asynccontextmanager
    async def transaction(self):
        yield "conn"


def losing(times: int):
    tries: list[int] = []

    async def decide(conn):
        tries.append(1)
        if len(tries) <= times:
            raise ConcurrencyError("pair-sessions-x", len(tries), len(tries) + 1)
        return f"decided on try {len(tries)}"

    return decide


async def test_a_decision_that_lost_the_race_is_taken_again():
    assert await _on_pair_stream(FakeUnitOfWork(), losing(times=ATTEMPTS - 1)) == f"decided on try {ATTEMPTS}"


async def test_after_the_last_attempt_the_conflict_reaches_the_caller():
    with pytest.raises(ConcurrencyError):
        await _on_pair_stream(FakeUnitOfWork(), losing(times=ATTEMPTS))
