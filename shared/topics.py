"""Topic names and topic creation. The event topics are the permanent, shared event log (ARCHITECTURE §2):
never compacted, never expiring, created by the platform rather than by broker auto-create. One topic is not part
of that log: enrolment's contact details (`<prefix>.enrolment.contacts`, docs/adr/0008) are personal data, so that
topic is compacted (the newest record per participant is kept) and a tombstone on erasure removes them."""

from __future__ import annotations

import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.events import EVENT_TYPES
from shared.settings import KafkaSettings

log = logging.getLogger(__name__)

# The event contracts name their publisher, so the topics follow from them: a new publisher needs no edit here.
SERVICES_THAT_PUBLISH = tuple(sorted({event.service for event in EVENT_TYPES.values()}))


def events_topic(service: str, prefix: str = "tandem") -> str:
    """The one topic a service publishes all its events to, keyed by stream id."""
    return f"{prefix}.{service}.events"


def dead_letter_topic(prefix: str = "tandem") -> str:
    return f"{prefix}.deadletter"


def contacts_topic(prefix: str = "tandem") -> str:
    """Participants' contact details, keyed by participant id, compacted, tombstoned on erasure (shared/contacts.py)."""
    return f"{prefix}.enrolment.contacts"


def platform_topics(prefix: str = "tandem") -> list[str]:
    return [events_topic(s, prefix) for s in SERVICES_THAT_PUBLISH] + [
        dead_letter_topic(prefix),
        contacts_topic(prefix),
    ]


def topic_config(settings: KafkaSettings, name: str = "") -> dict[str, str]:
    if name == contacts_topic(settings.topic_prefix):
        # Compacted: only the newest record of each participant stays, and a tombstone (null value) removes the
        # key after delete.retention.ms, so an erased person's details leave the broker, not only our tables.
        return {
            "cleanup.policy": "compact",
            "delete.retention.ms": "86400000",
            "min.compaction.lag.ms": "0",
            "max.compaction.lag.ms": "86400000",  # a day at most before a superseded record is compacted away
            "min.insync.replicas": str(settings.topic_min_insync_replicas),
        }
    return {
        "cleanup.policy": "delete",
        "retention.ms": "-1",
        "retention.bytes": "-1",
        "min.insync.replicas": str(settings.topic_min_insync_replicas),
    }


async def create_topics(settings: KafkaSettings, names: list[str] | None = None) -> list[str]:
    """Create the topics that do not exist yet; return the ones created. Safe to run again."""
    names = names if names is not None else platform_topics(settings.topic_prefix)
    admin = AIOKafkaAdminClient(**settings.client_options())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                n,
                settings.topic_partitions,
                settings.topic_replication_factor,
                topic_configs=topic_config(settings, n),
            )
            for n in names
            if n not in existing
        ]
        if wanted:
            try:
                await admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                log.info("topics created concurrently by another process")
        for topic in wanted:
            log.info("created topic %s (%d partitions)", topic.name, topic.num_partitions)
        return [t.name for t in wanted]
    finally:
        await admin.close()
