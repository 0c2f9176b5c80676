"""Sessions' tables behind one interface per table group, and their PostgreSQL implementation.

Handlers see only the interfaces (`Pairs`, `Programs`, `Agreements`, `Sessions`, `Feedback`, `Reflections`,
`Stories`, `IdempotencyKeys`) through the unit of work;
`adapters/memory.py` keeps the same contract in dicts (tests/contracts/sessions_uow.py holds both to it). The
PostgreSQL repositories work on the unit of work's connection, so their writes commit with the events beside them.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any, TypeAlias

import asyncpg

from services.sessions.domain.model import (
    Agreement,
    Goal,
    Pair,
    ProgramGuidelines,
    Reflection,
    SessionRecord,
    StoryOptIn,
)
from shared.events import FeedbackGiven

Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool
EXPIRED_PER_CLAIM = 100  # bounded work per request; steady traffic clears far more keys than it adds
# A pair's status: completed (sessions' own `pair_ends`) wins over matching's active/dissolved.
PAIR_SELECT = (
    "SELECT p.pair_id, p.program_id, p.mentor_id, p.mentee_id,"
    " CASE WHEN e.pair_id IS NULL THEN p.status ELSE 'completed' END AS status, p.formed_at, p.dissolved_at,"
    " e.completed_by, e.completed_on FROM pairs p LEFT JOIN pair_ends e USING (pair_id)"
)


# The pairs of one member in one program (a pseudonym may name the same person in several programs, and an
# erasure is per program); the member indexes of `pairs` find them.
MEMBER_PAIRS = "SELECT pair_id FROM pairs WHERE program_id = $1 AND $2 IN (mentor_id, mentee_id)"


async def _blank_words(
    conn: Conn, table: str, columns: tuple[str, ...], author: str, program_id: str, participant_id: str, blank: str
) -> None:
    """Set `columns` of `table` to `blank` where `author` is the participant, in their pairs of the program."""
    assignments = ", ".join(f"{c} = $3" for c in columns)
    await conn.execute(
        f"UPDATE {table} SET {assignments} WHERE {author} = $2 AND pair_id IN ({MEMBER_PAIRS})",
        program_id,
        participant_id,
        blank,
    )


class Pairs(ABC):
    """The `pairs` read model, as matching announced them. Handlers only read it; the projection writes it."""

    @abstractmethod
    async def get(self, pair_id: str) -> Pair | None: ...

    @abstractmethod
    async def of_participant(self, participant_ids: Collection[str]) -> list[Pair]:
        """The pairs of a participant, under any of their ids (one per program, ADR 0011), as mentor or mentee,
        oldest first (then by id)."""

    @abstractmethod
    async def running(self) -> list[Pair]:
        """Every active pair (neither dissolved nor completed)."""

    @abstractmethod
    async def complete(self, pair: Pair) -> bool:
        """Record `pair`'s end (its completed_by and completed_on); False when it had already ended (another
        request or replica was first), so the caller publishes nothing."""


class Programs(ABC):
    """Each program's guidelines, from enrolment's events (the pairs projection writes them)."""

    @abstractmethod
    async def get(self, program_id: str) -> ProgramGuidelines | None: ...


class Agreements(ABC):
    @abstractmethod
    async def latest(self, pair_id: str) -> Agreement | None:
        """The pair's newest version; holds the pair's agreement until the unit of work ends, so two signatures at
        once cannot both miss the other."""

    @abstractmethod
    async def in_force(self, pair_id: str) -> Agreement | None:
        """The newest version both members signed."""

    @abstractmethod
    async def save(self, agreement: Agreement) -> None:
        """Add a version, or record its signatures and end date."""

    @abstractmethod
    async def blank_written_by(self, program_id: str, participant_id: str, blank: str) -> None:
        """Erasure: the goals the participant wrote, and the confidentiality notes of the versions they proposed,
        in the program's pairs, read `blank`."""


class Reflections(ABC):
    @abstractmethod
    async def of_pair(self, pair_id: str) -> list[Reflection]:
        """The pair's closing reflections, oldest first; holds the pair's end until the unit of work ends, so both
        members asking at once complete the pair once."""

    @abstractmethod
    async def add(self, reflection: Reflection) -> None: ...

    @abstractmethod
    async def blank_written_by(self, program_id: str, participant_id: str, blank: str) -> None:
        """Erasure: the participant's reflections in the program's pairs keep their answers, their words read
        `blank`."""


class Stories(ABC):
    """Members' opt-ins to share their closing reflections as stories (issue #16)."""

    @abstractmethod
    async def get(self, pair_id: str, participant_id: str) -> StoryOptIn | None: ...

    @abstractmethod
    async def save(self, choice: StoryOptIn) -> None:
        """Keep the member's latest choice."""

    @abstractmethod
    async def shared_in_program(self, program_id: str) -> tuple[list[Pair], list[Reflection]]:
        """The program's completed pairs with at least one member sharing, and the reflections of the members who
        share now (a withdrawn opt-in's reflection is not among them), by pair id."""


class Sessions(ABC):
    @abstractmethod
    async def add(self, session: SessionRecord) -> None: ...

    @abstractmethod
    async def of_pair(self, pair_id: str) -> list[SessionRecord]:
        """A pair's sessions by the day they were held, then by when they were logged."""

    @abstractmethod
    async def blank_written_by(self, program_id: str, participant_id: str, blank: str) -> None:
        """Erasure: the notes of the sessions the participant logged in the program's pairs read `blank`, and every
        session of those pairs has no topics (words about the pair, sealed under its key: what a replay reads)."""


class Feedback(ABC):
    @abstractmethod
    async def add(self, feedback: FeedbackGiven, given_at: datetime) -> None: ...

    @abstractmethod
    async def last_given_at(self, pair_id: str, member: str) -> datetime | None:
        """When `member` last gave feedback in the pair; holds that member's feedback on the pair until the unit
        of work ends, so two requests at once cannot both pass the one-per-period rule."""

    @abstractmethod
    async def blank_written_by(self, program_id: str, participant_id: str, blank: str) -> None:
        """Erasure: what the participant's feedback in the program's pairs says they learned reads `blank`."""


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

    @abstractmethod
    async def forget_caller(self, caller: str) -> None:
        """Erasure: drop the caller's keys, whose stored answers repeat the words they wrote (notes, feedback)."""


# ------------------------------------------------------------------------------------------------ PostgreSQL


class PostgresPairs(Pairs):
    def __init__(self, conn: Conn):
        self.conn = conn

    async def get(self, pair_id: str) -> Pair | None:
        row = await self.conn.fetchrow(f"{PAIR_SELECT} WHERE p.pair_id = $1", pair_id)
        return Pair(**dict(row)) if row else None

    async def of_participant(self, participant_ids: Collection[str]) -> list[Pair]:
        rows = await self.conn.fetch(
            f"""{PAIR_SELECT} WHERE p.mentor_id = ANY($1::text[]) OR p.mentee_id = ANY($1::text[])
                ORDER BY p.formed_at, p.pair_id""",
            list(participant_ids),
        )
        return [Pair(**dict(r)) for r in rows]

    async def running(self) -> list[Pair]:
        rows = await self.conn.fetch(f"{PAIR_SELECT} WHERE p.status = 'active' AND e.pair_id IS NULL")
        return [Pair(**dict(r)) for r in rows]

    async def complete(self, pair: Pair) -> bool:
        return bool(
            await self.conn.fetchval(
                "INSERT INTO pair_ends (pair_id, completed_by, completed_on) VALUES ($1, $2, $3)"
                " ON CONFLICT (pair_id) DO NOTHING RETURNING true",
                pair.pair_id,
                pair.completed_by,
                pair.completed_on,
            )
        )


class PostgresPrograms(Programs):
    def __init__(self, conn: Conn):
        self.conn = conn

    async def get(self, program_id: str) -> ProgramGuidelines | None:
        row = await self.conn.fetchrow(
            "SELECT program_id, cadence_days, duration_weeks, settings_version FROM program_guidelines"
            " WHERE program_id = $1",
            program_id,
        )
        return ProgramGuidelines(**dict(row)) if row else None


class PostgresAgreements(Agreements):
    def __init__(self, conn: Conn):
        self.conn = conn

    async def _agreement(self, row: asyncpg.Record | None) -> Agreement | None:
        if row is None:
            return None
        goals = await self.conn.fetch(
            "SELECT goal_id, direction, text, written_by FROM agreement_goals WHERE pair_id = $1 AND version = $2"
            " ORDER BY position",
            row["pair_id"],
            row["version"],
        )
        return Agreement(
            **{**dict(row), "signed_by": tuple(row["signed_by"])}, goals=tuple(Goal(**dict(g)) for g in goals)
        )

    async def latest(self, pair_id: str) -> Agreement | None:
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"agreement:{pair_id}")
        row = await self.conn.fetchrow(
            f"SELECT {AGREEMENT_COLUMNS} FROM agreements WHERE pair_id = $1 ORDER BY version DESC LIMIT 1", pair_id
        )
        return await self._agreement(row)

    async def in_force(self, pair_id: str) -> Agreement | None:
        row = await self.conn.fetchrow(
            f"SELECT {AGREEMENT_COLUMNS} FROM agreements WHERE pair_id = $1 AND ends_on IS NOT NULL"
            " ORDER BY version DESC LIMIT 1",
            pair_id,
        )
        return await self._agreement(row)

    async def save(self, agreement: Agreement) -> None:
        added = await self.conn.fetchval(
            f"INSERT INTO agreements ({AGREEMENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            " ON CONFLICT (pair_id, version) DO UPDATE SET signed_by = EXCLUDED.signed_by, ends_on = EXCLUDED.ends_on"
            " RETURNING xmax = 0",
            agreement.pair_id,
            agreement.version,
            agreement.proposed_by,
            agreement.proposed_at,
            agreement.cadence_days,
            agreement.duration_weeks,
            agreement.confidentiality,
            agreement.confidentiality_note,
            list(agreement.signed_by),
            agreement.ends_on,
        )
        if added:
            await self.conn.executemany(
                "INSERT INTO agreement_goals (pair_id, version, position, goal_id, direction, text, written_by)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                [
                    (agreement.pair_id, agreement.version, i, g.goal_id, g.direction, g.text, g.written_by)
                    for i, g in enumerate(agreement.goals)
                ],
            )

    async def blank_written_by(self, program_id: str, participant_id: str, blank: str) -> None:
        await _blank_words(self.conn, "agreement_goals", ("text",), "written_by", program_id, participant_id, blank)
        await _blank_words(
            self.conn, "agreements", ("confidentiality_note",), "proposed_by", program_id, participant_id, blank
        )


class PostgresReflections(Reflections):
    def __init__(self, conn: Conn):
        self.conn = conn

    async def of_pair(self, pair_id: str) -> list[Reflection]:
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"end:{pair_id}")
        rows = await self.conn.fetch(
            f"SELECT {REFLECTION_COLUMNS} FROM reflections WHERE pair_id = $1 ORDER BY recorded_at", pair_id
        )
        return [Reflection(**dict(r)) for r in rows]

    async def add(self, reflection: Reflection) -> None:
        await self.conn.execute(
            f"INSERT INTO reflections ({REFLECTION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            *(getattr(reflection, c) for c in REFLECTION_COLUMNS.split(", ")),
        )

    async def blank_written_by(self, program_id: str, participant_id: str, blank: str) -> None:
        columns = ("learned", "changed")
        await _blank_words(self.conn, "reflections", columns, "participant_id", program_id, participant_id, blank)


class PostgresStories(Stories):
    def __init__(self, conn: Conn):
        self.conn = conn

    async def get(self, pair_id: str, participant_id: str) -> StoryOptIn | None:
        row = await self.conn.fetchrow(
            "SELECT pair_id, participant_id, share, changed_at FROM story_optins"
            " WHERE pair_id = $1 AND participant_id = $2",
            pair_id,
            participant_id,
        )
        return StoryOptIn(**dict(row)) if row else None

    async def save(self, choice: StoryOptIn) -> None:
        await self.conn.execute(
            "INSERT INTO story_optins (pair_id, participant_id, share, changed_at) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (pair_id, participant_id) DO UPDATE SET share = EXCLUDED.share,"
            " changed_at = EXCLUDED.changed_at",
            choice.pair_id,
            choice.participant_id,
            choice.share,
            choice.changed_at,
        )

    async def shared_in_program(self, program_id: str) -> tuple[list[Pair], list[Reflection]]:
        rows = await self.conn.fetch(
            f"SELECT {', '.join('r.' + c for c in REFLECTION_COLUMNS.split(', '))} FROM reflections r"
            " JOIN story_optins s USING (pair_id, participant_id) JOIN pairs p USING (pair_id)"
            " JOIN pair_ends e USING (pair_id)"
            " WHERE p.program_id = $1 AND s.share ORDER BY r.pair_id, r.participant_id",
            program_id,
        )
        shared = [Reflection(**dict(r)) for r in rows]
        pairs = await self.conn.fetch(
            f"{PAIR_SELECT} WHERE p.pair_id = ANY($1::text[]) ORDER BY p.pair_id", sorted({r.pair_id for r in shared})
        )
        return [Pair(**dict(p)) for p in pairs], shared


AGREEMENT_COLUMNS = (
    "pair_id, version, proposed_by, proposed_at, cadence_days, duration_weeks, confidentiality,"
    " confidentiality_note, signed_by, ends_on"
)
REFLECTION_COLUMNS = (
    "pair_id, participant_id, side, learned, changed, would_recommend, recorded_at, requested_completion"
)


class PostgresSessions(Sessions):
    def __init__(self, conn: Conn):
        self.conn = conn

    async def add(self, session: SessionRecord) -> None:
        await self.conn.execute(
            """INSERT INTO sessions (session_id, pair_id, held_on, minutes, topics, learning_direction, notes,
                                     logged_by, logged_at, goals_advanced)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
            session.session_id,
            session.pair_id,
            session.held_on,
            session.minutes,
            list(session.topics),
            session.learning_direction,
            session.notes,
            session.logged_by,
            session.logged_at,
            list(session.goals_advanced),
        )

    async def of_pair(self, pair_id: str) -> list[SessionRecord]:
        rows = await self.conn.fetch(
            "SELECT session_id, pair_id, held_on, minutes, topics, learning_direction, notes, logged_by, logged_at,"
            " goals_advanced FROM sessions WHERE pair_id = $1 ORDER BY held_on, logged_at",
            pair_id,
        )
        return [
            SessionRecord(**{**dict(r), "topics": tuple(r["topics"]), "goals_advanced": tuple(r["goals_advanced"])})
            for r in rows
        ]

    async def blank_written_by(self, program_id: str, participant_id: str, blank: str) -> None:
        await _blank_words(self.conn, "sessions", ("notes",), "logged_by", program_id, participant_id, blank)
        await self.conn.execute(
            f"UPDATE sessions SET topics = '{{}}' WHERE pair_id IN ({MEMBER_PAIRS})", program_id, participant_id
        )


class PostgresFeedback(Feedback):
    def __init__(self, conn: Conn):
        self.conn = conn

    async def add(self, feedback: FeedbackGiven, given_at: datetime) -> None:
        await self.conn.execute(
            """INSERT INTO feedback (feedback_id, pair_id, given_by, side, rating, learned, would_continue, given_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            feedback.feedback_id,
            feedback.pair_id,
            feedback.given_by,
            feedback.side,
            feedback.rating,
            feedback.learned,
            feedback.would_continue,
            given_at,
        )

    async def last_given_at(self, pair_id: str, member: str) -> datetime | None:
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"feedback:{pair_id}:{member}")
        return await self.conn.fetchval(
            "SELECT max(given_at) FROM feedback WHERE pair_id = $1 AND given_by = $2", pair_id, member
        )

    async def blank_written_by(self, program_id: str, participant_id: str, blank: str) -> None:
        await _blank_words(self.conn, "feedback", ("learned",), "given_by", program_id, participant_id, blank)


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

    async def forget_caller(self, caller: str) -> None:
        await self.conn.execute("DELETE FROM idempotency_keys WHERE caller = $1", caller)


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


async def program_guidelines(conn: Conn, guidelines: ProgramGuidelines) -> None:
    """The newest settings win: a redelivered or out-of-order older version changes nothing."""
    await conn.execute(
        """INSERT INTO program_guidelines (program_id, cadence_days, duration_weeks, settings_version)
           VALUES ($1, $2, $3, $4) ON CONFLICT (program_id) DO UPDATE
           SET cadence_days = EXCLUDED.cadence_days, duration_weeks = EXCLUDED.duration_weeks,
               settings_version = EXCLUDED.settings_version
           WHERE program_guidelines.settings_version < EXCLUDED.settings_version""",
        guidelines.program_id,
        guidelines.cadence_days,
        guidelines.duration_weeks,
        guidelines.settings_version,
    )
