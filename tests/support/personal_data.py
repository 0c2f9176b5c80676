"""Search everything a test run wrote — every PostgreSQL table and every Kafka record — for strings: one scan
finds any of several (each scan reads everything, so a test looking for six strings asks once, not six times).

The compacted contacts topic (docs/adr/0008) is searched as the broker keeps it: only the newest record of each
key. An erased person's newest record is a tombstone, and the broker removes the superseded ones within the topic's
`max.compaction.lag.ms` (shared/topics.py); no test waits a day for the log cleaner, so the scan applies the same rule.
"""

from __future__ import annotations

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient

from shared.topics import contacts_topic
from tests.support.kafka_log import KafkaLog


async def tables_containing(dsn: str, *needles: str) -> list[str]:
    """The tables holding any of `needles` (case-insensitive)."""
    patterns = [f"%{needle}%" for needle in needles]
    conn = await asyncpg.connect(dsn)
    try:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        )
        hits = []
        for t in tables:
            name = f'"{t["table_schema"]}"."{t["table_name"]}"'
            if await conn.fetchval(f"SELECT count(*) FROM {name} r WHERE r::text ILIKE ANY($1::text[])", patterns):
                hits.append(name)
        return hits
    finally:
        await conn.close()


async def records_containing(bootstrap_servers: str, topic_prefix: str, *needles: str) -> list[str]:
    """The records (topic:partition@offset) whose value, key or headers hold any of `needles` (case-insensitive)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith(f"{topic_prefix}.")]
    finally:
        await admin.close()
    hits = []
    wanted = [needle.lower().encode() for needle in needles]
    async with KafkaLog(bootstrap_servers) as log:
        for topic in topics:
            records = await log.records(topic)
            if topic == contacts_topic(topic_prefix):
                newest = {(r.partition, r.key): r for r in records}  # in offset order: the last one per key stays
                records = list(newest.values())
            for r in records:
                blob = (r.value or b"") + (r.key or b"") + b"".join(v for _, v in r.headers or ())
                lowered = blob.lower()
                if any(raw in lowered for raw in wanted):
                    hits.append(f"{topic}:{r.partition}@{r.offset}")
    return hits


async def opened_event_bodies(dsn: str, bootstrap_servers: str, topic_prefix: str) -> list[tuple[str, dict, dict]]:
    """Every event on the run's topics whose type seals fields (shared/sealing.SEALED), as (type, body as on Kafka,
    body opened with every key that still exists in `keys.subject_keys`): what anyone holding the master keys
    could read from the log."""
    from shared import sealing
    from shared.envelope import Envelope
    from shared.topics import events_topic

    bodies = []
    async with KafkaLog(bootstrap_servers) as log:
        for service in sorted({type_name.split(".")[1] for type_name in sealing.SEALED}):
            for r in await log.records(events_topic(service, topic_prefix)):
                envelope = Envelope.from_kafka(r.headers, r.value)
                if envelope.type in sealing.SEALED:
                    bodies.append((envelope.type, envelope.data))
    return list(zip([t for t, _ in bodies], [d for _, d in bodies], await opened(dsn, bodies), strict=True))


async def opened(dsn: str, bodies: list[tuple[str, dict]]) -> list[dict]:
    """The (type, body) bodies with their sealed fields opened with the keys that exist in `keys.subject_keys`."""
    from shared import sealing
    from shared.keys import MasterKeys, PostgresKeyStore

    conn = await asyncpg.connect(dsn)
    try:
        ring = await PostgresKeyStore(MasterKeys.from_settings()).keys(
            conn, sealing.sealed_subjects(bodies), create=False
        )
    finally:
        await conn.close()
    return [sealing.unseal(t, data, ring) for t, data in bodies]
