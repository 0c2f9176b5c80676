"""Sessions' repositories in plain Python, for handler and HTTP tests without servers. They keep the contract of
adapters/repository.py (tests/contracts/sessions_uow.py runs the same tests on both); the in-memory unit of work
snapshots `SessionsState` on entry and restores it on rollback, which stands in for the transaction."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from services.sessions.adapters import repository
from services.sessions.domain.model import Pair, SessionRecord
from shared.auth import ProgramStaff
from shared.events import FeedbackGiven

NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class StoredKey:
    request_hash: str
    response: dict[str, Any] | None
    created_at: datetime


@dataclass
class SessionsState:
    """Everything the sessions service keeps, as the PostgreSQL tables would: `pairs` is the read model the
    projection writes (tests seed it), the rest is written by the handlers."""

    pairs: dict[str, Pair] = field(default_factory=dict)
    sessions: list[SessionRecord] = field(default_factory=list)
    feedback: list[FeedbackGiven] = field(default_factory=list)
    idempotency_keys: dict[tuple[str, str], StoredKey] = field(default_factory=dict)
    program_staff: dict[str, ProgramStaff] = field(default_factory=dict)  # read model too (tests seed it)


class InMemoryPairs(repository.Pairs):
    def __init__(self, state: SessionsState):
        self.state = state

    async def get(self, pair_id: str) -> Pair | None:
        return self.state.pairs.get(pair_id)

    async def of_participant(self, participant_id: str) -> list[Pair]:
        mine = [p for p in self.state.pairs.values() if p.has_member(participant_id)]
        return sorted(mine, key=lambda p: (p.formed_at or NEVER, p.pair_id))


class InMemorySessions(repository.Sessions):
    def __init__(self, state: SessionsState):
        self.state = state

    async def add(self, session: SessionRecord) -> None:
        if any(s.session_id == session.session_id for s in self.state.sessions):
            raise ValueError("a session with this id is already kept")  # the primary key in PostgreSQL
        self.state.sessions.append(session)

    async def of_pair(self, pair_id: str) -> list[SessionRecord]:
        return sorted((s for s in self.state.sessions if s.pair_id == pair_id), key=lambda s: (s.held_on, s.logged_at))


class InMemoryFeedback(repository.Feedback):
    def __init__(self, state: SessionsState):
        self.state = state

    async def add(self, feedback: FeedbackGiven) -> None:
        if any(f.feedback_id == feedback.feedback_id for f in self.state.feedback):
            raise ValueError("feedback with this id is already kept")
        self.state.feedback.append(feedback)

    async def count_by(self, pair_id: str, member: str) -> int:
        return sum(1 for f in self.state.feedback if f.pair_id == pair_id and f.given_by == member)


class InMemoryIdempotencyKeys(repository.IdempotencyKeys):
    """One unit of work at a time, so there is no concurrent claim to wait for (that is PostgreSQL's part)."""

    def __init__(self, state: SessionsState):
        self.state = state

    async def claim(
        self, caller: str, key: str, request_hash: str, ttl: timedelta
    ) -> tuple[str, dict[str, Any]] | None:
        now = datetime.now(UTC)
        keys = self.state.idempotency_keys
        expired = [k for k, stored in keys.items() if stored.created_at < now - ttl]
        for k in expired[: repository.EXPIRED_PER_CLAIM]:
            del keys[k]
        earlier = keys.get((caller, key))
        if earlier is None or earlier.created_at < now - ttl:
            keys[caller, key] = StoredKey(request_hash, None, now)
            return None
        return earlier.request_hash, earlier.response or {}

    async def remember(self, caller: str, key: str, response: dict[str, Any]) -> None:
        keys = self.state.idempotency_keys
        keys[caller, key] = replace(keys[caller, key], response=response)
