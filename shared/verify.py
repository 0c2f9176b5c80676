"""`tandem verify`: find edited, dropped, reordered and inserted events in an event store and in its Kafka topic.

Checks, per stream:
- event store: versions run 1, 2, 3… in position order; each row's hash matches its content and its
  prev_hash is the previous row's hash;
- Kafka: each record's ce_hash matches its headers and body; every event id exists in the store with the same
  hash; first deliveries run 1, 2, 3… (later repeats of the same event are at-least-once redeliveries);
  every event the relay has published is in the topic.
docs/auditing.md says what this can and cannot detect.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord

from shared import chain
from shared.db import check_identifier
from shared.envelope import Envelope, MalformedRecord
from shared.eventstore import LOG_START, LogCursor, StoredEvent, stored_event
from shared.logreader import read_topic
from shared.settings import KafkaSettings
from shared.topics import events_topic


@dataclass(frozen=True)
class Finding:
    copy: str  # "postgres:<schema>" or "kafka:<topic>"
    kind: str  # edited | dropped | reordered | inserted | malformed
    stream_id: str
    version: int | None
    where: str  # position in the store, or partition/offset in Kafka
    detail: str


async def read_store(conn: asyncpg.Connection, schema: str) -> list[StoredEvent]:
    rows = await conn.fetch(f"SELECT * FROM {schema}.events ORDER BY stream_id, version, position")
    return [stored_event(r) for r in rows]


def verify_store(events: list[StoredEvent], schema: str) -> list[Finding]:
    findings: list[Finding] = []
    by_stream: dict[str, list[StoredEvent]] = defaultdict(list)
    for e in events:
        by_stream[e.stream_id].append(e)
    copy = f"postgres:{schema}"
    for stream_id, stream in sorted(by_stream.items()):
        expected_version, expected_prev, last_position = 1, chain.GENESIS, 0
        for e in stream:
            where = f"position {e.position}"
            gap = e.version != expected_version
            if gap:
                findings.append(
                    Finding(
                        copy,
                        "dropped",
                        stream_id,
                        expected_version,
                        where,
                        f"versions {expected_version}..{e.version - 1} are missing",
                    )
                )
            if e.position < last_position:
                findings.append(
                    Finding(
                        copy, "reordered", stream_id, e.version, where, "recorded before the version that precedes it"
                    )
                )
            if chain.link(e.prev_hash, e.stream_id, e.version, e.event_id, e.type, e.data, e.recorded_at) != e.hash:
                findings.append(Finding(copy, "edited", stream_id, e.version, where, "content does not match its hash"))
            elif e.prev_hash != expected_prev and not gap:
                findings.append(
                    Finding(
                        copy,
                        "inserted",
                        stream_id,
                        e.version,
                        where,
                        "does not follow the previous event of its stream",
                    )
                )
            expected_version, expected_prev, last_position = e.version + 1, e.hash, e.position
    return findings


def verify_topic(
    records: list[ConsumerRecord], store: list[StoredEvent], topic: str, published_up_to: LogCursor | int
) -> list[Finding]:
    """`published_up_to`: the relay's cursor (a bare position means a log written in position order)."""
    if isinstance(published_up_to, int):
        published_up_to = LogCursor(0, published_up_to)
    findings: list[Finding] = []
    copy = f"kafka:{topic}"
    known = {e.event_id: e for e in store}
    first_seen: dict[str, dict[int, str]] = defaultdict(dict)  # stream -> version -> event id
    for r in records:
        where = f"partition {r.partition} offset {r.offset}"
        try:
            env = Envelope.from_kafka(r.headers, r.value)
        except MalformedRecord as error:
            findings.append(
                Finding(copy, "malformed", (r.key or b"").decode(errors="replace"), None, where, str(error))
            )
            continue
        stream, version = env.stream_id, env.stream_version
        recomputed = chain.link(env.prev_hash or "", stream, version, env.event_id, env.type, env.data, env.time)
        stored = known.get(env.event_id)
        if stored is None:
            findings.append(Finding(copy, "inserted", stream, version, where, "event id unknown to the event store"))
        elif recomputed != env.hash or env.hash != stored.hash:
            findings.append(Finding(copy, "edited", stream, version, where, "differs from the event store's event"))
        elif version in first_seen[stream]:
            if first_seen[stream][version] != env.event_id:
                findings.append(Finding(copy, "inserted", stream, version, where, "a second event for this version"))
        elif version != len(first_seen[stream]) + 1:
            findings.append(
                Finding(
                    copy, "reordered", stream, version, where, f"arrived before version {len(first_seen[stream]) + 1}"
                )
            )
        if stored is not None and version not in first_seen[stream]:
            first_seen[stream][version] = env.event_id
    published = {eid for versions in first_seen.values() for eid in versions.values()}
    for e in store:
        if e.log_position <= published_up_to and e.event_id not in published:
            findings.append(
                Finding(
                    copy,
                    "dropped",
                    e.stream_id,
                    e.version,
                    f"store position {e.position}",
                    "published by the relay but not in the topic",
                )
            )
    return findings


async def verify_service(dsn: str, kafka: KafkaSettings, service: str, schema: str | None = None) -> list[Finding]:
    """Both checks for one service: its event store, then its topic against the store.

    Read in this order, so a service still writing cannot produce a false finding: the relay's cursor (every event
    at or below it is on the topic by then), then the topic, then the store (which by then holds every event the
    topic does, the relay publishing committed events only)."""
    schema = check_identifier(schema or service)
    topic = events_topic(service, kafka.topic_prefix)
    conn = await asyncpg.connect(dsn)
    try:
        # A service never started here has no store yet: nothing to check in it, and any record its topic holds is
        # one no store accounts for (verify_topic reports it).
        started = not await conn.fetchval("SELECT to_regclass($1) IS NULL", f"{schema}.events")
        row = (
            await conn.fetchrow(f"SELECT last_xid, last_position FROM {schema}.relay_cursor WHERE topic = $1", topic)
            if started
            else None
        )
        cursor = LogCursor(row["last_xid"], row["last_position"]) if row else LOG_START
        consumer = AIOKafkaConsumer(**kafka.client_options(), enable_auto_commit=False)
        await consumer.start()
        try:
            records = await read_topic(consumer, topic)
        finally:
            await consumer.stop()
        store = await read_store(conn, schema) if started else []
    finally:
        await conn.close()
    return verify_store(store, schema) + verify_topic(records, store, topic, cursor)
