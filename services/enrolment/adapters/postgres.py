"""Enrolment's repositories in PostgreSQL (tables in adapters/sql). Each works on the unit of work's
connection, so state commits in the same transaction as the events appended beside it."""

from __future__ import annotations

import builtins
import json
from collections.abc import Collection, Sequence
from datetime import date, datetime

import asyncpg

from services.enrolment.adapters.repository import (
    Certificates,
    Consents,
    Invitations,
    KudosBook,
    Participants,
    Partnerships,
    Programs,
    Roster,
    TrainingCompletions,
    TrainingModules,
)
from services.enrolment.domain import training
from services.enrolment.domain.consent import Consent
from services.enrolment.domain.model import Invitation, Participant, Partnership, Program
from services.enrolment.domain.recognition import Certificate, Kudos
from services.enrolment.domain.roster import RosterEntry
from services.enrolment.domain.training import Completion, Module
from shared.events import LearningDirection, ParticipantEnrolled, ProgramSettings


class PostgresPrograms(Programs):
    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn

    async def add(self, program: Program) -> None:
        await self.conn.execute(
            """INSERT INTO programs (program_id, launched, settings_version, consent_version, closed_at, version)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            *_program_columns(program),
        )

    async def save(self, program: Program) -> None:
        await self.conn.execute(
            """UPDATE programs SET launched = $2, settings_version = $3, consent_version = $4, closed_at = $5,
                      version = $6
               WHERE program_id = $1""",
            *_program_columns(program),
        )

    async def get(self, program_id: str) -> Program | None:
        row = await self.conn.fetchrow("SELECT * FROM programs WHERE program_id = $1", program_id)
        return _program(row) if row else None

    async def get_for_update(self, program_id: str) -> Program | None:
        row = await self.conn.fetchrow("SELECT * FROM programs WHERE program_id = $1 FOR UPDATE", program_id)
        return _program(row) if row else None

    async def list(self, offset: int, limit: int) -> tuple[list[Program], int]:
        rows = await self.conn.fetch(
            "SELECT * FROM programs ORDER BY launched_at, program_id OFFSET $1 LIMIT $2", offset, limit
        )
        total = await self.conn.fetchval("SELECT count(*) FROM programs")
        return [_program(r) for r in rows], total

    async def closed(self) -> builtins.list[Program]:
        return [_program(r) for r in await self.conn.fetch("SELECT * FROM programs WHERE closed_at IS NOT NULL")]

    async def ids(self) -> builtins.list[str]:
        return [r["program_id"] for r in await self.conn.fetch("SELECT program_id FROM programs")]


def _program_columns(p: Program) -> tuple:
    return (p.program_id, p.settings.model_dump_json(), p.settings_version, p.consent_version, p.closed_at, p.version)


def _program(row: asyncpg.Record) -> Program:
    return Program(
        settings=ProgramSettings.model_validate_json(row["launched"]),
        settings_version=row["settings_version"],
        consent_version=row["consent_version"],
        closed_at=row["closed_at"],
        version=row["version"],
    )


class PostgresParticipants(Participants):
    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn

    # Every write of a participant queues its contact details for the contacts topic, in the same statement, so in
    # its transaction (docs/adr/0008): whatever path changed them (a profile edit, a roster import, SCIM, an
    # erasure). One statement rather than two: one PostgreSQL round trip less per write (issue #18).
    async def add(self, participant: Participant) -> bool:
        inserted = await self.conn.fetchval(
            """WITH added AS (
                   INSERT INTO participants (program_id, participant_id, employee_id, display_name, email, goals,
                                             profile, status, version, share_goals)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                   ON CONFLICT DO NOTHING RETURNING participant_id),
               queued AS (INSERT INTO contact_outbox (participant_id) SELECT participant_id FROM added)
               SELECT true FROM added""",
            *_columns(participant),
        )
        return bool(inserted)

    async def save(self, participant: Participant) -> None:
        await self.conn.execute(
            """WITH saved AS (
                   UPDATE participants SET employee_id = $3, display_name = $4, email = $5, goals = $6, profile = $7,
                          status = $8, version = $9, share_goals = $10
                   WHERE program_id = $1 AND participant_id = $2)
               INSERT INTO contact_outbox (participant_id) VALUES ($2)""",
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

    async def not_erased(self, program_id: str, limit: int) -> list[str]:
        rows = await self.conn.fetch(
            """SELECT participant_id FROM participants WHERE program_id = $1 AND status <> 'erased'
               ORDER BY participant_id LIMIT $2""",
            program_id,
            limit,
        )
        return [r["participant_id"] for r in rows]

    async def active_of_employees(self, employee_ids: Collection[str]) -> list[Participant]:
        rows = await self.conn.fetch(
            "SELECT * FROM participants WHERE employee_id = ANY($1::text[]) AND status = 'active'"
            " ORDER BY program_id, participant_id FOR UPDATE",
            list(employee_ids),
        )
        return [_participant(r) for r in rows]

    async def of_person(self, participant_ids: Collection[str]) -> list[Participant]:
        rows = await self.conn.fetch(
            """SELECT * FROM participants WHERE participant_id = ANY($1::text[])
               ORDER BY enrolled_at, program_id""",
            list(participant_ids),
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

    async def of_person(self, participant_ids: Collection[str]) -> list[Invitation]:
        rows = await self.conn.fetch(
            "SELECT * FROM invitations WHERE participant_id = ANY($1::text[]) ORDER BY invited_at, program_id",
            list(participant_ids),
        )
        return [Invitation(r["program_id"], r["participant_id"], r["invited_at"]) for r in rows]


# A pair as formed, with the day it completed (if it did): completions are kept apart, as they may come first.
PAIRS = "p.*, c.completed_on FROM partnerships p LEFT JOIN partnership_completions c USING (pair_id)"


class PostgresPartnerships(Partnerships):
    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn

    async def active_of(self, participant_ids: Collection[str]) -> list[Partnership]:
        rows = await self.conn.fetch(
            f"""SELECT {PAIRS} WHERE active AND (mentor_id = ANY($1::text[]) OR mentee_id = ANY($1::text[]))
                ORDER BY formed_at, pair_id""",
            list(participant_ids),
        )
        return [_partnership(r) for r in rows]

    async def get(self, pair_id: str) -> Partnership | None:
        row = await self.conn.fetchrow(f"SELECT {PAIRS} WHERE pair_id = $1", pair_id)
        return _partnership(row) if row else None

    async def completion(self, pair_id: str) -> date | None:
        on: date | None = await self.conn.fetchval(
            "SELECT completed_on FROM partnership_completions WHERE pair_id = $1", pair_id
        )
        return on

    async def completed_in(self, program_id: str) -> list[Partnership]:
        rows = await self.conn.fetch(
            f"""SELECT {PAIRS} WHERE p.program_id = $1 AND active AND completed_on IS NOT NULL
                ORDER BY completed_on, pair_id""",
            program_id,
        )
        return [_partnership(r) for r in rows]

    async def topics(self, pair_id: str) -> list[tuple[str, LearningDirection]]:
        rows = await self.conn.fetch(
            "SELECT topic, learning_direction FROM partnership_topics WHERE pair_id = $1 ORDER BY topic", pair_id
        )
        return [(r["topic"], r["learning_direction"]) for r in rows]

    async def forget_topics_of(self, program_id: str, participant_id: str) -> list[str]:
        pair_ids = [
            r["pair_id"]
            for r in await self.conn.fetch(
                """SELECT pair_id FROM partnerships WHERE program_id = $1 AND $2 IN (mentor_id, mentee_id)
                   ORDER BY pair_id""",
                program_id,
                participant_id,
            )
        ]
        await self.conn.execute("DELETE FROM partnership_topics WHERE pair_id = ANY($1::text[])", pair_ids)
        return pair_ids


def _partnership(r: asyncpg.Record) -> Partnership:
    return Partnership(
        r["program_id"], r["pair_id"], r["mentor_id"], r["mentee_id"], r["formed_at"], r["active"], r["completed_on"]
    )


class PostgresCertificates(Certificates):
    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn

    async def add(self, certificate: Certificate) -> None:
        c = certificate
        await self.conn.execute(
            """INSERT INTO certificates (certificate_id, program_id, pair_id, participant_id, partner_id, role,
                                         completed_on, verification_code, issued_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
            c.certificate_id,
            c.program_id,
            c.pair_id,
            c.participant_id,
            c.partner_id,
            c.role,
            c.completed_on,
            c.verification_code,
            c.issued_at,
        )

    async def get(self, certificate_id: str) -> Certificate | None:
        row = await self.conn.fetchrow("SELECT * FROM certificates WHERE certificate_id = $1", certificate_id)
        return Certificate(**row) if row else None

    async def by_code(self, verification_code: str) -> Certificate | None:
        row = await self.conn.fetchrow("SELECT * FROM certificates WHERE verification_code = $1", verification_code)
        return Certificate(**row) if row else None

    async def of_pair(self, pair_id: str) -> list[Certificate]:
        rows = await self.conn.fetch("SELECT * FROM certificates WHERE pair_id = $1 ORDER BY role", pair_id)
        return [Certificate(**r) for r in rows]

    async def of_person(self, participant_ids: Collection[str]) -> list[Certificate]:
        rows = await self.conn.fetch(
            "SELECT * FROM certificates WHERE participant_id = ANY($1::text[]) ORDER BY issued_at, certificate_id",
            list(participant_ids),
        )
        return [Certificate(**r) for r in rows]

    async def in_program(self, program_id: str) -> list[Certificate]:
        rows = await self.conn.fetch(
            "SELECT * FROM certificates WHERE program_id = $1 ORDER BY issued_at, certificate_id", program_id
        )
        return [Certificate(**r) for r in rows]


class PostgresKudos(KudosBook):
    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn

    async def add(self, kudos: Kudos) -> None:
        k = kudos
        await self.conn.execute(
            """INSERT INTO kudos (kudos_id, program_id, pair_id, given_by, given_to, message, given_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            k.kudos_id,
            k.program_id,
            k.pair_id,
            k.given_by,
            k.given_to,
            k.message,
            k.given_at,
        )

    async def of_pair(self, pair_id: str) -> list[Kudos]:
        rows = await self.conn.fetch("SELECT * FROM kudos WHERE pair_id = $1 ORDER BY given_at, kudos_id", pair_id)
        return [Kudos(**r) for r in rows]

    async def of_person(self, participant_ids: Collection[str]) -> list[Kudos]:
        rows = await self.conn.fetch(
            """SELECT * FROM kudos WHERE given_by = ANY($1::text[]) OR given_to = ANY($1::text[])
               ORDER BY given_at DESC, kudos_id""",
            list(participant_ids),
        )
        return [Kudos(**r) for r in rows]

    async def in_program(self, program_id: str) -> list[Kudos]:
        rows = await self.conn.fetch("SELECT * FROM kudos WHERE program_id = $1", program_id)
        return [Kudos(**r) for r in rows]

    async def forget(self, program_id: str, participant_id: str) -> None:
        await self.conn.execute(
            "UPDATE kudos SET message = '' WHERE program_id = $1 AND (given_by = $2 OR given_to = $2)",
            program_id,
            participant_id,
        )


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


async def partnership_completed(conn: asyncpg.Connection, program_id: str, pair_id: str, on: date) -> None:
    """Kept even before the pair's PairFormed arrives (another topic, so no order between them): the formation
    then fills the row in, and the certificates follow whichever comes second."""
    await conn.execute(
        """INSERT INTO partnership_completions (pair_id, program_id, completed_on) VALUES ($1, $2, $3)
           ON CONFLICT (pair_id) DO NOTHING""",
        pair_id,
        program_id,
        on,
    )


async def partnership_session(
    conn: asyncpg.Connection, pair_id: str, topics: Sequence[str], direction: LearningDirection
) -> None:
    await conn.executemany(
        """INSERT INTO partnership_topics (pair_id, topic, learning_direction) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING""",
        [(pair_id, topic, direction) for topic in topics],
    )


class PostgresRoster(Roster):
    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn

    async def get(self, employee_id: str) -> RosterEntry | None:
        row = await self.conn.fetchrow("SELECT * FROM roster WHERE employee_id = $1", employee_id)
        return _roster_entry(row) if row else None

    async def everyone(self) -> dict[str, RosterEntry]:
        # One import or provisioning at a time: each derives chains over the whole roster it read.
        await self.conn.execute("LOCK TABLE roster IN SHARE ROW EXCLUSIVE MODE")
        return {r["employee_id"]: _roster_entry(r) for r in await self.conn.fetch("SELECT * FROM roster")}

    async def put_many(self, entries: Sequence[RosterEntry]) -> None:
        # One statement over arrays (unnest), not one per row: a 20 000-row import is one round trip.
        await self.conn.execute(
            """INSERT INTO roster (employee_id, display_name, email, department, grade, manager_id, languages,
                                   time_zone, reporting_chain, active, user_name, pseudonym)
               SELECT r.employee_id, r.display_name, r.email, r.department, r.grade, r.manager_id,
                      coalesce(r.languages::text[], '{}'), r.time_zone, coalesce(r.reporting_chain::text[], '{}'),
                      r.active, r.user_name, r.pseudonym
               FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[],
                           $8::text[], $9::text[], $10::bool[], $11::text[], $12::text[])
                    AS r(employee_id, display_name, email, department, grade, manager_id, languages, time_zone,
                         reporting_chain, active, user_name, pseudonym)
               ON CONFLICT (employee_id) DO UPDATE SET
                   display_name = EXCLUDED.display_name, email = EXCLUDED.email, department = EXCLUDED.department,
                   grade = EXCLUDED.grade, manager_id = EXCLUDED.manager_id, languages = EXCLUDED.languages,
                   time_zone = EXCLUDED.time_zone, reporting_chain = EXCLUDED.reporting_chain,
                   active = EXCLUDED.active, user_name = EXCLUDED.user_name, pseudonym = EXCLUDED.pseudonym,
                   updated_at = now()""",
            *_roster_columns(entries),
        )

    async def page(self, offset: int, limit: int) -> tuple[list[RosterEntry], int]:
        rows = await self.conn.fetch("SELECT * FROM roster ORDER BY employee_id OFFSET $1 LIMIT $2", offset, limit)
        return [_roster_entry(r) for r in rows], await self.conn.fetchval("SELECT count(*) FROM roster")

    async def remove(self, employee_id: str) -> None:
        await self.conn.execute("DELETE FROM roster WHERE employee_id = $1", employee_id)

    async def by_pseudonym(self, pseudonym: str) -> RosterEntry | None:
        row = await self.conn.fetchrow("SELECT * FROM roster WHERE pseudonym = $1", pseudonym)
        return _roster_entry(row) if row else None

    async def by_user_name(self, user_name: str) -> RosterEntry | None:
        row = await self.conn.fetchrow(
            "SELECT * FROM roster WHERE coalesce(user_name, employee_id) = $1 ORDER BY employee_id LIMIT 1", user_name
        )
        return _roster_entry(row) if row else None


def _roster_columns(entries: Sequence[RosterEntry]) -> list[list]:
    # PostgreSQL has no arrays of arrays of varying length, so list columns travel as array literals (text) that
    # the statement casts back; `_array_literal` quotes every element.
    return [
        [e.employee_id for e in entries],
        [e.display_name for e in entries],
        [e.email for e in entries],
        [e.department for e in entries],
        [e.grade for e in entries],
        [e.manager_id for e in entries],
        [_array_literal(e.languages) for e in entries],
        [e.time_zone for e in entries],
        [_array_literal(e.reporting_chain) for e in entries],
        [e.active for e in entries],
        [e.user_name for e in entries],
        [e.pseudonym for e in entries],
    ]


def _array_literal(items: Sequence[str]) -> str:
    quoted = ('"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"' for item in items)
    return "{" + ",".join(quoted) + "}"


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
        user_name=row["user_name"],
        pseudonym=row["pseudonym"],
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


class PostgresTrainingModules(TrainingModules):
    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn

    async def add(self, module: Module) -> None:
        assert module.program_id is not None, "only a program's modules are stored"
        await self.conn.execute(
            "INSERT INTO training_modules (program_id, module_id, version, content) VALUES ($1, $2, $3, $4)",
            module.program_id,
            module.module_id,
            module.version,
            module.content,
        )

    async def latest(self, program_id: str) -> list[Module]:
        rows = await self.conn.fetch(
            """SELECT DISTINCT ON (module_id) * FROM training_modules WHERE program_id = $1
               ORDER BY module_id, version DESC""",
            program_id,
        )
        return [_module(r) for r in rows]

    async def latest_of(self, program_id: str, module_id: str) -> Module | None:
        row = await self.conn.fetchrow(
            """SELECT * FROM training_modules WHERE program_id = $1 AND module_id = $2
               ORDER BY version DESC LIMIT 1""",
            program_id,
            module_id,
        )
        return _module(row) if row else None


def _module(row: asyncpg.Record) -> Module:
    # Stored content was checked when published; the version is the row's, whatever its front matter says.
    return training.as_version(training.parse(row["content"]), row["version"], row["program_id"])


class PostgresTrainingCompletions(TrainingCompletions):
    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn

    async def add(self, completion: Completion) -> bool:
        c = completion
        inserted = await self.conn.fetchval(
            """INSERT INTO training_completions
                   (program_id, participant_id, module_id, module_version, score, questions, completed_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING true""",
            c.program_id,
            c.participant_id,
            c.module_id,
            c.module_version,
            c.score,
            c.questions,
            c.completed_at,
        )
        return bool(inserted)

    async def of_person(self, program_id: str, participant_id: str) -> list[Completion]:
        rows = await self.conn.fetch(
            """SELECT * FROM training_completions WHERE program_id = $1 AND participant_id = $2
               ORDER BY completed_at, module_id, module_version""",
            program_id,
            participant_id,
        )
        return [
            Completion(
                r["program_id"],
                r["participant_id"],
                r["module_id"],
                r["module_version"],
                r["score"],
                r["questions"],
                r["completed_at"],
            )
            for r in rows
        ]
