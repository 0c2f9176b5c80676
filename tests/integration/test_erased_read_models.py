"""After ParticipantErased the live read models hold exactly what a replay builds from a log whose key for the
person is destroyed (issue #19): matching's pool and insights' facts, on PostgreSQL. The "replayed" schema applies
the same events with their bodies as `shared.sealing.seal` makes them under an empty key ring (the erased values);
the live one applies the real bodies, then the erasure. `shared.replay.compare` digests both schemas' tables."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from services.insights.entrypoints.facts_consumer import FactsProjection
from services.matching.entrypoints.pool_consumer import PoolProjection
from shared.db import create_pool, migrate, migration_files
from shared.envelope import Envelope
from shared.events import (
    Event,
    PairDissolved,
    PairFormed,
    ParticipantEnrolled,
    ParticipantErased,
    ParticipantProfileUpdated,
    ParticipantWithdrawn,
    ProgramLaunched,
    SessionHeld,
)
from shared.keys import KeyRing
from shared.projection import TRACKING_MIGRATIONS, Projection
from shared.replay import compare, projection_tables
from shared.sealing import seal
from tests.support.kafka_log import envelope_of

T0 = datetime(2026, 2, 1, 9, tzinfo=UTC)
ERASED_ONE = ("prg-1", "p-erased")
ERASED_PAIR = ("pair-erased", "p-colleague", "erased")  # the erased person's pair: its id, mentor, its words' mark


def profile(program_id: str, participant_id: str, kind: type[ParticipantEnrolled] | type[ParticipantProfileUpdated]):
    return kind(
        program_id=program_id,
        participant_id=participant_id,
        role="mentee",
        grade=8,
        birth_year=1968 if kind is ParticipantEnrolled else 1969,
        department="Finance" if kind is ParticipantEnrolled else "Legal",
        time_zone="Europe/Vienna",
        languages=("de", "en"),
        reporting_chain=("p-boss",),
        skills_offered=("budgets",),
        skills_wanted=("ai",),
        focus_areas=("digital",),
        communication_style="direct",
    )


def the_log() -> list[tuple[Envelope, Event]]:
    """A program; the erased person enrolled, updated, withdrawn with a reason, erased; a colleague; and the same
    pseudonym in another program (an erasure is per program)."""
    events: list[tuple[str, Event]] = [
        ("program-prg-1", ProgramLaunched(program_id="prg-1", title="Leaders", cadence_days=14, duration_weeks=26))
    ]
    for program_id, participant_id in (ERASED_ONE, ("prg-1", "p-colleague"), ("prg-2", "p-erased")):
        stream = f"participant-{program_id}-{participant_id}"
        events += [
            (stream, profile(program_id, participant_id, ParticipantEnrolled)),
            (stream, profile(program_id, participant_id, ParticipantProfileUpdated)),
            (stream, ParticipantWithdrawn(program_id=program_id, participant_id=participant_id, reason="new job")),
        ]
    for pair_id, mentor, words in (ERASED_PAIR, ("pair-kept", "p-colleague", "kept")):
        stream = f"pair-{pair_id}"
        formed = PairFormed(
            program_id="prg-1",
            pair_id=pair_id,
            round_id="r-1",
            mentor_id=mentor,
            mentee_id="p-erased",
            score=1.0,
            breakdown={},
        )
        if pair_id == "pair-kept":
            formed = formed.model_copy(update={"mentee_id": "p-someone"})
        held = SessionHeld(
            program_id="prg-1",
            pair_id=pair_id,
            session_id=f"s-{pair_id}",
            held_on=T0.date(),
            minutes=30,
            topics=(f"{words} merger", f"{words} tiktok"),
            learning_direction="both",
            logged_by=mentor,
            logged_at=T0,
        )
        dissolved = PairDissolved(program_id="prg-1", pair_id=pair_id, reason=f"{words} clash at the offsite")
        events += [(stream, formed), (f"pair-sessions-{pair_id}", held), (stream, dissolved)]
    events.append(
        (
            f"participant-{ERASED_ONE[0]}-{ERASED_ONE[1]}",
            ParticipantErased(program_id="prg-1", participant_id="p-erased"),
        )
    )
    versions: dict[str, int] = {}
    log = []
    for n, (stream, event) in enumerate(events):
        versions[stream] = versions.get(stream, 0) + 1
        log.append((envelope_of(event, stream, versions[stream], time=T0 + timedelta(hours=n)), event))
    return log


def keyless(envelope: Envelope, event: Event) -> tuple[Envelope, Event]:
    """The event as a replay reads it once the erased person's key, and their pairs' keys, are destroyed."""
    program_id = getattr(event, "program_id", None)
    theirs = (program_id, getattr(event, "participant_id", None)) == ERASED_ONE
    their_pairs = (program_id, getattr(event, "pair_id", None)) == (ERASED_ONE[0], ERASED_PAIR[0])
    if not (theirs or their_pairs):
        return envelope, event
    data = seal(event.type_name, envelope.data, KeyRing())
    return replace(envelope, data=data), type(event).model_validate(data)


async def build(dsn: str, projection: Projection, log: list[tuple[Envelope, Event]]) -> tuple[asyncpg.Pool, str]:
    schema = f"erased_{uuid.uuid4().hex[:10]}"
    pool = await create_pool(dsn, schema, max_size=2)
    assert projection.migrations is not None
    await migrate(pool, schema, migration_files(TRACKING_MIGRATIONS, projection.migrations))
    await apply(pool, projection, log)
    return pool, schema


async def apply(pool: asyncpg.Pool, projection: Projection, log: list[tuple[Envelope, Event]]) -> None:
    for envelope, event in log:
        if event.type_name in projection.handles:
            async with pool.acquire() as conn, conn.transaction():
                await projection.apply(conn, envelope, event)


async def counts(pool: asyncpg.Pool, schema: str, tables: list[str]) -> dict[str, int]:
    return {t: await pool.fetchval(f"SELECT count(*) FROM {schema}.{t}") for t in tables}


THEIR_WORDS = ("Finance", "Legal", "Vienna", "1968", "1969", "budgets", "strategy", "digital", "direct", "new job")


async def their_rows(pool: asyncpg.Pool, schema: str, tables: list[str]) -> str:
    """Every row of the erased person's, as text, from the tables that name a participant of a program."""
    rows = []
    for table in tables:
        columns = {
            r["column_name"]
            for r in await pool.fetch(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2",
                schema,
                table,
            )
        }
        if {"program_id", "participant_id"} <= columns:
            rows += [
                r["t"]
                for r in await pool.fetch(
                    f"SELECT t::text AS t FROM {schema}.{table} t WHERE program_id = $1 AND participant_id = $2",
                    *ERASED_ONE,
                )
            ]
    return "|".join(rows)


async def all_rows(pool: asyncpg.Pool, schema: str, tables: list[str]) -> str:
    rows = []
    for table in tables:
        rows += [r["t"] for r in await pool.fetch(f"SELECT t::text AS t FROM {schema}.{table} t")]
    return "|".join(rows)


@pytest.mark.parametrize("projection", [PoolProjection(), FactsProjection()], ids=lambda p: p.name)
async def test_after_an_erasure_the_live_read_model_equals_a_replay_without_the_key(dsn, projection):
    log = the_log()
    tables = projection_tables(projection)
    live, live_schema = await build(dsn, projection, log[:-1])
    replayed, replayed_schema = await build(dsn, projection, [keyless(*e) for e in log])
    try:
        before = await counts(live, live_schema, tables)
        assert not all(c.identical for c in await compare(live, live_schema, replayed_schema, tables))
        assert "Legal" in await their_rows(live, live_schema, tables), "the live rows held their profile"
        if projection.name == FactsProjection.name:
            held = await all_rows(live, live_schema, tables)
            assert "erased merger" in held and "erased clash" in held, "the live rows held their pair's words"
        await apply(live, projection, log[-1:])  # ParticipantErased
        comparisons = await compare(live, live_schema, replayed_schema, tables)
        assert [c.table for c in comparisons if not c.identical] == []
        assert await counts(live, live_schema, tables) == before, "an erasure removes no row: counts stay"
        rows = await their_rows(live, live_schema, tables)
        assert rows and not [word for word in THEIR_WORDS if word in rows], rows
        everything = await all_rows(live, live_schema, tables)
        assert "erased merger" not in everything and "erased clash" not in everything, "words about their pair"
        if projection.name == FactsProjection.name:
            assert "kept merger" in everything and "kept clash" in everything, "another pair's words stay"
    finally:
        for pool, schema in ((live, live_schema), (replayed, replayed_schema)):
            await pool.execute(f"DROP SCHEMA {schema} CASCADE")
            await pool.close()
