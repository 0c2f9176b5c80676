"""What enrolment is asked to do. These models are also the HTTP request bodies, so their field
descriptions and bounds are the API's documentation and its 422 checks."""

from __future__ import annotations

from typing import Literal
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from shared.events import DEFAULT_WEIGHTS, MATCHING_CRITERIA, MentoringRole, OptimizeFor

_TIME_ZONES = frozenset(available_timezones())


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LaunchProgram(Command):
    title: str = Field(min_length=1, max_length=200)
    objectives: str = Field("", max_length=5000, description="Free text: why the program exists.")
    targets: dict[str, float] = Field(
        default_factory=dict,
        description="Measurable targets, e.g. {'pairs_formed': 40, 'sessions_per_pair': 6, 'average_rating': 4}.",
    )
    cadence_days: int = Field(14, ge=1, le=365, description="Expected days between a pair's sessions.")
    duration_weeks: int = Field(26, ge=1, le=260)
    focus_areas: list[str] = Field(default_factory=list, description="e.g. digital-skills, social-media, diversity")
    languages: list[str] = Field(default_factory=lambda: ["en"])
    matching_weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    optimize_for: OptimizeFor = "score"

    @field_validator("matching_weights")
    @classmethod
    def known_criteria(cls, weights: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(weights) - set(MATCHING_CRITERIA))
        if unknown:
            raise ValueError(f"unknown criteria {unknown}; known: {list(MATCHING_CRITERIA)}")
        if any(w < 0 for w in weights.values()):
            raise ValueError("weights must not be negative")
        return {**DEFAULT_WEIGHTS, **weights}


class ProfileFields(Command):
    role: MentoringRole
    grade: int = Field(ge=0, le=100, description="Job grade; higher is more senior.")
    birth_year: int = Field(ge=1900, le=2015)
    department: str = Field(min_length=1, max_length=100)
    time_zone: str = Field("UTC", description="IANA time zone, e.g. Europe/Paris.")
    languages: list[str] = Field(min_length=1)
    reporting_chain: list[str] = Field(
        default_factory=list,
        description="Employee ids of the participant's managers up the line (from the HRIS).",
    )
    skills_offered: list[str] = Field(default_factory=list)
    skills_wanted: list[str] = Field(default_factory=list)
    focus_areas: list[str] = Field(default_factory=list)
    goals: str = Field("", max_length=2000, description="Free text; stays in enrolment, never in events.")
    communication_style: str = Field("", max_length=50)
    capacity: int = Field(1, ge=1, le=10, description="Mentees this participant takes as a mentor.")

    @field_validator("time_zone")
    @classmethod
    def known_time_zone(cls, zone: str) -> str:
        if zone not in _TIME_ZONES:
            raise ValueError(f"unknown IANA time zone {zone!r}")
        return zone


class EnrolParticipant(ProfileFields):
    employee_id: str = Field(min_length=1, max_length=64)
    display_name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    consent: Literal[True] = Field(description="Explicit opt-in; enrolment is refused without it.")


class UpdateProfile(Command):
    """Only the fields given change; the rest stay as they are. `role`, `grade`, `reporting_chain` and `capacity`
    are kept by HR: only a program admin changes them (a participant gets a 403 naming the field)."""

    role: MentoringRole | None = None
    display_name: str | None = Field(None, min_length=1, max_length=200)
    email: EmailStr | None = None
    grade: int | None = Field(None, ge=0, le=100)
    department: str | None = Field(None, min_length=1, max_length=100)
    time_zone: str | None = None
    languages: list[str] | None = Field(None, min_length=1)
    reporting_chain: list[str] | None = None
    skills_offered: list[str] | None = None
    skills_wanted: list[str] | None = None
    focus_areas: list[str] | None = None
    goals: str | None = Field(None, max_length=2000)
    communication_style: str | None = Field(None, max_length=50)
    capacity: int | None = Field(None, ge=1, le=10)

    _zone = field_validator("time_zone")(lambda cls, z: z if z is None else ProfileFields.known_time_zone(z))


class WithdrawParticipant(Command):
    reason: str = Field("", max_length=500)
