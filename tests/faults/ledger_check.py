"""Every acknowledged effect looked up where it must be: the publisher's event store, its Kafka topic, and every
read model built from it. Lost: missing from any of them; doubled: more than once in an event store or a read
model. Kafka itself is at-least-once (a relay killed after sending, before saving its cursor, sends again; consumers
skip event ids they applied), so extra copies there are counted as redelivered, not doubled."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import asyncpg

from shared.topics import events_topic
from tests.faults.load import Effect
from tests.support.kafka_log import KafkaLog


@dataclass(frozen=True)
class Where:
    """One place an effect of a kind must be, once: a table (schema.table) and the column holding its id."""

    table: str
    column: str
    condition: str = "true"


@dataclass(frozen=True)
class Kind:
    publisher: str
    event_type: str
    id_field: str  # in the event's data
    read_models: tuple[Where, ...]


KINDS = {
    "program": Kind(
        "enrolment",
        "tandem.enrolment.program-launched.v1",
        "program_id",
        (Where("matching.pool_programs", "program_id"), Where("insights.programs", "program_id")),
    ),
    "participant": Kind(
        "enrolment",
        "tandem.enrolment.participant-enrolled.v1",
        "participant_id",
        (
            Where("matching.pool_candidates", "participant_id"),
            Where("insights.profiles", "participant_id", "kind = 'enrolled'"),
        ),
    ),
    "pair": Kind(
        "matching",
        "tandem.matching.pair-formed.v1",
        "pair_id",
        (Where("sessions.pairs", "pair_id"), Where("insights.pairs", "pair_id")),
    ),
    "session": Kind(
        "sessions", "tandem.sessions.session-held.v1", "session_id", (Where("insights.sessions", "session_id"),)
    ),
    "feedback": Kind(
        "sessions", "tandem.sessions.feedback-given.v1", "feedback_id", (Where("insights.feedback", "feedback_id"),)
    ),
}


@dataclass
class Findings:
    lost: dict[Effect, list[str]] = field(default_factory=dict)  # effect -> where it is missing
    doubled: dict[Effect, list[str]] = field(default_factory=dict)  # effect -> where it is more than once
    redelivered: int = 0  # extra copies on Kafka (allowed: at-least-once)

    @property
    def clean(self) -> bool:
        return not self.lost and not self.doubled


async def _counts(conn: asyncpg.Connection, sql: str, ids: list[str]) -> Counter:
    try:
        return Counter({row[0]: row[1] for row in await conn.fetch(sql, ids)})
    except asyncpg.UndefinedTableError:
        return Counter()


async def check(effects: list[Effect], database_url: str, kafka: str, prefix: str) -> Findings:
    findings = Findings()
    by_kind: dict[str, list[Effect]] = defaultdict(list)
    for effect in effects:
        by_kind[effect.kind].append(effect)
    on_kafka = await _kafka_ids(kafka, prefix)
    conn = await asyncpg.connect(database_url, timeout=10)
    try:
        for kind_name, kind_effects in by_kind.items():
            kind = KINDS[kind_name]
            ids = [e.id for e in kind_effects]
            places: dict[str, Counter] = {
                f"{kind.publisher} event store": await _counts(
                    conn,
                    f"SELECT data->>'{kind.id_field}', count(*) FROM {kind.publisher}.events "
                    f"WHERE type = '{kind.event_type}' AND data->>'{kind.id_field}' = ANY($1) GROUP BY 1",
                    ids,
                ),
                f"kafka {events_topic(kind.publisher, prefix)}": on_kafka[(kind.event_type, kind.id_field)],
            }
            for where in kind.read_models:
                places[where.table] = await _counts(
                    conn,
                    f"SELECT {where.column}, count(*) FROM {where.table} "
                    f"WHERE {where.column} = ANY($1) AND {where.condition} GROUP BY 1",
                    ids,
                )
            for effect in kind_effects:
                for place, counts in places.items():
                    seen = counts[effect.id]
                    if seen == 0:
                        findings.lost.setdefault(effect, []).append(place)
                    elif seen > 1 and place.startswith("kafka"):
                        findings.redelivered += seen - 1
                    elif seen > 1:
                        findings.doubled.setdefault(effect, []).append(place)
    finally:
        await conn.close()
    return findings


async def _kafka_ids(kafka: str, prefix: str) -> dict[tuple[str, str], Counter]:
    """(event type, id field) -> how many records on the publishers' topics carry each id."""
    found: dict[tuple[str, str], Counter] = defaultdict(Counter)
    wanted = {(k.event_type, k.id_field) for k in KINDS.values()}
    async with KafkaLog(kafka) as log:
        for publisher in sorted({k.publisher for k in KINDS.values()}):
            for record in await log.records(events_topic(publisher, prefix)):
                headers = {name: raw.decode(errors="replace") for name, raw in record.headers or ()}
                try:
                    data = json.loads(record.value or b"null")
                except ValueError:
                    continue  # a poison record the suite produced
                for event_type, id_field in wanted:
                    if headers.get("ce_type") == event_type and isinstance(data, dict) and id_field in data:
                        found[(event_type, id_field)][data[id_field]] += 1
    return found
