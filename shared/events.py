"""Tandem's public event contracts: what subscribers read from the Kafka log.

Every event is a past-tense, immutable pydantic model with a versioned CloudEvents type. Events carry
pseudonymous participant ids only: names and e-mail addresses stay in enrolment's own store where they can be
erased (ARCHITECTURE §3), so no field here may hold a direct identifier.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["mentor", "mentee", "both"]
LearningDirection = Literal["mentor_to_mentee", "mentee_to_mentor", "both"]


class Event(BaseModel):
    """Base of every domain event. `type_name` is the CloudEvents `type`; `service` names the publisher."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    service: ClassVar[str]
    type_name: ClassVar[str]


class ProgramLaunched(Event):
    service = "enrolment"
    type_name = "tandem.enrolment.program-launched.v1"

    program_id: str
    title: str = Field(description="The program's title, e.g. 'Digital leaders 2027'.")
    objectives: str = ""
    targets: dict[str, float] = Field(default_factory=dict, description="Measurable targets by metric name.")
    cadence_days: int = Field(ge=1)
    duration_weeks: int = Field(ge=1)
    focus_areas: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    matching_weights: dict[str, float] = Field(default_factory=dict)
    optimize_for: Literal["score", "participation"] = "score"


class ParticipantEnrolled(Event):
    service = "enrolment"
    type_name = "tandem.enrolment.participant-enrolled.v1"

    program_id: str
    participant_id: str = Field(description="Pseudonymous id; never an employee number, name or e-mail.")
    role: Role
    grade: int
    birth_year: int
    department: str
    time_zone: str
    languages: tuple[str, ...]
    reporting_chain: tuple[str, ...] = Field(
        default=(), description="Pseudonymous ids of the participant's managers up the line."
    )
    skills_offered: tuple[str, ...] = ()
    skills_wanted: tuple[str, ...] = ()
    communication_style: str = ""
    capacity: int = Field(1, ge=1)


class ParticipantWithdrawn(Event):
    service = "enrolment"
    type_name = "tandem.enrolment.participant-withdrawn.v1"

    program_id: str
    participant_id: str
    reason: str = ""


class PairFormed(Event):
    service = "matching"
    type_name = "tandem.matching.pair-formed.v1"

    program_id: str
    pair_id: str
    round_id: str
    mentor_id: str
    mentee_id: str
    score: float
    breakdown: dict[str, float] = Field(description="Each criterion's weighted contribution to `score`.")


class PairDissolved(Event):
    service = "matching"
    type_name = "tandem.matching.pair-dissolved.v1"

    program_id: str
    pair_id: str
    reason: str


class SessionHeld(Event):
    service = "sessions"
    type_name = "tandem.sessions.session-held.v1"

    program_id: str
    pair_id: str
    session_id: str
    held_on: date
    minutes: int = Field(ge=1)
    topics: tuple[str, ...] = ()
    learning_direction: LearningDirection
    logged_by: str = Field(description="Participant id of the member who logged it.")
    logged_at: datetime


class FeedbackGiven(Event):
    service = "sessions"
    type_name = "tandem.sessions.feedback-given.v1"

    program_id: str
    pair_id: str
    feedback_id: str
    given_by: str
    side: Literal["mentor", "mentee"]
    rating: int = Field(ge=1, le=5)
    learned: str = ""
    would_continue: bool


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type_name: cls
    for cls in (
        ProgramLaunched,
        ParticipantEnrolled,
        ParticipantWithdrawn,
        PairFormed,
        PairDissolved,
        SessionHeld,
        FeedbackGiven,
    )
}


class UnknownEventType(LookupError):
    """A record's `ce_type` names no event this version of Tandem knows."""


def event_class(type_name: str) -> type[Event]:
    try:
        return EVENT_TYPES[type_name]
    except KeyError:
        raise UnknownEventType(type_name) from None
