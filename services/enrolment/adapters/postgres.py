"""Enrolment's repositories in PostgreSQL (tables in adapters/sql). Each works on the unit of work's
connection, so state commits in the same transaction as the events appended beside it."""

from __future__ import annotations

import json
from datetime import datetime

import asyncpg

from services.enrolment.adapters.repository import Consents, Invitations, Participants, Partnerships, Programs, Roster
from services.enrolment.domain.consent import Consent
from services.enrolment.domain.model import Invitation, Participant, Partnership
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
                                         profile, status, version, share_goals)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
               ON CONFLICT DO NOTHING RETURNING true""",
            *_columns(participant),
        )
        return bool(inserted)

    async def save(self, participant: Participant) -> None:
        await self.conn.execute(
            """UPDATE participants SET employee_id = $3, display_name = $4, email = $5, goals = $6, profile = $7,
                      status = $8, version = $9, share_goals = $10
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

    async def of_person(self, participant_id: str) -> list[Participant]:
        rows = await self.conn.fetch(
            "SELECT * FROM participants WHERE participant_id = $1 ORDER BY enrolled_at, program_id", participant_id
        )
        return [_participant(r) for r in rows]

    async def names(self, program_id: str, participant_ids: list[str]) -> dict[str, str]:
        rows = await self.conn.fetch(
            """SELECT participant_id, display_name FROM participants
               WHERE program_id = $1 AND participant_id = ANY($2::text[]) AND status <> 'erased'""",
            program_id,
            participant_ids,
        )
        return {r["participant_id"]: r["display_name"] for r in rows}


class PostgresConsents(Consents):
    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn

    async def add(self, consent: Consent) -> None:
        await self.conn.execute(
            """INSERT INTO consents (program_id, participant_id, wording_version, wording_sha256, given_at,
                                     withdrawn_at)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            *_consent_columns(consent),
        )

    async def latest(self, program_id: str, participant_id: str) -> Consent | None:
        row = await self.conn.fetchrow(
            """SELECT * FROM consents WHERE program_id = $1 AND participant_id = $2
               ORDER BY given_at DESC, wording_version DESC LIMIT 1""",
            program_id,
            participant_id,
        )
        if row is None:
            return None
        return Consent(
            program_id=row["program_id"],
            participant_id=row["participant_id"],
            version=row["wording_version"],
            sha256=row["wording_sha256"],
            given_at=row["given_at"],
            withdrawn_at=row["withdrawn_at"],
        )

    async def save(self, consent: Consent) -> None:
        await self.conn.execute(
            """UPDATE consents SET wording_sha256 = $4, given_at = $5, withdrawn_at = $6
               WHERE program_id = $1 AND participant_id = $2 AND wording_version = $3""",
            *_consent_columns(consent),
        )


class PostgresInvitations(Invitations):
    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn

    async def add(self, program_id: str, participant_id: str, at: datetime) -> bool:
        inserted = await self.conn.fetchval(
            """INSERT INTO invitations (program_id, participant_id, invited_at) VALUES ($1, $2, $3)
               ON CONFLICT DO NOTHING RETURNING true""",
            program_id,
            participant_id,
            at,
        )
        return bool(inserted)

    async def of_person(self, participant_id: str) -> list[Invitation]:
        rows = await self.conn.fetch(
            "SELECT * FROM invitations WHERE participant_id = $1 ORDER BY invited_at, program_id", participant_id
        )
        return [Invitation(r["program_id"], r["participant_id"], r["invited_at"]) for r in rows]


class PostgresPartnerships(Partnerships):
    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn

    async def active_of(self, participant_id: str) -> list[Partnership]:
        rows = await self.conn.fetch(
            """SELECT * FROM partnerships WHERE active AND (mentor_id = $1 OR mentee_id = $1)
               ORDER BY formed_at, pair_id""",
            participant_id,
        )
        return [
            Partnership(r["program_id"], r["pair_id"], r["mentor_id"], r["mentee_id"], r["formed_at"], r["active"])
            for r in rows
        ]


# The projection's writes (entrypoints/partnerships_consumer.py), on the runner's connection.


async def partnership_formed(conn: asyncpg.Connection, pair: Partnership) -> None:
    await conn.execute(
        """INSERT INTO partnerships (pair_id, program_id, mentor_id, mentee_id, active, formed_at)
           VALUES ($1, $2, $3, $4, true, $5) ON CONFLICT (pair_id) DO NOTHING""",
        pair.pair_id,
        pair.program_id,
        pair.mentor_id,
        pair.mentee_id,
        pair.formed_at,
    )


async def partnership_dissolved(conn: asyncpg.Connection, pair_id: str) -> None:
    await conn.execute("UPDATE partnerships SET active = false WHERE pair_id = $1", pair_id)


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
        p.share_goals,
    )


def _consent_columns(c: Consent) -> tuple:
    return (c.program_id, c.participant_id, c.version, c.sha256, c.given_at, c.withdrawn_at)


def _participant(row: asyncpg.Record) -> Participant:
    return Participant(
        profile=ParticipantEnrolled.model_validate(json.loads(row["profile"])),
        employee_id=row["employee_id"],
        display_name=row["display_name"],
        email=row["email"],
        goals=row["goals"],
        status=row["status"],
        version=row["version"],
        share_goals=row["share_goals"],
    )
