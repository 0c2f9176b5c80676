"""Reading Kafka records (shared/records.py, behind `Envelope.from_kafka`): every body reads exactly as the standard
library's JSON reads it (orjson is only the fast path), and events as `Envelope.event` reads them: same envelope,
same event, same refusals."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from shared.envelope import Envelope, MalformedRecord
from shared.records import envelope_of, typed_event
from tests.support.kafka_log import withdrawal

GOOD = replace(withdrawal("s1", 3), correlation_id="c-1", causation_id="e-0", position=42, extra_headers={"x-k": "v"})


def headers_without(name: str) -> list[tuple[str, bytes]]:
    return [(k, v) for k, v in GOOD.kafka_headers() if k != name]


RECORDS = {
    "an event": (GOOD.kafka_headers(), GOOD.kafka_value()),
    "NaN in the body (not JSON: refused)": (GOOD.kafka_headers(), b'{"program_id": NaN}'),
    "an integer past 64 bits": (GOOD.kafka_headers(), b'{"program_id": 123456789012345678901234567890}'),
    "a lone surrogate": (GOOD.kafka_headers(), b'{"program_id": "\\ud800"}'),
    "not JSON": (GOOD.kafka_headers(), b"\x00garbage"),
    "not an object": (GOOD.kafka_headers(), b"[1, 2]"),
    "no body": (GOOD.kafka_headers(), None),
    "a missing header": (headers_without("ce_source"), GOOD.kafka_value()),
    "another spec version": ([*headers_without("ce_specversion"), ("ce_specversion", b"0.3")], GOOD.kafka_value()),
    "a header that is not UTF-8": ([*GOOD.kafka_headers(), ("x-bin", b"\xff")], GOOD.kafka_value()),
    "an unreadable time": ([*headers_without("ce_time"), ("ce_time", b"yesterday")], GOOD.kafka_value()),
    "a schema mismatch": (GOOD.kafka_headers(), b'{"program_id": 42}'),
}


def outcome(read_envelope, read_event, headers, value):
    try:
        envelope = read_envelope(headers, value)
    except MalformedRecord as error:
        return "refused", str(error)
    try:
        return envelope, read_event(envelope)
    except MalformedRecord as error:
        return envelope, ("refused", str(error).split("\n")[0])


@pytest.mark.parametrize("headers, value", RECORDS.values(), ids=RECORDS.keys())
def test_a_record_reads_as_the_envelope_reads_it(headers, value):
    expected = outcome(Envelope.from_kafka, Envelope.event, headers, value)
    assert outcome(envelope_of, typed_event, headers, value) == expected


READABLE = {
    k: v
    for k, v in RECORDS.items()
    if k
    in {
        "an event",
        "an integer past 64 bits",
        "a lone surrogate",
        "a schema mismatch",
    }
}


@pytest.mark.parametrize("headers, value", READABLE.values(), ids=READABLE.keys())
def test_a_body_reads_as_the_standard_library_reads_it(headers, value):
    data = envelope_of(headers, value).data
    assert json.dumps(data, sort_keys=True) == json.dumps(json.loads(value), sort_keys=True)


@pytest.mark.parametrize(
    "name",
    [
        "NaN in the body (not JSON: refused)",
        "not JSON",
        "not an object",
        "no body",
        "a missing header",
        "another spec version",
    ],
)
def test_what_is_not_a_tandem_record_is_refused(name):
    with pytest.raises(MalformedRecord):
        envelope_of(*RECORDS[name])


def test_an_event_reads_with_every_attribute():
    envelope = envelope_of(GOOD.kafka_headers(), GOOD.kafka_value())
    assert envelope == replace(GOOD, time=envelope.time) and envelope.time == GOOD.time
    assert typed_event(envelope) == GOOD.event()
