"""Notifications' repositories in PostgreSQL (adapters/sql, adapters/directory_sql), on the unit of work's
connection."""

from __future__ import annotations

import json
from datetime import date, datetime

import asyncpg

from services.notifications.adapters.repository import (
    BrandingStore,
    Channels,
    Contacts,
    Directory,
    Notifications,
    PreferencesStore,
    SendClaims,
)
from services.notifications.domain.branding import Branding
from services.notifications.domain.channels import ProgramChannels
from services.notifications.domain.model import Notification, PairMembers, ProgramFacts
from services.notifications.domain.preferences import Preferences
from services.notifications.domain.rules import PairState, PairStatus, Proposal, Snapshot
from shared.contacts import ContactDetails
from shared.db import advisory_key
from shared.events import NotificationSettings
from shared.eventstore import PostgresEventStore


class PostgresNotifications(Notifications):
    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn

    async def add(self, notification: Notification) -> bool:
        n = notification
        inserted = await self.conn.fetchval(
            """INSERT INTO notifications (notification_id, rule, cause_event_id, participant_id, program_id, channel,
                                          status, attempts, next_attempt_at, context, audience)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
               ON CONFLICT (notification_id) DO NOTHING RETURNING true""",
            n.notification_id,
            n.rule,
            n.cause_event_id,
            n.participant_id,
            n.program_id,
            n.channel,
            n.status,
            n.attempts,
            n.next_attempt_at,
            json.dumps(n.context),
            n.audience,
        )
        return bool(inserted)

    async def due(self, now: datetime, limit: int) -> list[Notification]:
        rows = await self.conn.fetch(
            """SELECT * FROM notifications WHERE status = 'pending' AND next_attempt_at <= $1
               ORDER BY next_attempt_at, notification_id LIMIT $2""",
            now,
            limit,
        )
        return [_notification(r) for r in rows]

    async def save(self, notification: Notification) -> None:
        n = notification
        await self.conn.execute(
            """UPDATE notifications SET status = $2, attempts = $3, next_attempt_at = $4, last_error = $5, sent_at = $6,
                                        channel = $7, digest_id = $8
               WHERE notification_id = $1""",
            n.notification_id,
            n.status,
            n.attempts,
            n.next_attempt_at,
            n.last_error,
            n.sent_at,
            n.channel,
            n.digest_id,
        )

    async def in_digest(self, digest_id: str) -> list[Notification]:
        rows = await self.conn.fetch(
            "SELECT * FROM notifications WHERE digest_id = $1 ORDER BY recorded_at, notification_id", digest_id
        )
        return [_notification(r) for r in rows]

    async def get(self, notification_id: str) -> Notification | None:
        row = await self.conn.fetchrow(
            "SELECT * FROM notifications WHERE notification_id::text = $1", notification_id.lower()
        )
        return _notification(row) if row else None

    async def of_program(self, program_id: str, offset: int, limit: int) -> tuple[list[Notification], int]:
        rows = await self.conn.fetch(
            """SELECT * FROM notifications WHERE program_id = $1
               ORDER BY recorded_at DESC, notification_id OFFSET $2 LIMIT $3""",
            program_id,
            offset,
            limit,
        )
        total = await self.conn.fetchval("SELECT count(*) FROM notifications WHERE program_id = $1", program_id)
        return [_notification(r) for r in rows], total

    async def locked(self, notification_id: str) -> Notification | None:
        row = await self.conn.fetchrow(
            "SELECT * FROM notifications WHERE notification_id::text = $1 FOR UPDATE", notification_id.lower()
        )
        return _notification(row) if row else None

    async def last_per_pair(
        self, program_id: str, offset: int, limit: int
    ) -> tuple[list[tuple[Notification, datetime]], int]:
        # A page of pairs first, then the newest notification of each member of those pairs (004's index).
        rows = await self.conn.fetch(
            """WITH page AS (
                   SELECT DISTINCT context->>'pair_id' AS pair_id FROM notifications
                   WHERE program_id = $1 AND context ? 'pair_id' AND participant_id IS NOT NULL
                   ORDER BY 1 OFFSET $2 LIMIT $3)
               SELECT DISTINCT ON (n.context->>'pair_id', n.participant_id) n.*
               FROM notifications n JOIN page ON n.context->>'pair_id' = page.pair_id
               WHERE n.program_id = $1 AND n.participant_id IS NOT NULL
               ORDER BY n.context->>'pair_id', n.participant_id, n.recorded_at DESC, n.notification_id""",
            program_id,
            offset,
            limit,
        )
        total = await self.conn.fetchval(
            "SELECT count(DISTINCT context->>'pair_id') FROM notifications WHERE program_id = $1"
            " AND context ? 'pair_id' AND participant_id IS NOT NULL",
            program_id,
        )
        return [(_notification(r), r["recorded_at"]) for r in rows], total

    async def recorded(self, notification_ids: list[str]) -> dict[str, Notification]:
        rows = await self.conn.fetch(
            "SELECT * FROM notifications WHERE notification_id = ANY($1::uuid[])", notification_ids
        )
        return {str(r["notification_id"]): _notification(r) for r in rows}


class PostgresSendClaims(SendClaims):
    """A claim is a session-level advisory lock on a connection of its own, held outside any transaction (so it
    assigns no transaction id and holds back no relay); PostgreSQL drops it with the connection when the sender
    dies, which is what lets a restarted sender retry at once."""

    def __init__(self, pool: asyncpg.Pool, store: PostgresEventStore):
        self.pool, self.store = pool, store
        self.held: dict[str, asyncpg.Connection] = {}

    def _key(self, notification_id: str) -> int:
        return advisory_key(f"notification-send:{self.store.schema}:{notification_id}")

    async def claim(self, notification_id: str) -> bool:
        conn = await self.pool.acquire()
        try:
            taken = await conn.fetchval("SELECT pg_try_advisory_lock($1)", self._key(notification_id))
        except BaseException:
            await self.pool.release(conn)
            raise
        if not taken:
            await self.pool.release(conn)
            return False
        self.held[notification_id] = conn
        return True

    async def release(self, notification_id: str) -> None:
        conn = self.held.pop(notification_id)
        try:
            await conn.execute("SELECT pg_advisory_unlock($1)", self._key(notification_id))
        except BaseException:
            conn.terminate()  # a pooled connection must not keep the lock: closing it ends the claim
            raise
        finally:
            await self.pool.release(conn)


def _notification(row: asyncpg.Record) -> Notification:
    return Notification(
        notification_id=str(row["notification_id"]),
        rule=row["rule"],
        cause_event_id=row["cause_event_id"],
        participant_id=row["participant_id"],
        program_id=row["program_id"],
        channel=row["channel"],
        next_attempt_at=row["next_attempt_at"],
        context=json.loads(row["context"]),
        status=row["status"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        sent_at=row["sent_at"],
        audience=row["audience"],
        digest_id=str(row["digest_id"]) if row["digest_id"] else None,
    )


class PostgresContacts(Contacts):
    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn

    async def get(self, participant_id: str) -> ContactDetails | None:
        row = await self.conn.fetchrow("SELECT * FROM contacts WHERE participant_id = $1", participant_id)
        if row is None:
            return None
        return ContactDetails(
            participant_id=row["participant_id"],
            display_name=row["display_name"],
            email=row["email"],
            time_zone=row["time_zone"],
        )

    async def put(self, details: ContactDetails) -> None:
        await self.conn.execute(
            """INSERT INTO contacts (participant_id, display_name, email, time_zone) VALUES ($1, $2, $3, $4)
               ON CONFLICT (participant_id) DO UPDATE SET display_name = EXCLUDED.display_name,
                   email = EXCLUDED.email, time_zone = EXCLUDED.time_zone, updated_at = now()""",
            details.participant_id,
            details.display_name,
            details.email,
            details.time_zone,
        )

    async def forget(self, participant_id: str) -> None:
        await self.conn.execute("DELETE FROM contacts WHERE participant_id = $1", participant_id)


class PostgresDirectory(Directory):
    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn

    async def program(self, program_id: str) -> ProgramFacts | None:
        row = await self.conn.fetchrow("SELECT * FROM programs WHERE program_id = $1", program_id)
        return _program(row) if row else None

    async def pair(self, pair_id: str) -> PairMembers | None:
        row = await self.conn.fetchrow(
            "SELECT pair_id, program_id, mentor_id, mentee_id FROM pairs WHERE pair_id = $1", pair_id
        )
        return PairMembers(**dict(row)) if row else None

    async def await_pair(self, cause_event_id: str, pair_id: str, held_on: date) -> None:
        await self.conn.execute(
            "INSERT INTO sessions_awaiting_pair (cause_event_id, pair_id, held_on) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING",
            cause_event_id,
            pair_id,
            held_on,
        )

    async def sessions_awaiting(self, pair_id: str) -> list[tuple[str, date]]:
        rows = await self.conn.fetch(
            "DELETE FROM sessions_awaiting_pair WHERE pair_id = $1 RETURNING cause_event_id, held_on", pair_id
        )
        return sorted((r["cause_event_id"], r["held_on"]) for r in rows)

    async def pairs_of(self, program_id: str) -> list[PairState]:
        return [_pair(r) for r in await self.conn.fetch("SELECT * FROM pairs WHERE program_id = $1", program_id)]

    async def snapshot(self, ended_since: datetime) -> Snapshot:
        # Every active pair each scan: fine for thousands of pairs; beyond that, scan by due date (see README).
        programs = await self.conn.fetch("SELECT * FROM programs")
        pairs = await self.conn.fetch(
            "SELECT * FROM pairs WHERE status = 'active' OR ended_at >= $1 ORDER BY pair_id", ended_since
        )
        proposals = await self.conn.fetch("SELECT * FROM proposals ORDER BY pair_id")
        return Snapshot(
            {r["program_id"]: _program(r) for r in programs},
            [_pair(r) for r in pairs],
            [
                Proposal(
                    r["pair_id"],
                    r["program_id"],
                    r["mentor_id"],
                    r["mentee_id"],
                    r["proposed_at"],
                    r["expires_at"],
                    frozenset(r["accepted_by"]),
                )
                for r in proposals
            ],
        )

    async def put_program(self, facts: ProgramFacts, settings_version: int) -> None:
        await self.conn.execute(
            """INSERT INTO programs (program_id, title, cadence_days, duration_weeks, settings_version, notifications)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (program_id) DO UPDATE SET title = EXCLUDED.title, cadence_days = EXCLUDED.cadence_days,
                   duration_weeks = EXCLUDED.duration_weeks, settings_version = EXCLUDED.settings_version,
                   notifications = EXCLUDED.notifications
               WHERE programs.settings_version < EXCLUDED.settings_version""",
            facts.program_id,
            facts.title,
            facts.cadence_days,
            facts.duration_weeks,
            settings_version,
            facts.notifications.model_dump_json(),
        )

    async def proposed(self, proposal: Proposal) -> None:
        p = proposal
        await self.conn.execute(
            """INSERT INTO proposals (pair_id, program_id, mentor_id, mentee_id, proposed_at, expires_at)
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (pair_id) DO NOTHING""",
            p.pair_id,
            p.program_id,
            p.mentor_id,
            p.mentee_id,
            p.proposed_at,
            p.expires_at,
        )

    async def accepted(self, pair_id: str, participant_id: str) -> None:
        await self.conn.execute(
            """UPDATE proposals SET accepted_by = array_append(accepted_by, $2)
               WHERE pair_id = $1 AND NOT ($2 = ANY(accepted_by))""",
            pair_id,
            participant_id,
        )

    async def proposal_ended(self, pair_id: str) -> None:
        await self.conn.execute("DELETE FROM proposals WHERE pair_id = $1", pair_id)

    async def pair_formed(self, pair: PairMembers, formed_at: datetime) -> None:
        await self.proposal_ended(pair.pair_id)
        await self.conn.execute(
            """INSERT INTO pairs (pair_id, program_id, mentor_id, mentee_id, formed_at) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (pair_id) DO NOTHING""",
            pair.pair_id,
            pair.program_id,
            pair.mentor_id,
            pair.mentee_id,
            formed_at,
        )

    async def session_held(self, pair_id: str, held_on: date) -> None:
        await self.conn.execute(
            "UPDATE pairs SET last_session_on = GREATEST(last_session_on, $2) WHERE pair_id = $1", pair_id, held_on
        )

    async def agreement_in_force(self, pair_id: str, cadence_days: int) -> None:
        await self.conn.execute("UPDATE pairs SET agreed_cadence_days = $2 WHERE pair_id = $1", pair_id, cadence_days)

    async def flagged(self, pair_id: str, at: datetime, cause_event_id: str) -> None:
        await self.conn.execute(
            "UPDATE pairs SET flagged_at = $2, flag_cause = $3 WHERE pair_id = $1", pair_id, at, cause_event_id
        )

    async def pair_ended(self, pair_id: str, status: PairStatus, at: datetime) -> None:
        await self.conn.execute(
            "UPDATE pairs SET status = $2, ended_at = $3 WHERE pair_id = $1 AND status = 'active'", pair_id, status, at
        )


class PostgresChannels(Channels):
    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn

    async def get(self, program_id: str) -> ProgramChannels | None:
        row = await self.conn.fetchrow(
            """SELECT program_id, admin_emails, slack_url, teams_url, webhook_url, webhook_secret
               FROM program_channels WHERE program_id = $1""",
            program_id,
        )
        if row is None:
            return None
        return ProgramChannels(**{**dict(row), "admin_emails": tuple(row["admin_emails"])})

    async def put(self, channels: ProgramChannels) -> None:
        c = channels
        await self.conn.execute(
            """INSERT INTO program_channels
                   (program_id, admin_emails, slack_url, teams_url, webhook_url, webhook_secret)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (program_id) DO UPDATE SET admin_emails = EXCLUDED.admin_emails,
                   slack_url = EXCLUDED.slack_url, teams_url = EXCLUDED.teams_url, webhook_url = EXCLUDED.webhook_url,
                   webhook_secret = EXCLUDED.webhook_secret, updated_at = now()""",
            c.program_id,
            list(c.admin_emails),
            c.slack_url,
            c.teams_url,
            c.webhook_url,
            c.webhook_secret,
        )


class PostgresPreferences(PreferencesStore):
    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn

    async def get(self, participant_id: str) -> Preferences | None:
        row = await self.conn.fetchrow(
            """SELECT participant_id, channel, delivery, quiet_start, quiet_end, unsubscribed
               FROM preferences WHERE participant_id = $1""",
            participant_id,
        )
        return Preferences(**dict(row)) if row else None

    async def put(self, preferences: Preferences) -> None:
        p = preferences
        await self.conn.execute(
            """INSERT INTO preferences (participant_id, channel, delivery, quiet_start, quiet_end, unsubscribed)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (participant_id) DO UPDATE SET channel = EXCLUDED.channel, delivery = EXCLUDED.delivery,
                   quiet_start = EXCLUDED.quiet_start, quiet_end = EXCLUDED.quiet_end,
                   unsubscribed = EXCLUDED.unsubscribed, updated_at = now()""",
            p.participant_id,
            p.channel,
            p.delivery,
            p.quiet_start,
            p.quiet_end,
            p.unsubscribed,
        )


class PostgresBranding(BrandingStore):
    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn

    async def get(self, program_id: str) -> Branding | None:
        row = await self.conn.fetchrow(
            "SELECT program_id, brand, accent_colour, footer FROM program_branding WHERE program_id = $1", program_id
        )
        return Branding(**dict(row)) if row else None

    async def put(self, branding: Branding) -> None:
        b = branding
        await self.conn.execute(
            """INSERT INTO program_branding (program_id, brand, accent_colour, footer) VALUES ($1, $2, $3, $4)
               ON CONFLICT (program_id) DO UPDATE SET brand = EXCLUDED.brand, accent_colour = EXCLUDED.accent_colour,
                   footer = EXCLUDED.footer, updated_at = now()""",
            b.program_id,
            b.brand,
            b.accent_colour,
            b.footer,
        )


def _program(row: asyncpg.Record) -> ProgramFacts:
    return ProgramFacts(
        program_id=row["program_id"],
        title=row["title"],
        cadence_days=row["cadence_days"],
        duration_weeks=row["duration_weeks"],
        notifications=NotificationSettings.model_validate_json(row["notifications"]),
    )


def _pair(row: asyncpg.Record) -> PairState:
    return PairState(
        pair_id=row["pair_id"],
        program_id=row["program_id"],
        mentor_id=row["mentor_id"],
        mentee_id=row["mentee_id"],
        formed_at=row["formed_at"],
        status=row["status"],
        ended_at=row["ended_at"],
        last_session_on=row["last_session_on"],
        agreed_cadence_days=row["agreed_cadence_days"],
        flagged_at=row["flagged_at"],
        flag_cause=row["flag_cause"],
    )
