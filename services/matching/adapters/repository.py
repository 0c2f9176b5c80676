"""Matching's tables (adapters/sql): one repository interface per table group, and its PostgreSQL implementation.

The PostgreSQL repositories work on the unit of work's connection, so their writes commit with the events.
adapters/memory.py implements the same interfaces over plain Python state; tests/contracts/ holds both to them.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Collection
from datetime import datetime
from typing import Any, TypeAlias

import asyncpg

from services.matching.domain.pairs import ENDED_FOR_GOOD, TAKEN, Flag, Pair
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
    async def change(self, program_id: str, settings: dict[str, Any], settings_version: int) -> None:
        """A ProgramSettingsChanged body replaces the program's settings if it is newer than what is known (a
        replay or an out-of-order delivery of an older change leaves the newer one)."""

    @abstractmethod
    async def close(self, program_id: str, closed_at: datetime) -> None:
        """The program closed (first close wins); a program not heard of yet is left unknown."""

    @abstractmethod
    async def closed_at(self, program_id: str) -> datetime | None: ...

    @abstractmethod
    async def get(self, program_id: str) -> dict[str, Any] | None:
        """The program's latest settings (its ProgramLaunched or latest ProgramSettingsChanged body), or None for
        a program matching has not heard of."""

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
    async def erase(self, program_id: str, participant_id: str, erased: dict[str, Any]) -> None:
        """ParticipantErased: the candidate's profile takes the `erased` values (what its sealed fields read as
        once the person's key is destroyed), as a replay would build it; status and counts stay."""

    @abstractmethod
    async def get(self, program_id: str, participant_id: str) -> dict[str, Any] | None:
        """The candidate's latest profile, whatever their status; None when no profile has arrived."""

    @abstractmethod
    async def active(self, program_id: str, *, lock: bool = False) -> list[dict[str, Any]]:
        """Profiles of the active candidates by participant id; `lock` holds them until the transaction ends."""

    @abstractmethod
    async def counts(self, program_id: str) -> dict[str, int]:
        """Candidates by status (`active`, `withdrawn`); empty for an unknown program."""

    @abstractmethod
    async def active_one(self, program_id: str, participant_id: str) -> dict[str, Any] | None:
        """The candidate's profile if they are active in the program, else None."""

    @abstractmethod
    async def record_training(self, program_id: str, participant_id: str, module_id: str, module_version: int) -> None:
        """A participant completed a module version (TrainingCompleted); recording it twice changes nothing."""

    @abstractmethod
    async def trained(self, program_id: str) -> dict[str, set[str]]:
        """participant id -> the modules they completed in the program, in any version."""


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
        """(mentor, mentee) of every pair dissolved, declined or completed (`pairs.ENDED_FOR_GOOD`): the engine
        does not pair them again."""

    @abstractmethod
    async def taken(self, program_id: str) -> list[Pair]:
        """The program's active and proposed pairs (their members are out of the pool), in formation order."""

    @abstractmethod
    async def open_proposals_of(self, program_id: str, participant_id: str) -> list[Pair]:
        """The participant's proposed pairs in the program by pair id, locked for update."""

    @abstractmethod
    async def due_proposals(self, now: datetime, limit: int = 500) -> list[Pair]:
        """Proposed pairs of any program whose `expires_at` is at or before `now`, by expiry then pair id, locked
        for update; rows another transaction holds are skipped (a replica expiring them already)."""

    @abstractmethod
    async def proposals_of_participant(self, participant_ids: Collection[str]) -> list[Pair]:
        """The participant's open (proposed) pairs in every program, under any of their ids (one per program, ADR
        0011), by program id then pair id."""

    @abstractmethod
    async def proposals_of_program(self, program_id: str) -> list[Pair]:
        """Every pair of the program that was proposed (whatever became of it), by proposal time then pair id."""

    @abstractmethod
    async def record_decline(self, pair_id: str, participant_id: str, reason_code: str, reason: str) -> None:
        """The decliner's reason: its code, and its private words (never in an event)."""

    @abstractmethod
    async def decline_reason(self, pair_id: str) -> tuple[str, str] | None:
        """(reason_code, reason) of a declined pair."""

    @abstractmethod
    async def forget_words_of(self, program_id: str, participant_id: str) -> list[str]:
        """Erasure: in each of the participant's pairs of the program (any status) the dissolve reason reads blank,
        and so do the words of the declines they made; the ids of those pairs."""

    @abstractmethod
    async def active_of_participant(self, participant_ids: Collection[str]) -> list[Pair]:
        """The participant's active pairs in every program, under any of their ids, by program id then pair id (not
        locked)."""


class CoupleRules(ABC):
    """An admin's pins and exclusions, per program."""

    @abstractmethod
    async def add(self, program_id: str, mentor_id: str, mentee_id: str, rule: str) -> bool:
        """Set the rule; False when it was set already."""

    @abstractmethod
    async def remove(self, program_id: str, mentor_id: str, mentee_id: str, rule: str) -> bool:
        """Lift the rule; False when it was not set."""

    @abstractmethod
    async def of_program(self, program_id: str) -> list[tuple[str, str, str]]:
        """(mentor, mentee, rule) of the program, sorted."""


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

    async def change(self, program_id: str, settings: dict[str, Any], settings_version: int) -> None:
        await self.conn.execute(
            """INSERT INTO pool_programs (program_id, launched, settings_version) VALUES ($1, $2, $3)
               ON CONFLICT (program_id) DO UPDATE SET launched = EXCLUDED.launched,
                   settings_version = EXCLUDED.settings_version
               WHERE pool_programs.settings_version < EXCLUDED.settings_version""",
            program_id,
            json.dumps(settings),
            settings_version,
        )

    async def close(self, program_id: str, closed_at: datetime) -> None:
        await self.conn.execute(
            "UPDATE pool_programs SET closed_at = coalesce(closed_at, $2) WHERE program_id = $1", program_id, closed_at
        )

    async def closed_at(self, program_id: str) -> datetime | None:
        value: datetime | None = await self.conn.fetchval(
            "SELECT closed_at FROM pool_programs WHERE program_id = $1", program_id
        )
        return value

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

    async def erase(self, program_id: str, participant_id: str, erased: dict[str, Any]) -> None:
        # A withdrawal's placeholder ('{}') stays one: it holds nothing, and a replay leaves it empty too.
        await self.conn.execute(
            """UPDATE pool_candidates SET profile = profile || $3::jsonb
               WHERE program_id = $1 AND participant_id = $2 AND profile <> '{}'""",
            program_id,
            participant_id,
            json.dumps(erased),
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

    async def active_one(self, program_id: str, participant_id: str) -> dict[str, Any] | None:
        profile = await self.conn.fetchval(
            "SELECT profile FROM pool_candidates WHERE program_id = $1 AND participant_id = $2"
            " AND status = 'active' AND profile <> '{}'",
            program_id,
            participant_id,
        )
        return json.loads(profile) if profile else None

    async def record_training(self, program_id: str, participant_id: str, module_id: str, module_version: int) -> None:
        await self.conn.execute(
            "INSERT INTO pool_training VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            program_id,
            participant_id,
            module_id,
            module_version,
        )

    async def trained(self, program_id: str) -> dict[str, set[str]]:
        rows = await self.conn.fetch(
            "SELECT DISTINCT participant_id, module_id FROM pool_training WHERE program_id = $1", program_id
        )
        trained: dict[str, set[str]] = {}
        for r in rows:
            trained.setdefault(r["participant_id"], set()).add(r["module_id"])
        return trained


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
            """INSERT INTO pairs (pair_id, program_id, round_id, mentor_id, mentee_id, score, breakdown, version,
                                  status, origin, acceptance_mode, proposed_at, expires_at, engine_version, inputs_hash)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)""",
            pair.pair_id,
            pair.program_id,
            pair.round_id,
            pair.mentor_id,
            pair.mentee_id,
            pair.score,
            json.dumps(pair.breakdown),
            pair.version,
            pair.status,
            pair.origin,
            pair.acceptance_mode,
            pair.proposed_at,
            pair.expires_at,
            pair.engine_version,
            pair.inputs_hash,
        )

    async def save(self, pair: Pair) -> None:
        await self.conn.execute(
            """UPDATE pairs SET status = $2, dissolve_reason = $3, version = $4, flags = $5,
                      dissolved_at = CASE WHEN $2 = 'dissolved' THEN coalesce(dissolved_at, now()) END,
                      mentor_answer = $6, mentee_answer = $7
               WHERE pair_id = $1""",
            pair.pair_id,
            pair.status,
            pair.dissolve_reason,
            pair.version,
            json.dumps(
                [{"rule": f.rule, "reason": f.reason, "flagged_at": f.flagged_at.isoformat()} for f in pair.flags]
            ),
            pair.mentor_answer,
            pair.mentee_answer,
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
            "SELECT mentor_id, mentee_id FROM pairs WHERE program_id = $1 AND status = ANY($2::text[])",
            program_id,
            list(ENDED_FOR_GOOD),
        )
        return [(r["mentor_id"], r["mentee_id"]) for r in rows]

    async def taken(self, program_id: str) -> list[Pair]:
        rows = await self.conn.fetch(
            "SELECT * FROM pairs WHERE program_id = $1 AND status = ANY($2::text[]) ORDER BY formed_at, pair_id",
            program_id,
            list(TAKEN),
        )
        return [_pair(r) for r in rows]

    async def open_proposals_of(self, program_id: str, participant_id: str) -> list[Pair]:
        rows = await self.conn.fetch(
            "SELECT * FROM pairs WHERE program_id = $1 AND status = 'proposed' AND $2 IN (mentor_id, mentee_id)"
            " ORDER BY pair_id FOR UPDATE",
            program_id,
            participant_id,
        )
        return [_pair(r) for r in rows]

    async def due_proposals(self, now: datetime, limit: int = 500) -> list[Pair]:
        rows = await self.conn.fetch(
            "SELECT * FROM pairs WHERE status = 'proposed' AND expires_at <= $1"
            " ORDER BY expires_at, pair_id LIMIT $2 FOR UPDATE SKIP LOCKED",
            now,
            limit,
        )
        return [_pair(r) for r in rows]

    async def proposals_of_participant(self, participant_ids: Collection[str]) -> list[Pair]:
        rows = await self.conn.fetch(
            "SELECT * FROM pairs WHERE status = 'proposed' AND (mentor_id = ANY($1::text[]) OR mentee_id = ANY($1))"
            " ORDER BY program_id, pair_id",
            list(participant_ids),
        )
        return [_pair(r) for r in rows]

    async def proposals_of_program(self, program_id: str) -> list[Pair]:
        rows = await self.conn.fetch(
            "SELECT * FROM pairs WHERE program_id = $1 AND proposed_at IS NOT NULL ORDER BY proposed_at, pair_id",
            program_id,
        )
        return [_pair(r) for r in rows]

    async def record_decline(self, pair_id: str, participant_id: str, reason_code: str, reason: str) -> None:
        await self.conn.execute(
            "INSERT INTO proposal_declines (pair_id, participant_id, reason_code, reason) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (pair_id) DO NOTHING",
            pair_id,
            participant_id,
            reason_code,
            reason,
        )

    async def decline_reason(self, pair_id: str) -> tuple[str, str] | None:
        row = await self.conn.fetchrow("SELECT reason_code, reason FROM proposal_declines WHERE pair_id = $1", pair_id)
        return (row["reason_code"], row["reason"]) if row else None

    async def forget_words_of(self, program_id: str, participant_id: str) -> list[str]:
        await self.conn.execute(
            """UPDATE proposal_declines d SET reason = '' FROM pairs p
               WHERE d.pair_id = p.pair_id AND p.program_id = $1 AND d.participant_id = $2""",
            program_id,
            participant_id,
        )
        rows = await self.conn.fetch(
            """UPDATE pairs SET dissolve_reason = CASE WHEN dissolve_reason IS NULL THEN NULL ELSE '' END
               WHERE program_id = $1 AND $2 IN (mentor_id, mentee_id) RETURNING pair_id""",
            program_id,
            participant_id,
        )
        return sorted(r["pair_id"] for r in rows)

    async def active_of_participant(self, participant_ids: Collection[str]) -> list[Pair]:
        rows = await self.conn.fetch(
            "SELECT * FROM pairs WHERE status = 'active' AND (mentor_id = ANY($1::text[]) OR mentee_id = ANY($1))"
            " ORDER BY program_id, pair_id",
            list(participant_ids),
        )
        return [_pair(r) for r in rows]


class PostgresCoupleRules(CoupleRules):
    def __init__(self, conn: Conn):
        self.conn = conn

    async def add(self, program_id: str, mentor_id: str, mentee_id: str, rule: str) -> bool:
        added = await self.conn.fetchval(
            "INSERT INTO couple_rules (program_id, mentor_id, mentee_id, rule) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT DO NOTHING RETURNING true",
            program_id,
            mentor_id,
            mentee_id,
            rule,
        )
        return bool(added)

    async def remove(self, program_id: str, mentor_id: str, mentee_id: str, rule: str) -> bool:
        removed = await self.conn.fetchval(
            "DELETE FROM couple_rules WHERE program_id = $1 AND mentor_id = $2 AND mentee_id = $3 AND rule = $4"
            " RETURNING true",
            program_id,
            mentor_id,
            mentee_id,
            rule,
        )
        return bool(removed)

    async def of_program(self, program_id: str) -> list[tuple[str, str, str]]:
        rows = await self.conn.fetch(
            "SELECT mentor_id, mentee_id, rule FROM couple_rules WHERE program_id = $1 ORDER BY mentor_id, mentee_id,"
            " rule",
            program_id,
        )
        return [(r["mentor_id"], r["mentee_id"], r["rule"]) for r in rows]


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
        origin=row["origin"],
        acceptance_mode=row["acceptance_mode"],
        proposed_at=row["proposed_at"],
        expires_at=row["expires_at"],
        mentor_answer=row["mentor_answer"],
        mentee_answer=row["mentee_answer"],
        engine_version=row["engine_version"],
        inputs_hash=row["inputs_hash"],
    )
