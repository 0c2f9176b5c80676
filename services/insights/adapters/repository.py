"""Insights' tables (see adapters/sql): the projection records facts; queries load one program's facts.

Every write is idempotent and independent of arrival order (ON CONFLICT keeps the first fact, or the earliest
time), so redelivery and cross-topic reordering leave the same rows.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any, TypeAlias

import asyncpg

from services.insights.domain.facts import (
    Answer,
    Expiry,
    Facts,
    Feedback,
    Goal,
    Pair,
    Profile,
    Program,
    Proposal,
    Recognition,
    Reflection,
    Session,
    SignedAgreement,
    TrainingCompletion,
    Withdrawal,
)
from services.insights.domain.report import ProgramSummary
from shared.events import (
    AgreementInForce,
    AgreementProposed,
    AgreementSigned,
    CertificateIssued,
    CompletionRequested,
    CoupleExcluded,
    CouplePinned,
    CoupleRuleLifted,
    FeedbackGiven,
    KudosGiven,
    PairCompleted,
    PairDissolved,
    PairFormed,
    PairProposed,
    ParticipantEnrolled,
    ParticipantProfileUpdated,
    ParticipantWithdrawn,
    ProgramClosed,
    ProgramLaunched,
    ProgramSettingsChanged,
    ProposalAccepted,
    ProposalDeclined,
    ProposalExpired,
    ReflectionRecorded,
    SessionHeld,
    StoryShared,
    StoryWithdrawn,
    TrainingCompleted,
)

Db: TypeAlias = asyncpg.Connection | asyncpg.Pool


async def record_program(conn: asyncpg.Connection, e: ProgramLaunched, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO programs
               (program_id, title, cadence_days, duration_weeks, targets, at, admin_groups, sponsor_groups,
                min_group_size)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING""",
        e.program_id,
        e.title,
        e.cadence_days,
        e.duration_weeks,
        json.dumps(e.targets),
        at,
        list(e.admin_groups),
        list(e.sponsor_groups),
        e.min_group_size,
    )
    await record_settings(conn, e, at)


async def record_settings(conn: asyncpg.Connection, e: ProgramLaunched | ProgramSettingsChanged, at: datetime) -> None:
    """Each version of the settings (the launch is version 1); `programs` then takes the latest known."""
    await conn.execute(
        """INSERT INTO program_settings (program_id, settings_version, title, cadence_days, duration_weeks, targets,
               admin_groups, sponsor_groups, at, min_group_size)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING""",
        e.program_id,
        e.settings_version if isinstance(e, ProgramSettingsChanged) else 1,
        e.title,
        e.cadence_days,
        e.duration_weeks,
        json.dumps(e.targets),
        list(e.admin_groups),
        list(e.sponsor_groups),
        at,
        e.min_group_size,
    )
    await _apply_latest_settings(conn, e.program_id)


async def _apply_latest_settings(conn: asyncpg.Connection, program_id: str) -> None:
    """`programs` holds the latest settings known, whichever of the launch and its changes arrived first."""
    await conn.execute(
        """UPDATE programs p SET title = s.title, cadence_days = s.cadence_days, duration_weeks = s.duration_weeks,
               targets = s.targets, admin_groups = s.admin_groups, sponsor_groups = s.sponsor_groups,
               settings_version = s.settings_version, min_group_size = s.min_group_size
           FROM (SELECT * FROM program_settings WHERE program_id = $1 ORDER BY settings_version DESC LIMIT 1) s
           WHERE p.program_id = s.program_id AND p.settings_version < s.settings_version""",
        program_id,
    )


async def record_closure(conn: asyncpg.Connection, e: ProgramClosed, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO closures (program_id, closed_at, at) VALUES ($1, $2, $3)
           ON CONFLICT (program_id) DO UPDATE SET closed_at = EXCLUDED.closed_at, at = EXCLUDED.at
           WHERE EXCLUDED.at < closures.at""",
        e.program_id,
        e.closed_at,
        at,
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


async def erase_participant(
    conn: asyncpg.Connection, program_id: str, participant_id: str, erased: dict[str, dict[str, Any]]
) -> None:
    """ParticipantErased: the person's facts, and the words about their pairs (a dissolution's reason, sessions'
    topics), take what their sealed fields read as once the keys are destroyed (`erased`: shared/sealing.SEALED's
    erased values by event type), in every row whatever its `at`, so the live tables equal a replay's. Rows stay:
    reports keep their counts, the person now in the "(erased)" cells."""
    profile = erased[ParticipantEnrolled.type_name]
    withdrawal = erased[ParticipantWithdrawn.type_name]
    their_pairs = "SELECT pair_id FROM pairs WHERE program_id = $1 AND $2 IN (mentor_id, mentee_id)"
    await conn.execute(
        f"UPDATE dissolutions SET reason = $3 WHERE pair_id IN ({their_pairs})",
        program_id,
        participant_id,
        erased[PairDissolved.type_name]["reason"],
    )
    await conn.execute(
        f"UPDATE sessions SET topics = $3 WHERE pair_id IN ({their_pairs})",
        program_id,
        participant_id,
        erased[SessionHeld.type_name]["topics"],
    )
    await conn.execute(
        "UPDATE profiles SET department = $3, birth_year = $4 WHERE program_id = $1 AND participant_id = $2",
        program_id,
        participant_id,
        profile["department"],
        profile["birth_year"],
    )
    await conn.execute(
        "UPDATE withdrawals SET reason = $3 WHERE program_id = $1 AND participant_id = $2",
        program_id,
        participant_id,
        withdrawal["reason"],
    )


async def record_pair(conn: asyncpg.Connection, e: PairFormed, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO pairs (pair_id, program_id, mentor_id, mentee_id, score, at, origin, proposed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING""",
        e.pair_id,
        e.program_id,
        e.mentor_id,
        e.mentee_id,
        e.score,
        at,
        e.origin,
        e.proposed_at,
    )


async def record_dissolution(conn: asyncpg.Connection, e: PairDissolved, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO dissolutions (pair_id, program_id, reason, at, reason_code) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (pair_id) DO UPDATE SET at = EXCLUDED.at, reason = EXCLUDED.reason,
               reason_code = EXCLUDED.reason_code
           WHERE EXCLUDED.at < dissolutions.at""",
        e.pair_id,
        e.program_id,
        e.reason,
        at,
        e.reason_code,
    )


async def record_session(conn: asyncpg.Connection, e: SessionHeld, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO sessions
               (session_id, program_id, pair_id, held_on, minutes, topics, learning_direction, at, goals_advanced)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING""",
        e.session_id,
        e.program_id,
        e.pair_id,
        e.held_on,
        e.minutes,
        list(e.topics),
        e.learning_direction,
        at,
        list(e.goals_advanced),
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


async def record_proposal(conn: asyncpg.Connection, e: PairProposed, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO proposals (pair_id, program_id, round_id, acceptance_mode, expires_at, at)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING""",
        e.pair_id,
        e.program_id,
        e.round_id,
        e.acceptance_mode,
        e.expires_at,
        at,
    )


async def record_answer(conn: asyncpg.Connection, e: ProposalAccepted | ProposalDeclined, at: datetime) -> None:
    """A member's earliest answer (answers are idempotent for the same member)."""
    declined = isinstance(e, ProposalDeclined)
    await conn.execute(
        """INSERT INTO proposal_answers (pair_id, participant_id, program_id, accepted, reason_code, at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (pair_id, participant_id) DO UPDATE SET accepted = EXCLUDED.accepted,
               reason_code = EXCLUDED.reason_code, at = EXCLUDED.at
           WHERE EXCLUDED.at < proposal_answers.at""",
        e.pair_id,
        e.participant_id,
        e.program_id,
        not declined,
        e.reason_code if isinstance(e, ProposalDeclined) else None,
        at,
    )


async def record_expiry(conn: asyncpg.Connection, e: ProposalExpired, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO proposal_expiries (pair_id, program_id, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING""",
        e.pair_id,
        e.program_id,
        at,
    )


async def record_couple_rule(
    conn: asyncpg.Connection, event_id: str, e: CouplePinned | CoupleExcluded | CoupleRuleLifted, at: datetime
) -> None:
    rule = e.rule if isinstance(e, CoupleRuleLifted) else "pin" if isinstance(e, CouplePinned) else "exclude"
    await conn.execute(
        """INSERT INTO couple_rules (event_id, program_id, mentor_id, mentee_id, rule, lifted, at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING""",
        event_id,
        e.program_id,
        e.mentor_id,
        e.mentee_id,
        rule,
        isinstance(e, CoupleRuleLifted),
        at,
    )


async def record_goals(conn: asyncpg.Connection, e: AgreementProposed, at: datetime) -> None:
    await conn.executemany(
        """INSERT INTO agreement_goals (pair_id, goal_id, program_id, direction, at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (pair_id, goal_id) DO UPDATE SET direction = EXCLUDED.direction, at = EXCLUDED.at
           WHERE EXCLUDED.at < agreement_goals.at""",
        [(e.pair_id, g.goal_id, e.program_id, g.direction, at) for g in e.goals],
    )


async def record_signature(conn: asyncpg.Connection, e: AgreementSigned, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO agreement_signatures (pair_id, agreement_version, signed_by, program_id, at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING""",
        e.pair_id,
        e.agreement_version,
        e.signed_by,
        e.program_id,
        at,
    )


async def record_agreement_in_force(conn: asyncpg.Connection, e: AgreementInForce, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO agreements_in_force (pair_id, agreement_version, program_id, cadence_days, duration_weeks,
               ends_on, at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING""",
        e.pair_id,
        e.agreement_version,
        e.program_id,
        e.cadence_days,
        e.duration_weeks,
        e.ends_on,
        at,
    )


async def record_completion_request(conn: asyncpg.Connection, e: CompletionRequested, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO completion_requests (pair_id, participant_id, program_id, at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (pair_id, participant_id) DO UPDATE SET at = EXCLUDED.at
           WHERE EXCLUDED.at < completion_requests.at""",
        e.pair_id,
        e.participant_id,
        e.program_id,
        at,
    )


async def record_completion(conn: asyncpg.Connection, e: PairCompleted, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO completions (pair_id, program_id, completed_by, completed_on, at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (pair_id) DO UPDATE SET completed_by = EXCLUDED.completed_by,
               completed_on = EXCLUDED.completed_on, at = EXCLUDED.at
           WHERE EXCLUDED.at < completions.at""",
        e.pair_id,
        e.program_id,
        e.completed_by,
        e.completed_on,
        at,
    )


async def record_reflection(conn: asyncpg.Connection, event_id: str, e: ReflectionRecorded, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO reflections (event_id, program_id, pair_id, participant_id, side, would_recommend, at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING""",
        event_id,
        e.program_id,
        e.pair_id,
        e.participant_id,
        e.side,
        e.would_recommend,
        at,
    )


async def record_training(conn: asyncpg.Connection, e: TrainingCompleted, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO training_completions (program_id, participant_id, module_id, module_version, at)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (program_id, participant_id, module_id, module_version) DO UPDATE SET at = EXCLUDED.at
           WHERE EXCLUDED.at < training_completions.at""",
        e.program_id,
        e.participant_id,
        e.module_id,
        e.module_version,
        at,
    )


async def record_recognition(conn: asyncpg.Connection, e: CertificateIssued | KudosGiven, at: datetime) -> None:
    """The earliest time wins: a redelivered certificate or kudos is the same one."""
    if isinstance(e, CertificateIssued):
        kind, participant, ref = "certificate", e.participant_id, e.certificate_id
    else:
        kind, participant, ref = "kudos", e.given_to, e.kudos_id
    await _recognition(conn, kind, e.program_id, e.pair_id, participant, ref, at)


async def record_story_choice(
    conn: asyncpg.Connection, event_id: str, e: StoryShared | StoryWithdrawn, at: datetime
) -> None:
    """Each choice is its own row (keyed by its event id): whether a member shares as of a date is their latest
    choice until then."""
    kind = "story" if isinstance(e, StoryShared) else "story_withdrawn"
    await _recognition(conn, kind, e.program_id, e.pair_id, e.participant_id, event_id, at)


async def _recognition(
    conn: asyncpg.Connection, kind: str, program_id: str, pair_id: str, participant: str, ref: str, at: datetime
) -> None:
    await conn.execute(
        """INSERT INTO recognitions (kind, program_id, pair_id, participant_id, ref, at) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (kind, pair_id, participant_id, ref) DO UPDATE SET at = EXCLUDED.at
           WHERE EXCLUDED.at < recognitions.at""",
        kind,
        program_id,
        pair_id,
        participant,
        ref,
        at,
    )


async def list_programs(db: Db) -> list[ProgramSummary]:
    rows = await db.fetch(
        """SELECT p.*, c.closed_at FROM programs p LEFT JOIN closures c ON c.program_id = p.program_id
           ORDER BY p.at, p.program_id"""
    )
    return [ProgramSummary(**asdict(_program(r))) for r in rows]


async def load_facts(pool: asyncpg.Pool, program_id: str, as_of: datetime) -> Facts | None:
    """One program's facts with event time at or before `as_of`, read from one consistent snapshot."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        args = (program_id, as_of)
        # The settings in force at as_of: the latest version known by then (the launch is version 1).
        program = await conn.fetchrow(
            """SELECT p.program_id, p.at, c.closed_at,
                   COALESCE(s.title, p.title) AS title, COALESCE(s.cadence_days, p.cadence_days) AS cadence_days,
                   COALESCE(s.duration_weeks, p.duration_weeks) AS duration_weeks,
                   COALESCE(s.targets, p.targets) AS targets, p.min_group_size
               FROM programs p
               LEFT JOIN closures c ON c.program_id = p.program_id AND c.at <= $2
               LEFT JOIN LATERAL (
                   SELECT * FROM program_settings WHERE program_id = p.program_id AND at <= $2
                   ORDER BY settings_version DESC LIMIT 1
               ) s ON true
               WHERE p.program_id = $1""",
            *args,
        )
        if program is None:
            return None
        profiles = await conn.fetch(
            "SELECT * FROM profiles WHERE program_id = $1 AND at <= $2 ORDER BY at, event_id", *args
        )
        withdrawals = await conn.fetch("SELECT * FROM withdrawals WHERE program_id = $1 AND at <= $2", *args)
        pairs = await conn.fetch(
            """SELECT p.*, d.at AS dissolved_at, d.reason_code, c.at AS completed_at, c.completed_by FROM pairs p
               LEFT JOIN dissolutions d ON d.pair_id = p.pair_id AND d.at <= $2
               LEFT JOIN completions c ON c.pair_id = p.pair_id AND c.at <= $2
               WHERE p.program_id = $1 AND p.at <= $2 ORDER BY p.at, p.pair_id""",
            *args,
        )
        sessions = await conn.fetch(
            "SELECT * FROM sessions WHERE program_id = $1 AND at <= $2 ORDER BY at, session_id", *args
        )
        feedback = await conn.fetch(
            "SELECT * FROM feedback WHERE program_id = $1 AND at <= $2 ORDER BY at, feedback_id", *args
        )
        proposals = await conn.fetch(
            "SELECT * FROM proposals WHERE program_id = $1 AND at <= $2 ORDER BY at, pair_id", *args
        )
        answers = await conn.fetch("SELECT * FROM proposal_answers WHERE program_id = $1 AND at <= $2", *args)
        expiries = await conn.fetch("SELECT * FROM proposal_expiries WHERE program_id = $1 AND at <= $2", *args)
        goals = await conn.fetch("SELECT * FROM agreement_goals WHERE program_id = $1 AND at <= $2", *args)
        agreements = await conn.fetch("SELECT * FROM agreements_in_force WHERE program_id = $1 AND at <= $2", *args)
        reflections = await conn.fetch(
            "SELECT * FROM reflections WHERE program_id = $1 AND at <= $2 ORDER BY at, event_id", *args
        )
        trainings = await conn.fetch(
            "SELECT * FROM training_completions WHERE program_id = $1 AND at <= $2 ORDER BY at", *args
        )
        recognitions = await conn.fetch(
            "SELECT * FROM recognitions WHERE program_id = $1 AND at <= $2 ORDER BY at", *args
        )
    return Facts(
        program=_program(program),
        profiles=[Profile(r["participant_id"], r["role"], r["department"], r["birth_year"], r["at"]) for r in profiles],
        withdrawals=[Withdrawal(r["participant_id"], r["at"]) for r in withdrawals],
        pairs=[
            Pair(
                r["pair_id"],
                r["mentor_id"],
                r["mentee_id"],
                r["at"],
                dissolved_at=r["dissolved_at"],
                origin=r["origin"],
                proposed_at=r["proposed_at"],
                dissolution_reason=r["reason_code"],
                completed_at=r["completed_at"],
                completed_by=r["completed_by"],
            )
            for r in pairs
        ],
        sessions=[
            Session(
                r["session_id"],
                r["pair_id"],
                r["held_on"],
                r["minutes"],
                tuple(r["topics"]),
                r["learning_direction"],
                r["at"],
                tuple(r["goals_advanced"]),
            )
            for r in sessions
        ],
        feedback=[Feedback(r["feedback_id"], r["pair_id"], r["side"], r["rating"], r["at"]) for r in feedback],
        proposals=[Proposal(r["pair_id"], r["acceptance_mode"], r["at"]) for r in proposals],
        answers=[Answer(r["pair_id"], r["participant_id"], r["accepted"], r["reason_code"], r["at"]) for r in answers],
        expiries=[Expiry(r["pair_id"], r["at"]) for r in expiries],
        goals=[Goal(r["pair_id"], r["goal_id"], r["direction"], r["at"]) for r in goals],
        agreements=[SignedAgreement(r["pair_id"], r["agreement_version"], r["at"]) for r in agreements],
        reflections=[Reflection(r["pair_id"], r["participant_id"], r["would_recommend"], r["at"]) for r in reflections],
        trainings=[
            TrainingCompletion(r["participant_id"], r["module_id"], r["module_version"], r["at"]) for r in trainings
        ],
        recognitions=[
            Recognition(r["kind"], r["pair_id"], r["participant_id"], r["ref"], r["at"]) for r in recognitions
        ],
    )


def _program(row: asyncpg.Record) -> Program:
    return Program(
        program_id=row["program_id"],
        title=row["title"],
        cadence_days=row["cadence_days"],
        duration_weeks=row["duration_weeks"],
        targets=json.loads(row["targets"]),
        launched_at=row["at"],
        closed_at=row["closed_at"],
        min_group_size=row["min_group_size"],
    )
