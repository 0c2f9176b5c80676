"""The private path of contact details (docs/adr/0008): enrolment publishes each participant's display name,
e-mail and time zone to the compacted topic `<prefix>.enrolment.contacts`, keyed by participant id; notifications
keeps them in its `contacts` table. A record with no value (a tombstone) says enrolment holds nothing on that
person any more: every reader deletes what it kept.

These records are not events: they are personal data, outside the permanent log (shared/events.py carries none),
and a reader needs only the newest one per key. No employee id travels here."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ContactDetails(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")  # a newer enrolment may add fields

    participant_id: str = Field(max_length=128)
    display_name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    time_zone: str = Field("UTC", max_length=64)


def record(participant_id: str, details: ContactDetails | None) -> tuple[bytes, bytes | None]:
    """The Kafka key and value of a participant's contact details; value None is the tombstone."""
    return participant_id.encode(), details.model_dump_json().encode() if details else None


def read(value: bytes | None) -> ContactDetails | None:
    """The details a record holds, or None for a tombstone. Raises pydantic's ValidationError for a bad record."""
    return None if value is None else ContactDetails.model_validate_json(value)
