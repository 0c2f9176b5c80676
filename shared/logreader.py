"""Reading a whole topic from offset 0 with a group-less consumer: for audits, verification and tests."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.cluster import ClusterMetadata
from aiokafka.protocol.metadata import MetadataRequest


async def partitions_of(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    # A consumer outside a group has no topic metadata yet; aiokafka offers no public call fetching it. Only this
    # topic's: a shared cluster may hold thousands, and reading all of 1 863 took 200 ms of the event loop, which a
    # service's status sampler did every 15 s (a stall every request in flight waited for). First one request that
    # may not create the topic: aiokafka's own metadata requests allow it, so on a broker with
    # auto.create.topics.enable (Kafka's default) asking for a missing topic would create it with the broker's
    # partition count. Only a topic that exists is then tracked by the client, for the leaders the offsets need.
    client = consumer._client
    response = await client.send(client.get_random_node(), MetadataRequest([topic], allow_auto_topic_creation=False))
    existing = ClusterMetadata()
    existing.update_metadata(response)
    found = existing.partitions_for_topic(topic)
    if not found:
        raise LookupError(f"topic {topic} does not exist; create it with `tandem topics create`")
    await client.add_topic(topic)
    return [TopicPartition(topic, p) for p in sorted(found)]


async def read_topic(consumer: AIOKafkaConsumer, topic: str) -> list[ConsumerRecord]:
    """Every record now in `topic`, partition by partition in offset order."""
    partitions = await partitions_of(consumer, topic)
    ends = await consumer.end_offsets(partitions)
    starts = await consumer.beginning_offsets(partitions)  # above 0 only if someone deleted records
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    found: dict[TopicPartition, list[ConsumerRecord]] = {tp: [] for tp in partitions}
    while any(len(found[tp]) < ends[tp] - starts[tp] for tp in partitions):
        batch = await consumer.getmany(timeout_ms=1000)
        for tp, records in batch.items():
            found[tp].extend(r for r in records if r.offset < ends[tp])
    return [r for tp in partitions for r in found[tp]]
