"""The sessions unit of work's contract: one abstract test case, subclassed per backend (in-memory in
tests/sessions/test_sessions_uow_memory.py, PostgreSQL in tests/sessions/test_sessions_uow_postgres.py), so the
in-memory twin the fast HTTP tests rely on keeps the tables' behaviour: orderings, Idempotency-Key claims and
their time to live, commit and rollback of rows, events and keys together."""

from __future__ import annotations

from abc import abstractmethod
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.sessions.domain.model import Pair, SessionRecord
from services.sessions.service_layer.unit_of_work import SessionsUnitOfWork
from shared.events import FeedbackGiven, SessionHeld

TTL = timedelta(days=7)
FORMED = datetime(2026, 3, 1, 9, tzinfo=UTC)


def pair(pair_id: str, mentor: str = "p-mentor", mentee: str = "p-mentee", formed: datetime = FORMED) -> Pair:
    return Pair(pair_id, "prg-1", mentor, mentee, formed_at=formed)


def session(session_id: str, pair_id: str = "pair-1", held_on: date = date(2026, 4, 2), **overrides) -> SessionRecord:
    fields: dict[str, Any] = {
        "session_id": session_id,
        "pair_id": pair_id,
        "held_on": held_on,
        "minutes": 45,
        "topics": ("social media", "ai"),
        "learning_direction": "both",
        "notes": "private",
        "logged_by": "p-mentor",
        "logged_at": datetime(2026, 4, 3, 10, tzinfo=UTC),
        **overrides,
    }
    return SessionRecord(**fields)


def held(record: SessionRecord) -> SessionHeld:
    return SessionHeld(program_id="prg-1", **{k: v for k, v in record.__dict__.items() if k != "notes"})


def feedback(feedback_id: str, pair_id: str = "pair-1") -> FeedbackGiven:
    return FeedbackGiven(
        program_id="prg-1",
        pair_id=pair_id,
        feedback_id=feedback_id,
        given_by="p-mentee",
        side="mentee",
        rating=5,
        learned="",
        would_continue=True,
    )


class SessionsUnitOfWorkContract:
    """Subclasses provide a `uow` fixture (an empty sessions unit of work of their backend) and the three
    backend-specific hooks below, which stand in for what the projection and the clock do."""

    @abstractmethod
    async def given_pair(self, uow: SessionsUnitOfWork, pair: Pair) -> None:
        """Put `pair` in the pairs read model, dissolved too when its status says so."""

    @abstractmethod
    async def age_keys(self, uow: SessionsUnitOfWork, by: timedelta) -> None:
        """Make every stored Idempotency-Key `by` older."""

    @abstractmethod
    async def kept_keys(self, uow: SessionsUnitOfWork) -> dict[tuple[str, str], tuple[str, Any]]:
        """(caller, key) -> (request hash, response) of every stored key."""

    @abstractmethod
    async def kept_feedback(self, uow: SessionsUnitOfWork) -> list[str]:
        """The ids of the feedback kept."""

    # ------------------------------------------------------------------------------------------------- pairs

    async def test_a_pair_is_read_as_announced_and_an_unknown_one_is_none(self, uow: SessionsUnitOfWork):
        await self.given_pair(uow, pair("pair-1"))
        dissolved = Pair("pair-2", "prg-1", "p-a", "p-b", "dissolved", FORMED, FORMED + timedelta(days=30))
        await self.given_pair(uow, dissolved)
        async with uow:
            assert await uow.pairs.get("pair-1") == pair("pair-1")
            assert await uow.pairs.get("pair-2") == dissolved
            assert await uow.pairs.get("pair-unknown") is None

    async def test_a_participants_pairs_as_mentor_or_mentee_come_oldest_first(self, uow: SessionsUnitOfWork):
        await self.given_pair(uow, pair("pair-b", mentor="p-1", formed=FORMED))
        await self.given_pair(uow, pair("pair-a", mentee="p-1", formed=FORMED))
        await self.given_pair(uow, pair("pair-0", mentor="p-1", formed=FORMED + timedelta(days=1)))
        await self.given_pair(uow, pair("pair-other", formed=FORMED - timedelta(days=1)))
        async with uow:
            assert [p.pair_id for p in await uow.pairs.of_participant("p-1")] == ["pair-a", "pair-b", "pair-0"]
            assert await uow.pairs.of_participant("p-nobody") == []

    # ---------------------------------------------------------------------------------------------- sessions

    async def test_a_pairs_sessions_read_back_by_day_held_then_by_when_logged(self, uow: SessionsUnitOfWork):
        late = session("ses-3", held_on=date(2026, 4, 5))
        first = session("ses-2", logged_at=datetime(2026, 4, 3, 9, tzinfo=UTC))
        second = session("ses-1", notes="", topics=())
        async with uow:
            for record in (late, second, first, session("ses-9", pair_id="pair-2")):
                await uow.sessions.add(record)
        async with uow:
            assert await uow.sessions.of_pair("pair-1") == [first, second, late]
            assert await uow.sessions.of_pair("pair-none") == []

    # ------------------------------------------------------------------------------------ the transaction

    async def test_leaving_the_block_commits_rows_events_and_keys_together(self, uow: SessionsUnitOfWork):
        record = session("ses-1")
        async with uow:
            assert await uow.idempotency_keys.claim("p-mentor", "k", "hash-1", TTL) is None
            await uow.sessions.add(record)
            await uow.feedback.add(feedback("fbk-1"), FORMED)
            result = await uow.append("pair-sessions-pair-1", None, [held(record)])
            await uow.idempotency_keys.remember("p-mentor", "k", {"answer": 1})
        assert result.version == 1
        async with uow:
            assert await uow.sessions.of_pair("pair-1") == [record]
        assert [e.event_id for e in await uow.store.read_stream("pair-sessions-pair-1")] == list(result.event_ids)
        assert await self.kept_keys(uow) == {("p-mentor", "k"): ("hash-1", {"answer": 1})}
        assert await self.kept_feedback(uow) == ["fbk-1"]

    async def test_an_error_in_the_block_rolls_back_rows_events_and_the_key(self, uow: SessionsUnitOfWork):
        record = session("ses-1")
        with pytest.raises(RuntimeError):
            async with uow:
                assert await uow.idempotency_keys.claim("p-mentor", "k", "hash-1", TTL) is None
                await uow.sessions.add(record)
                await uow.feedback.add(feedback("fbk-1"), FORMED)
                await uow.append("pair-sessions-pair-1", None, [held(record)])
                raise RuntimeError("the handler failed after writing")
        async with uow:
            assert await uow.sessions.of_pair("pair-1") == []
        assert await uow.store.read_stream("pair-sessions-pair-1") == []
        assert await self.kept_keys(uow) == {}
        assert await self.kept_feedback(uow) == []

    async def test_appends_without_an_expected_version_land_one_after_the_other(self, uow: SessionsUnitOfWork):
        for n in (1, 2):
            async with uow:
                result = await uow.append("pair-sessions-pair-1", None, [held(session(f"ses-{n}"))])
            assert result.version == n

    # -------------------------------------------------------------------------------------- idempotency keys

    async def test_a_key_is_claimed_once_per_caller_and_then_gives_the_first_request_back(
        self, uow: SessionsUnitOfWork
    ):
        async with uow:
            assert await uow.idempotency_keys.claim("p-1", "k", "hash-1", TTL) is None
            await uow.idempotency_keys.remember("p-1", "k", {"session": 1})
        async with uow:
            assert await uow.idempotency_keys.claim("p-1", "k", "hash-1", TTL) == ("hash-1", {"session": 1})
            # Another request under the same key gets the first one's fingerprint: the caller decides the 409.
            assert await uow.idempotency_keys.claim("p-1", "k", "hash-2", TTL) == ("hash-1", {"session": 1})
            assert await uow.idempotency_keys.claim("p-2", "k", "hash-2", TTL) is None

    async def test_a_key_within_its_time_to_live_is_remembered(self, uow: SessionsUnitOfWork):
        async with uow:
            assert await uow.idempotency_keys.claim("p-1", "k", "hash-1", TTL) is None
            await uow.idempotency_keys.remember("p-1", "k", {"session": 1})
        await self.age_keys(uow, TTL - timedelta(hours=1))
        async with uow:
            assert await uow.idempotency_keys.claim("p-1", "k", "hash-2", TTL) == ("hash-1", {"session": 1})

    async def test_an_expired_key_is_claimed_afresh_and_expired_keys_of_others_are_cleared(
        self, uow: SessionsUnitOfWork
    ):
        async with uow:
            for caller, key, request_hash in (("p-1", "k", "hash-1"), ("p-2", "other", "hash-9")):
                assert await uow.idempotency_keys.claim(caller, key, request_hash, TTL) is None
                await uow.idempotency_keys.remember(caller, key, {"answer": request_hash})
        await self.age_keys(uow, TTL + timedelta(days=1))
        async with uow:
            assert await uow.idempotency_keys.claim("p-3", "fresh", "hash-3", TTL) is None
        assert set(await self.kept_keys(uow)) == {("p-3", "fresh")}
        async with uow:
            # p-1's key expired (and was cleared): the same key now starts a new request, even a different one.
            assert await uow.idempotency_keys.claim("p-1", "k", "hash-2", TTL) is None
        assert set(await self.kept_keys(uow)) == {("p-1", "k"), ("p-3", "fresh")}

    async def test_an_expired_key_left_by_the_bounded_sweep_is_still_claimed_afresh(
        self, uow: SessionsUnitOfWork, monkeypatch
    ):
        # The sweep clears at most EXPIRED_PER_CLAIM keys; a key it did not reach must not answer from the past.
        monkeypatch.setattr("services.sessions.adapters.repository.EXPIRED_PER_CLAIM", 0)
        async with uow:
            assert await uow.idempotency_keys.claim("p-1", "k", "hash-1", TTL) is None
            await uow.idempotency_keys.remember("p-1", "k", {"session": 1})
        await self.age_keys(uow, TTL + timedelta(days=1))
        async with uow:
            assert await uow.idempotency_keys.claim("p-1", "k", "hash-2", TTL) is None
        assert await self.kept_keys(uow) == {("p-1", "k"): ("hash-2", None)}
