"""The relay builds Kafka records straight from stored rows; they must be the records `Envelope` describes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given
from hypothesis import strategies as st

from shared.envelope import Envelope
from shared.eventstore import stored_event
from shared.relay import kafka_record, partition_of


def row(metadata: dict) -> dict:
    # jsonb as PostgreSQL renders it: ", " and ": " separators, keys in its own order.
    return {
        "position": 42,
        "stream_id": "prg-1:p-7",
        "version": 3,
        "event_id": "0b6f3a40-6f43-4c9c-9d53-6b3c3a4b7a11",
        "type": "ParticipantWithdrawn",
        "data": '{"reason": "moved, \\"abroad\\"", "program_id": "prg-1", "participant_id": "p-7"}',
        "metadata": json.dumps(metadata),
        "recorded_at": datetime(2026, 11, 27, 23, 30, 1, 123456, tzinfo=UTC),
        "prev_hash": "a" * 64,
        "hash": "b" * 64,
        "log_xid": 9001,
        **{name: metadata.get(name) for name in ("correlation_id", "causation_id", "traceparent", "tracestate")},
    }


@pytest.mark.parametrize(
    "metadata",
    [
        {},
        {"correlation_id": "c-1", "causation_id": "e-0"},
        {"correlation_id": "c-1", "traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01", "tracestate": "k=v"},
    ],
)
def test_the_relays_record_is_the_envelopes_record_with_the_body_as_stored(metadata):
    stored = row(metadata)
    fast = kafka_record(stored, b"tandem/enrolment", {})
    slow = stored_event(stored).envelope("tandem/enrolment").kafka_record()
    assert fast["key"] == slow["key"] and fast["headers"] == slow["headers"]
    assert fast["value"] == stored["data"].encode()  # not decoded and re-encoded
    assert json.loads(fast["value"]) == json.loads(slow["value"])
    back = Envelope.from_kafka(fast["headers"], fast["value"])
    assert back.event_id == stored["event_id"] and back.position == 42 and back.hash == "b" * 64


@given(key=st.binary(min_size=1, max_size=64), partitions=st.integers(min_value=1, max_value=64))
def test_the_relay_partitions_a_key_as_kafkas_default_partitioner_does(key, partitions):
    # The relay names the partition itself (computed once per stream); a redrive, and any other producer, lets the
    # default partitioner choose. They must agree, or a stream's events would be split across partitions.
    assert partition_of(key, partitions) == DefaultPartitioner()(key, list(range(partitions)), [])
