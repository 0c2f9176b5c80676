"""Sessions' tables. Writes take the caller's connection, to commit with the events beside them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, TypeAlias

import asyncpg

from services.sessions.domain.model import Pair
from shared.events import FeedbackGiven, SessionHeld

Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool
EXPIRED_PER_CLAIM = 100  # bounded work per request; steady traffic clears far more keys than it adds


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


PAIR_COLUMNS = "pair_id, program_id, mentor_id, mentee_id, status, formed_at, dissolved_at"


async def get_pair(conn: Conn, pair_id: str) -> Pair | None:
    row = await conn.fetchrow(f"SELECT {PAIR_COLUMNS} FROM pairs WHERE pair_id = $1", pair_id)
    return Pair(**dict(row)) if row else None


async def pairs_of(conn: Conn, participant_id: str) -> list[Pair]:
    rows = await conn.fetch(
        f"SELECT {PAIR_COLUMNS} FROM pairs WHERE $1 IN (mentor_id, mentee_id) ORDER BY formed_at, pair_id",
        participant_id,
    )
    return [Pair(**dict(r)) for r in rows]


async def add_session(conn: Conn, session: SessionHeld, notes: str) -> None:
    await conn.execute(
        """INSERT INTO sessions (session_id, pair_id, held_on, minutes, topics, learning_direction, notes,
                                 logged_by, logged_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        session.session_id,
        session.pair_id,
        session.held_on,
        session.minutes,
        list(session.topics),
        session.learning_direction,
        notes,
        session.logged_by,
        session.logged_at,
    )


async def sessions_of(conn: Conn, pair_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT session_id, pair_id, held_on, minutes, topics, learning_direction, notes, logged_by, logged_at"
        " FROM sessions WHERE pair_id = $1 ORDER BY held_on, logged_at",
        pair_id,
    )
    return [dict(r) for r in rows]


async def stream_version(conn: asyncpg.Connection, stream_id: str) -> int:
    """The event store's head for one stream (0 before its first event): the version an append expects."""
    return await conn.fetchval("SELECT coalesce(max(version), 0) FROM events WHERE stream_id = $1", stream_id)


async def add_feedback(conn: Conn, feedback: FeedbackGiven) -> None:
    await conn.execute(
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


async def claim_idempotency_key(
    conn: asyncpg.Connection, caller: str, key: str, request_hash: str, ttl: timedelta
) -> tuple[str, dict[str, Any]] | None:
    """None when the key is new (and now claimed); else (request_hash, response) of the first request.

    A concurrent retry blocks on the first request's uncommitted claim, then sees its answer. A key older than
    `ttl` is forgotten: claiming it again starts afresh. Each claim also clears a few expired keys of anyone,
    so the table stays bounded without a sweeper process.
    """
    await conn.execute(
        "DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY("
        " SELECT ctid FROM idempotency_keys WHERE created_at < now() - $1::interval LIMIT $2"
        " FOR UPDATE SKIP LOCKED))",
        ttl,
        EXPIRED_PER_CLAIM,
    )
    claimed = await conn.fetchval(
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
    row = await conn.fetchrow(
        "SELECT request_hash, response FROM idempotency_keys WHERE caller = $1 AND key = $2", caller, key
    )
    return row["request_hash"], json.loads(row["response"])


async def remember_response(conn: asyncpg.Connection, caller: str, key: str, response: dict[str, Any]) -> None:
    await conn.execute(
        "UPDATE idempotency_keys SET response = $3 WHERE caller = $1 AND key = $2", caller, key, json.dumps(response)
    )
