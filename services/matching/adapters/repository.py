"""Matching's tables (adapters/sql). Writes take the caller's connection, to commit with the events."""

from __future__ import annotations

import json
from typing import Any, TypeAlias

import asyncpg

from services.matching.domain.pairs import Pair

Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool


async def upsert_program(conn: Conn, program_id: str, launched: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO pool_programs VALUES ($1, $2) ON CONFLICT (program_id) DO UPDATE SET launched = EXCLUDED.launched",
        program_id,
        json.dumps(launched),
    )


async def get_program(conn: Conn, program_id: str) -> dict[str, Any] | None:
    row = await conn.fetchval("SELECT launched FROM pool_programs WHERE program_id = $1", program_id)
    return json.loads(row) if row else None


async def upsert_candidate(conn: Conn, profile: dict[str, Any]) -> None:
    """A profile event; a withdrawn candidate stays withdrawn whatever arrives after."""
    await conn.execute(
        """INSERT INTO pool_candidates (program_id, participant_id, profile) VALUES ($1, $2, $3)
           ON CONFLICT (program_id, participant_id) DO UPDATE SET profile = EXCLUDED.profile""",
        profile["program_id"],
        profile["participant_id"],
        json.dumps(profile),
    )


async def mark_withdrawn(conn: Conn, program_id: str, participant_id: str) -> None:
    # A withdrawal can arrive before the enrolment it ends (different streams, different partitions),
    # so it leaves a withdrawn placeholder that the enrolment's upsert will not reactivate.
    await conn.execute(
        """INSERT INTO pool_candidates (program_id, participant_id, profile, status) VALUES ($1, $2, '{}', 'withdrawn')
           ON CONFLICT (program_id, participant_id) DO UPDATE SET status = 'withdrawn'""",
        program_id,
        participant_id,
    )


async def active_candidates(conn: Conn, program_id: str, *, lock: bool = False) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT profile FROM pool_candidates WHERE program_id = $1 AND status = 'active' AND profile <> '{}'"
        " ORDER BY participant_id" + (" FOR SHARE" if lock else ""),
        program_id,
    )
    return [json.loads(r["profile"]) for r in rows]


async def pool_counts(conn: Conn, program_id: str) -> dict[str, int]:
    rows = await conn.fetch(
        "SELECT status, count(*) AS n FROM pool_candidates WHERE program_id = $1 GROUP BY status", program_id
    )
    return {r["status"]: r["n"] for r in rows}


async def add_round(
    conn: Conn,
    round_id: str,
    program_id: str,
    engine_version: str,
    inputs_hash: str,
    pairs_formed: int,
    unmatched: list[dict[str, Any]],
) -> None:
    await conn.execute(
        "INSERT INTO rounds (round_id, program_id, engine_version, inputs_hash, pairs_formed, unmatched)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        round_id,
        program_id,
        engine_version,
        inputs_hash,
        pairs_formed,
        json.dumps(unmatched),
    )


async def add_pair(conn: Conn, pair: Pair) -> None:
    await conn.execute(
        """INSERT INTO pairs (pair_id, program_id, round_id, mentor_id, mentee_id, score, breakdown, version)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        pair.pair_id,
        pair.program_id,
        pair.round_id,
        pair.mentor_id,
        pair.mentee_id,
        pair.score,
        json.dumps(pair.breakdown),
        pair.version,
    )


async def save_pair(conn: Conn, pair: Pair) -> None:
    await conn.execute(
        """UPDATE pairs SET status = $2, dissolve_reason = $3, version = $4,
                  dissolved_at = CASE WHEN $2 = 'dissolved' THEN coalesce(dissolved_at, now()) END
           WHERE pair_id = $1""",
        pair.pair_id,
        pair.status,
        pair.dissolve_reason,
        pair.version,
    )


async def get_pair(conn: Conn, pair_id: str, *, for_update: bool = False) -> Pair | None:
    row = await conn.fetchrow("SELECT * FROM pairs WHERE pair_id = $1" + (" FOR UPDATE" if for_update else ""), pair_id)
    return _pair(row) if row else None


async def pairs_of_program(conn: Conn, program_id: str, status: str | None = None) -> list[Pair]:
    rows = await conn.fetch(
        "SELECT * FROM pairs WHERE program_id = $1 AND ($2::text IS NULL OR status = $2) ORDER BY formed_at, pair_id",
        program_id,
        status,
    )
    return [_pair(r) for r in rows]


async def active_pairs_of(conn: Conn, program_id: str, participant_id: str) -> list[Pair]:
    rows = await conn.fetch(
        "SELECT * FROM pairs WHERE program_id = $1 AND status = 'active' AND $2 IN (mentor_id, mentee_id)"
        " ORDER BY pair_id FOR UPDATE",
        program_id,
        participant_id,
    )
    return [_pair(r) for r in rows]


async def dissolved_couples(conn: Conn, program_id: str) -> list[tuple[str, str]]:
    rows = await conn.fetch(
        "SELECT mentor_id, mentee_id FROM pairs WHERE program_id = $1 AND status = 'dissolved'", program_id
    )
    return [(r["mentor_id"], r["mentee_id"]) for r in rows]


def _pair(row: asyncpg.Record) -> Pair:
    return Pair(
        pair_id=row["pair_id"],
        program_id=row["program_id"],
        round_id=row["round_id"],
        mentor_id=row["mentor_id"],
        mentee_id=row["mentee_id"],
        score=row["score"],
        breakdown=json.loads(row["breakdown"]),
        status=row["status"],
        dissolve_reason=row["dissolve_reason"],
        version=row["version"],
    )
