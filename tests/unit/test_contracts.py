import re
import uuid
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from shared.envelope import Envelope, MalformedRecord
from shared.events import EVENT_TYPES, FeedbackGiven, SessionHeld, UnknownEventType, event_class
from tests.support.kafka_log import withdrawal

PERSONAL_FIELD = re.compile(r"(^|_)(name|email|e_mail|mail|phone|display)($|_)")


def test_every_event_type_is_versioned_and_named_after_its_service():
    for type_name, cls in EVENT_TYPES.items():
        assert re.fullmatch(rf"tandem\.{cls.service}\.[a-z-]+\.v\d+", type_name)


def test_no_event_has_a_field_for_a_name_or_an_email_address():
    offending = [
        f"{cls.__name__}.{f}" for cls in EVENT_TYPES.values() for f in cls.model_fields if PERSONAL_FIELD.search(f)
    ]
    assert offending == []


def test_events_refuse_unknown_fields_so_personal_data_cannot_slip_in():
    with pytest.raises(ValidationError):
        FeedbackGiven(
            program_id="p",
            pair_id="x",
            feedback_id="f",
            given_by="a",
            side="mentor",
            rating=5,
            would_continue=True,
            email="someone@example.com",
        )


def test_rating_outside_one_to_five_is_rejected():
    with pytest.raises(ValidationError):
        FeedbackGiven(
            program_id="p",
            pair_id="x",
            feedback_id="f",
            given_by="a",
            side="mentee",
            rating=6,
            would_continue=False,
        )


def test_envelope_round_trips_through_kafka_headers_and_body():
    envelope = withdrawal("participant-7", 3)
    back = Envelope.from_kafka(envelope.kafka_headers(), envelope.kafka_value())
    assert back == envelope
    assert back.event() == envelope.event()


def test_headers_follow_cloudevents_binary_mode():
    headers = dict(withdrawal("s1", 1).kafka_headers())
    assert headers["ce_specversion"] == b"1.0"
    assert headers["content-type"] == b"application/json"
    assert {"ce_id", "ce_type", "ce_source", "ce_subject", "ce_time"} <= headers.keys()


def test_session_event_json_carries_dates_as_iso_strings():
    event = SessionHeld(
        program_id="p",
        pair_id="x",
        session_id="s",
        held_on=date(2026, 1, 2),
        minutes=30,
        learning_direction="both",
        logged_by="a",
        logged_at=datetime(2026, 1, 2, tzinfo=UTC),
    )
    assert event.model_dump(mode="json")["held_on"] == "2026-01-02"


@pytest.mark.parametrize(
    "headers, body",
    [
        ([], b"{}"),
        ([("ce_id", b"1")], b"{}"),
        (withdrawal("s", 1).kafka_headers(), b"not json"),
        (withdrawal("s", 1).kafka_headers(), b"[1, 2]"),
        ([(n, v) for n, v in withdrawal("s", 1).kafka_headers() if n != "ce_specversion"], b"{}"),
    ],
)
def test_records_that_are_not_tandem_cloudevents_are_malformed(headers, body):
    with pytest.raises(MalformedRecord):
        Envelope.from_kafka(headers, body)


def test_a_known_type_with_a_body_that_breaks_its_schema_is_malformed():
    envelope = withdrawal("s", 1)
    broken = Envelope.from_kafka(envelope.kafka_headers(), b'{"program_id": 5}')
    with pytest.raises(MalformedRecord):
        broken.event()


def test_an_unknown_type_is_reported_as_unknown_not_malformed():
    with pytest.raises(UnknownEventType):
        event_class(f"tandem.enrolment.{uuid.uuid4().hex}.v1")
