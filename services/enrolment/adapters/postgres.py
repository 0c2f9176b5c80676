"""Enrolment's repositories in PostgreSQL (tables in adapters/sql). Each works on the unit of work's
connection, so state commits in the same transaction as the events appended beside it."""

from __future__ import annotations

import json

import asyncpg

from services.enrolment.adapters.repository import Participants, Programs, Roster
from services.enrolment.domain.model import Participant
from services.enrolment.domain.roster import RosterEntry
from shared.events import ParticipantEnrolled, ProgramLaunched


class PostgresPrograms(Programs):
    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn

    async def add(self, program: ProgramLaunched) -> None:
        await self.conn.execute(
            "INSERT INTO programs (program_id, launched) VALUES ($1, $2)",
            program.program_id,
            program.model_dump_json(),
        )

    async def get(self, program_id: str) -> ProgramLaunched | None:
        row = await self.conn.fetchval("SELECT launched FROM programs WHERE program_id = $1", program_id)
        return ProgramLaunched.model_validate_json(row) if row else None

    async def list(self, offset: int, limit: int) -> tuple[list[ProgramLaunched], int]:
        rows = await self.conn.fetch(
            "SELECT launched FROM programs ORDER BY launched_at, program_id OFFSET $1 LIMIT $2", offset, limit
        )
        total = await self.conn.fetchval("SELECT count(*) FROM programs")
        return [ProgramLaunched.model_validate_json(r["launched"]) for r in rows], total


class PostgresParticipants(Participants):
    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn

    async def add(self, participant: Participant) -> bool:
        inserted = await self.conn.fetchval(
            """INSERT INTO participants (program_id, participant_id, employee_id, display_name, email, goals,
                                         profile, status, version)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
               ON CONFLICT DO NOTHING RETURNING true""",
            *_columns(participant),
        )
        return bool(inserted)

    async def save(self, participant: Participant) -> None:
        await self.conn.execute(
            """UPDATE participants SET employee_id = $3, display_name = $4, email = $5, goals = $6, profile = $7,
                      status = $8, version = $9
               WHERE program_id = $1 AND participant_id = $2""",
            *_columns(participant),
        )

    async def get(self, program_id: str, participant_id: str) -> Participant | None:
        return await self._get(program_id, participant_id, "")

    async def get_for_update(self, program_id: str, participant_id: str) -> Participant | None:
        return await self._get(program_id, participant_id, " FOR UPDATE")

    async def _get(self, program_id: str, participant_id: str, lock: str) -> Participant | None:
        row = await self.conn.fetchrow(
            "SELECT * FROM participants WHERE program_id = $1 AND participant_id = $2" + lock,
            program_id,
            participant_id,
        )
        return _participant(row) if row else None

    async def page(self, program_id: str, offset: int, limit: int) -> tuple[list[Participant], int]:
        rows = await self.conn.fetch(
            "SELECT * FROM participants WHERE program_id = $1 ORDER BY enrolled_at, participant_id OFFSET $2 LIMIT $3",
            program_id,
            offset,
            limit,
        )
        total = await self.conn.fetchval("SELECT count(*) FROM participants WHERE program_id = $1", program_id)
        return [_participant(r) for r in rows], total


class PostgresRoster(Roster):
    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn

    async def get(self, employee_id: str) -> RosterEntry | None:
        row = await self.conn.fetchrow("SELECT * FROM roster WHERE employee_id = $1", employee_id)
        return _roster_entry(row) if row else None


def _roster_entry(row: asyncpg.Record) -> RosterEntry:
    return RosterEntry(
        employee_id=row["employee_id"],
        display_name=row["display_name"],
        email=row["email"],
        department=row["department"],
        grade=row["grade"],
        manager_id=row["manager_id"],
        languages=tuple(row["languages"]),
        time_zone=row["time_zone"],
        reporting_chain=tuple(row["reporting_chain"]),
        active=row["active"],
    )


def _columns(p: Participant) -> tuple:
    return (
        p.profile.program_id,
        p.profile.participant_id,
        p.employee_id,
        p.display_name,
        p.email,
        p.goals,
        p.profile.model_dump_json(),
        p.status,
        p.version,
    )


def _participant(row: asyncpg.Record) -> Participant:
    return Participant(
        profile=ParticipantEnrolled.model_validate(json.loads(row["profile"])),
        employee_id=row["employee_id"],
        display_name=row["display_name"],
        email=row["email"],
        goals=row["goals"],
        status=row["status"],
        version=row["version"],
    )
