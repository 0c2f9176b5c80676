"""Sessions' tables behind one interface per table group, and their PostgreSQL implementation.

Handlers see only the interfaces (`Pairs`, `Sessions`, `Feedback`, `IdempotencyKeys`) through the unit of work;
`adapters/memory.py` keeps the same contract in dicts (tests/contracts/sessions_uow.py holds both to it). The
PostgreSQL repositories work on the unit of work's connection, so their writes commit with the events beside them.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from datetime import datetime, timedelta
from typing import Any, TypeAlias

import asyncpg

from services.sessions.domain.model import Pair, SessionRecord
from shared.events import FeedbackGiven

Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool
EXPIRED_PER_CLAIM = 100  # bounded work per request; steady traffic clears far more keys than it adds
PAIR_COLUMNS = "pair_id, program_id, mentor_id, mentee_id, status, formed_at, dissolved_at"


class Pairs(ABC):
    """The `pairs` read model, as matching announced them. Handlers only read it; the projection writes it."""

    @abstractmethod
    async def get(self, pair_id: str) -> Pair | None: ...

    @abstractmethod
    async def of_participant(self, participant_id: str) -> list[Pair]:
        """The participant's pairs as mentor or mentee, oldest first (then by id)."""


class Sessions(ABC):
    @abstractmethod
    async def add(self, session: SessionRecord) -> None: ...

    @abstractmethod
    async def of_pair(self, pair_id: str) -> list[SessionRecord]:
        """A pair's sessions by the day they were held, then by when they were logged."""


class Feedback(ABC):
    @abstractmethod
    async def add(self, feedback: FeedbackGiven) -> None: ...

    @abstractmethod
    async def count_by(self, pair_id: str, member: str) -> int:
        """How much feedback `member` gave in the pair; holds that member's feedback on the pair until the unit of
        work ends, so two requests at once cannot both pass the one-per-session rule."""


class IdempotencyKeys(ABC):
    """Idempotency-Keys per caller, with the fingerprint of their first request and its answer."""

    @abstractmethod
    async def claim(
        self, caller: str, key: str, request_hash: str, ttl: timedelta
    ) -> tuple[str, dict[str, Any]] | None:
        """None when the key is new (and now claimed in this unit of work); else (request_hash, response) of the
        first request. A key older than `ttl` is forgotten: claiming it again starts afresh. Each claim also
        clears up to EXPIRED_PER_CLAIM expired keys of anyone, so the keys stay bounded without a sweeper."""

    @abstractmethod
    async def remember(self, caller: str, key: str, response: dict[str, Any]) -> None:
        """Store the answer to the request that claimed the key."""


# ------------------------------------------------------------------------------------------------ PostgreSQL


class PostgresPairs(Pairs):
    def __init__(self, conn: Conn):
        self.conn = conn

    async def get(self, pair_id: str) -> Pair | None:
        row = await self.conn.fetchrow(f"SELECT {PAIR_COLUMNS} FROM pairs WHERE pair_id = $1", pair_id)
        return Pair(**dict(row)) if row else None

    async def of_participant(self, participant_id: str) -> list[Pair]:
        rows = await self.conn.fetch(
            f"SELECT {PAIR_COLUMNS} FROM pairs WHERE $1 IN (mentor_id, mentee_id) ORDER BY formed_at, pair_id",
            participant_id,
        )
        return [Pair(**dict(r)) for r in rows]


class PostgresSessions(Sessions):
    def __init__(self, conn: Conn):
        self.conn = conn

    async def add(self, session: SessionRecord) -> None:
        await self.conn.execute(
            """INSERT INTO sessions (session_id, pair_id, held_on, minutes, topics, learning_direction, notes,
                                     logged_by, logged_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
            session.session_id,
            session.pair_id,
            session.held_on,
            session.minutes,
            list(session.topics),
            session.learning_direction,
            session.notes,
            session.logged_by,
            session.logged_at,
        )

    async def of_pair(self, pair_id: str) -> list[SessionRecord]:
        rows = await self.conn.fetch(
            "SELECT session_id, pair_id, held_on, minutes, topics, learning_direction, notes, logged_by, logged_at"
            " FROM sessions WHERE pair_id = $1 ORDER BY held_on, logged_at",
            pair_id,
        )
        return [SessionRecord(**{**dict(r), "topics": tuple(r["topics"])}) for r in rows]


class PostgresFeedback(Feedback):
    def __init__(self, conn: Conn):
        self.conn = conn

    async def add(self, feedback: FeedbackGiven) -> None:
        await self.conn.execute(
            """INSERT INTO feedback (feedback_id, pair_id, given_by, side, rating, learned, would_continue)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            feedback.feedback_id,
            feedback.pair_id,
            feedback.given_by,
            feedback.side,
            feedback.rating,
            feedback.learned,
            feedback.would_continue,
        )

    async def count_by(self, pair_id: str, member: str) -> int:
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"feedback:{pair_id}:{member}")
        return await self.conn.fetchval(
            "SELECT count(*) FROM feedback WHERE pair_id = $1 AND given_by = $2", pair_id, member
        )


class PostgresIdempotencyKeys(IdempotencyKeys):
    """A concurrent retry blocks on the first request's uncommitted claim (the primary key's row lock), then
    sees its answer; a rolled-back claim leaves no key."""

    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn

    async def claim(
        self, caller: str, key: str, request_hash: str, ttl: timedelta
    ) -> tuple[str, dict[str, Any]] | None:
        await self.conn.execute(
            "DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY("
            " SELECT ctid FROM idempotency_keys WHERE created_at < now() - $1::interval LIMIT $2"
            " FOR UPDATE SKIP LOCKED))",
            ttl,
            EXPIRED_PER_CLAIM,
        )
        claimed = await self.conn.fetchval(
            "INSERT INTO idempotency_keys (caller, key, request_hash) VALUES ($1, $2, $3)"
            " ON CONFLICT (caller, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, response = NULL,"
            " created_at = now() WHERE idempotency_keys.created_at < now() - $4::interval"
            " RETURNING true",
            caller,
            key,
            request_hash,
            ttl,
        )
        if claimed:
            return None
        row = await self.conn.fetchrow(
            "SELECT request_hash, response FROM idempotency_keys WHERE caller = $1 AND key = $2", caller, key
        )
        return row["request_hash"], json.loads(row["response"])

    async def remember(self, caller: str, key: str, response: dict[str, Any]) -> None:
        await self.conn.execute(
            "UPDATE idempotency_keys SET response = $3 WHERE caller = $1 AND key = $2",
            caller,
            key,
            json.dumps(response),
        )


# ------------------------------------------------------------------------------------ the pairs projection's writes


async def pair_formed(conn: Conn, pair: Pair, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO pairs (pair_id, program_id, mentor_id, mentee_id, status, formed_at)
           VALUES ($1, $2, $3, $4, 'active', $5) ON CONFLICT (pair_id) DO NOTHING""",
        pair.pair_id,
        pair.program_id,
        pair.mentor_id,
        pair.mentee_id,
        at,
    )


async def pair_dissolved(conn: Conn, pair_id: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE pairs SET status = 'dissolved', dissolved_at = coalesce(dissolved_at, $2) WHERE pair_id = $1",
        pair_id,
        at,
    )
