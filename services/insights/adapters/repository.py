"""Insights' tables (see adapters/sql): the projection records facts; queries load one program's facts.

Every write is idempotent and independent of arrival order (ON CONFLICT keeps the first fact, or the earliest
time), so redelivery and cross-topic reordering leave the same rows.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import TypeAlias

import asyncpg

from services.insights.domain.facts import Facts, Feedback, Pair, Profile, Program, Session, Withdrawal
from services.insights.domain.report import ProgramSummary
from shared.events import (
    FeedbackGiven,
    PairDissolved,
    PairFormed,
    ParticipantEnrolled,
    ParticipantProfileUpdated,
    ParticipantWithdrawn,
    ProgramLaunched,
    SessionHeld,
)

Db: TypeAlias = asyncpg.Connection | asyncpg.Pool


async def record_program(conn: asyncpg.Connection, e: ProgramLaunched, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO programs
               (program_id, title, cadence_days, duration_weeks, targets, at, admin_groups, sponsor_groups)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING""",
        e.program_id,
        e.title,
        e.cadence_days,
        e.duration_weeks,
        json.dumps(e.targets),
        at,
        list(e.admin_groups),
        list(e.sponsor_groups),
    )


async def record_profile(
    conn: asyncpg.Connection, event_id: str, e: ParticipantEnrolled | ParticipantProfileUpdated, at: datetime
) -> None:
    await conn.execute(
        """INSERT INTO profiles (event_id, program_id, participant_id, kind, role, department, birth_year, at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING""",
        event_id,
        e.program_id,
        e.participant_id,
        "enrolled" if isinstance(e, ParticipantEnrolled) else "updated",
        e.role,
        e.department,
        e.birth_year,
        at,
    )


async def record_withdrawal(conn: asyncpg.Connection, e: ParticipantWithdrawn, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO withdrawals (program_id, participant_id, reason, at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (program_id, participant_id) DO UPDATE SET at = EXCLUDED.at, reason = EXCLUDED.reason
           WHERE EXCLUDED.at < withdrawals.at""",
        e.program_id,
        e.participant_id,
        e.reason,
        at,
    )


async def record_pair(conn: asyncpg.Connection, e: PairFormed, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO pairs (pair_id, program_id, mentor_id, mentee_id, score, at)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING""",
        e.pair_id,
        e.program_id,
        e.mentor_id,
        e.mentee_id,
        e.score,
        at,
    )


async def record_dissolution(conn: asyncpg.Connection, e: PairDissolved, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO dissolutions (pair_id, program_id, reason, at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (pair_id) DO UPDATE SET at = EXCLUDED.at, reason = EXCLUDED.reason
           WHERE EXCLUDED.at < dissolutions.at""",
        e.pair_id,
        e.program_id,
        e.reason,
        at,
    )


async def record_session(conn: asyncpg.Connection, e: SessionHeld, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO sessions (session_id, program_id, pair_id, held_on, minutes, topics, learning_direction, at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING""",
        e.session_id,
        e.program_id,
        e.pair_id,
        e.held_on,
        e.minutes,
        list(e.topics),
        e.learning_direction,
        at,
    )


async def record_feedback(conn: asyncpg.Connection, e: FeedbackGiven, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO feedback (feedback_id, program_id, pair_id, side, rating, would_continue, at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING""",
        e.feedback_id,
        e.program_id,
        e.pair_id,
        e.side,
        e.rating,
        e.would_continue,
        at,
    )


async def list_programs(db: Db) -> list[ProgramSummary]:
    rows = await db.fetch("SELECT * FROM programs ORDER BY at, program_id")
    return [ProgramSummary(**asdict(_program(r))) for r in rows]


async def load_facts(pool: asyncpg.Pool, program_id: str, as_of: datetime) -> Facts | None:
    """One program's facts with event time at or before `as_of`, read from one consistent snapshot."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        program = await conn.fetchrow("SELECT * FROM programs WHERE program_id = $1", program_id)
        if program is None:
            return None
        args = (program_id, as_of)
        profiles = await conn.fetch(
            "SELECT * FROM profiles WHERE program_id = $1 AND at <= $2 ORDER BY at, event_id", *args
        )
        withdrawals = await conn.fetch("SELECT * FROM withdrawals WHERE program_id = $1 AND at <= $2", *args)
        pairs = await conn.fetch(
            """SELECT p.*, d.at AS dissolved_at FROM pairs p
               LEFT JOIN dissolutions d ON d.pair_id = p.pair_id AND d.at <= $2
               WHERE p.program_id = $1 AND p.at <= $2 ORDER BY p.at, p.pair_id""",
            *args,
        )
        sessions = await conn.fetch(
            "SELECT * FROM sessions WHERE program_id = $1 AND at <= $2 ORDER BY at, session_id", *args
        )
        feedback = await conn.fetch(
            "SELECT * FROM feedback WHERE program_id = $1 AND at <= $2 ORDER BY at, feedback_id", *args
        )
    return Facts(
        program=_program(program),
        profiles=[Profile(r["participant_id"], r["role"], r["department"], r["birth_year"], r["at"]) for r in profiles],
        withdrawals=[Withdrawal(r["participant_id"], r["at"]) for r in withdrawals],
        pairs=[Pair(r["pair_id"], r["mentor_id"], r["mentee_id"], r["at"], r["dissolved_at"]) for r in pairs],
        sessions=[
            Session(
                r["session_id"],
                r["pair_id"],
                r["held_on"],
                r["minutes"],
                tuple(r["topics"]),
                r["learning_direction"],
                r["at"],
            )
            for r in sessions
        ],
        feedback=[Feedback(r["feedback_id"], r["pair_id"], r["side"], r["rating"], r["at"]) for r in feedback],
    )


def _program(row: asyncpg.Record) -> Program:
    return Program(
        program_id=row["program_id"],
        title=row["title"],
        cadence_days=row["cadence_days"],
        duration_weeks=row["duration_weeks"],
        targets=json.loads(row["targets"]),
        launched_at=row["at"],
    )
