"""Matching's tables (adapters/sql): one repository interface per table group, and its PostgreSQL implementation.

The PostgreSQL repositories work on the unit of work's connection, so their writes commit with the events.
adapters/memory.py implements the same interfaces over plain Python state; tests/contracts/ holds both to them.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any, TypeAlias

import asyncpg

from services.matching.domain.pairs import Flag, Pair
from services.matching.domain.rounds import Proposal
from shared.auth import ProgramStaff
from shared.db import advisory_key
from shared.program_staff import staff_of_launch

Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool


class Programs(ABC):
    """The programs enrolment launched, as matching needs them (weights, optimisation goal, focus areas)."""

    @abstractmethod
    async def add(self, program_id: str, launched: dict[str, Any]) -> None:
        """First write wins: a program id already known keeps its launch (a second ProgramLaunched with the same
        id, forged or replayed, must not change the weights and goal of a running program)."""

    @abstractmethod
    async def get(self, program_id: str) -> dict[str, Any] | None:
        """The ProgramLaunched body, or None for a program matching has not heard of."""

    @abstractmethod
    async def staff(self) -> dict[str, ProgramStaff]:
        """Every known program's admin and sponsor groups (its launch's), by program id."""


class Candidates(ABC):
    """The pool: each participant's latest profile and whether they are still in the program."""

    @abstractmethod
    async def upsert(self, profile: dict[str, Any]) -> None:
        """A profile event; a withdrawn candidate stays withdrawn whatever arrives after."""

    @abstractmethod
    async def mark_withdrawn(self, program_id: str, participant_id: str) -> None:
        """Withdraw the candidate, or remember the withdrawal of one whose enrolment has not arrived yet."""

    @abstractmethod
    async def get(self, program_id: str, participant_id: str) -> dict[str, Any] | None:
        """The candidate's latest profile, whatever their status; None when no profile has arrived."""

    @abstractmethod
    async def active(self, program_id: str, *, lock: bool = False) -> list[dict[str, Any]]:
        """Profiles of the active candidates by participant id; `lock` holds them until the transaction ends."""

    @abstractmethod
    async def counts(self, program_id: str) -> dict[str, int]:
        """Candidates by status (`active`, `withdrawn`); empty for an unknown program."""


class Rounds(ABC):
    @abstractmethod
    async def lock(self, program_id: str) -> None:
        """Wait for, then hold until the transaction ends, the program's round lock: one round per program at a
        time, and a withdrawal's dissolutions after the round in flight."""

    @abstractmethod
    async def add(self, round_id: str, program_id: str, proposal: Proposal) -> None: ...


class Pairs(ABC):
    @abstractmethod
    async def add(self, pair: Pair) -> None:
        """A pair formed in a round already added."""

    @abstractmethod
    async def save(self, pair: Pair) -> None:
        """Its status, dissolve reason and version."""

    @abstractmethod
    async def get(self, pair_id: str, *, for_update: bool = False) -> Pair | None: ...

    @abstractmethod
    async def of_program(self, program_id: str, status: str | None = None) -> list[Pair]:
        """In the order they were formed (round by round, then by pair id)."""

    @abstractmethod
    async def active_of(self, program_id: str, participant_id: str) -> list[Pair]:
        """The participant's active pairs by pair id, locked for update."""

    @abstractmethod
    async def dissolved_couples(self, program_id: str) -> list[tuple[str, str]]:
        """(mentor, mentee) of every dissolved pair: the engine does not pair them again."""

    @abstractmethod
    async def active_of_participant(self, participant_id: str) -> list[Pair]:
        """The participant's active pairs in every program, by program id then pair id (not locked)."""


# ------------------------------------------------------------------------------------------------ PostgreSQL


class PostgresPrograms(Programs):
    def __init__(self, conn: Conn):
        self.conn = conn

    async def add(self, program_id: str, launched: dict[str, Any]) -> None:
        await self.conn.execute(
            "INSERT INTO pool_programs VALUES ($1, $2) ON CONFLICT (program_id) DO NOTHING",
            program_id,
            json.dumps(launched),
        )

    async def get(self, program_id: str) -> dict[str, Any] | None:
        row = await self.conn.fetchval("SELECT launched FROM pool_programs WHERE program_id = $1", program_id)
        return json.loads(row) if row else None

    async def staff(self) -> dict[str, ProgramStaff]:
        rows = await self.conn.fetch(
            "SELECT program_id, launched->'admin_groups' AS admin_groups, launched->'sponsor_groups' AS sponsor_groups"
            " FROM pool_programs"
        )
        return {
            r["program_id"]: staff_of_launch(
                {
                    "admin_groups": json.loads(r["admin_groups"] or "null"),
                    "sponsor_groups": json.loads(r["sponsor_groups"] or "null"),
                }
            )
            for r in rows
        }


class PostgresCandidates(Candidates):
    def __init__(self, conn: Conn):
        self.conn = conn

    async def upsert(self, profile: dict[str, Any]) -> None:
        await self.conn.execute(
            """INSERT INTO pool_candidates (program_id, participant_id, profile) VALUES ($1, $2, $3)
               ON CONFLICT (program_id, participant_id) DO UPDATE SET profile = EXCLUDED.profile""",
            profile["program_id"],
            profile["participant_id"],
            json.dumps(profile),
        )

    async def mark_withdrawn(self, program_id: str, participant_id: str) -> None:
        # A withdrawal can arrive before the enrolment it ends (different streams, different partitions),
        # so it leaves a withdrawn placeholder that the enrolment's upsert will not reactivate.
        await self.conn.execute(
            """INSERT INTO pool_candidates (program_id, participant_id, profile, status)
               VALUES ($1, $2, '{}', 'withdrawn')
               ON CONFLICT (program_id, participant_id) DO UPDATE SET status = 'withdrawn'""",
            program_id,
            participant_id,
        )

    async def get(self, program_id: str, participant_id: str) -> dict[str, Any] | None:
        profile = await self.conn.fetchval(
            "SELECT profile FROM pool_candidates WHERE program_id = $1 AND participant_id = $2 AND profile <> '{}'",
            program_id,
            participant_id,
        )
        return json.loads(profile) if profile else None

    async def active(self, program_id: str, *, lock: bool = False) -> list[dict[str, Any]]:
        rows = await self.conn.fetch(
            "SELECT profile FROM pool_candidates WHERE program_id = $1 AND status = 'active' AND profile <> '{}'"
            " ORDER BY participant_id" + (" FOR SHARE" if lock else ""),
            program_id,
        )
        return [json.loads(r["profile"]) for r in rows]

    async def counts(self, program_id: str) -> dict[str, int]:
        rows = await self.conn.fetch(
            "SELECT status, count(*) AS n FROM pool_candidates WHERE program_id = $1 GROUP BY status", program_id
        )
        return {r["status"]: r["n"] for r in rows}


class PostgresRounds(Rounds):
    def __init__(self, conn: Conn):
        self.conn = conn

    async def lock(self, program_id: str) -> None:
        await self.conn.execute("SELECT pg_advisory_xact_lock($1)", advisory_key(f"round:{program_id}"))

    async def add(self, round_id: str, program_id: str, proposal: Proposal) -> None:
        await self.conn.execute(
            "INSERT INTO rounds (round_id, program_id, engine_version, inputs_hash, pairs_formed, unmatched)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            round_id,
            program_id,
            proposal.engine_version,
            proposal.inputs_hash,
            len(proposal.pairs),
            json.dumps([u.model_dump() for u in proposal.unmatched]),
        )


class PostgresPairs(Pairs):
    def __init__(self, conn: Conn):
        self.conn = conn

    async def add(self, pair: Pair) -> None:
        await self.conn.execute(
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

    async def save(self, pair: Pair) -> None:
        await self.conn.execute(
            """UPDATE pairs SET status = $2, dissolve_reason = $3, version = $4, flags = $5,
                      dissolved_at = CASE WHEN $2 = 'dissolved' THEN coalesce(dissolved_at, now()) END
               WHERE pair_id = $1""",
            pair.pair_id,
            pair.status,
            pair.dissolve_reason,
            pair.version,
            json.dumps(
                [{"rule": f.rule, "reason": f.reason, "flagged_at": f.flagged_at.isoformat()} for f in pair.flags]
            ),
        )

    async def get(self, pair_id: str, *, for_update: bool = False) -> Pair | None:
        row = await self.conn.fetchrow(
            "SELECT * FROM pairs WHERE pair_id = $1" + (" FOR UPDATE" if for_update else ""), pair_id
        )
        return _pair(row) if row else None

    async def of_program(self, program_id: str, status: str | None = None) -> list[Pair]:
        rows = await self.conn.fetch(
            "SELECT * FROM pairs WHERE program_id = $1 AND ($2::text IS NULL OR status = $2)"
            " ORDER BY formed_at, pair_id",
            program_id,
            status,
        )
        return [_pair(r) for r in rows]

    async def active_of(self, program_id: str, participant_id: str) -> list[Pair]:
        rows = await self.conn.fetch(
            "SELECT * FROM pairs WHERE program_id = $1 AND status = 'active' AND $2 IN (mentor_id, mentee_id)"
            " ORDER BY pair_id FOR UPDATE",
            program_id,
            participant_id,
        )
        return [_pair(r) for r in rows]

    async def dissolved_couples(self, program_id: str) -> list[tuple[str, str]]:
        rows = await self.conn.fetch(
            "SELECT mentor_id, mentee_id FROM pairs WHERE program_id = $1 AND status = 'dissolved'", program_id
        )
        return [(r["mentor_id"], r["mentee_id"]) for r in rows]

    async def active_of_participant(self, participant_id: str) -> list[Pair]:
        rows = await self.conn.fetch(
            "SELECT * FROM pairs WHERE status = 'active' AND (mentor_id = $1 OR mentee_id = $1)"
            " ORDER BY program_id, pair_id",
            participant_id,
        )
        return [_pair(r) for r in rows]


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
        flags=tuple(
            Flag(f["rule"], f["reason"], datetime.fromisoformat(f["flagged_at"])) for f in json.loads(row["flags"])
        ),
    )
