"""What members of a pair ask the sessions service to record (also the HTTP request bodies)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.events import Confidentiality, LearningDirection
from shared.types import Bool, BusinessDay, Identifier, Int, Text

Topic = Annotated[str, Text(100, one_line=True)]  # an empty topic is dropped, as a repeated one is


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LogSession(Command):
    held_on: BusinessDay = Field(description="The day the pair met; from 2000-01-01, not in the future.")
    minutes: Annotated[int, Int(1, 600)]
    topics: list[Topic] = Field(default_factory=list, max_length=20, description="What the pair talked about.")
    learning_direction: LearningDirection = Field(description="Which way knowledge flowed.")
    notes: Annotated[str, Text(5000)] = Field("", description="Private: kept by the sessions service, never published.")
    goals_advanced: list[Identifier] = Field(
        default_factory=list, max_length=20, description="Goal ids of the agreement in force this session advanced."
    )

    @field_validator("held_on")
    @classmethod
    def not_in_the_future(cls, held_on: date) -> date:
        # A day of slack, no more: east of Greenwich a member's "today" can be tomorrow in UTC.
        if held_on > datetime.now(UTC).date() + timedelta(days=1):
            raise ValueError("held_on must not be in the future")
        return held_on


class GiveFeedback(Command):
    rating: Annotated[int, Int(1, 5)] = Field(description='1 to 5, a JSON integer: `true` or `"5"` is a 422.')
    learned: Annotated[str, Text(2000)] = Field("", description="What I learned from the other side.")
    would_continue: Bool


class GoalWording(Command):
    """One goal as a member writes it: its words stay in sessions' tables, its id and direction go in events."""

    goal_id: Identifier | None = Field(
        None, description="Keep an earlier version's goal (and its progress); omit for a new one."
    )
    direction: Literal["mentor_to_mentee", "mentee_to_mentor"]
    text: Annotated[str, Text(500, min_length=1)]


class WriteAgreement(Command):
    """A new version of the pair's agreement. Guidelines (documented choice): `cadence_days` from 1 to twice the
    program's cadence (a pair may meet less often than the program suggests, not arbitrarily rarely), and
    `duration_weeks` from 1 to the program's duration (a pair's plan ends within its program's)."""

    goals: list[GoalWording] = Field(min_length=1, max_length=20)
    cadence_days: Annotated[int, Int(1, 365)]
    duration_weeks: Annotated[int, Int(1, 260)]
    confidentiality: Confidentiality
    confidentiality_note: Annotated[str, Text(1000)] = Field("", description="Private to the pair's members.")


class SignAgreement(Command):
    version: Annotated[int, Int(1, 1_000_000)] = Field(description="The version the member read and signs.")


class Reflect(Command):
    """A member's closing reflection (and, while the pair runs, its request to complete it). An admin completing
    the pair sends no reflection (`{}` or no body); a member must say `would_recommend` (a 422 naming it)."""

    learned: Annotated[str, Text(2000)] = Field("", description="What I learned.")
    changed: Annotated[str, Text(2000)] = Field("", description="What I changed.")
    would_recommend: Bool | None = Field(None, description="Required from a member.")


class ShareStory(Command):
    """A member's opt-in to share its closing reflection as a story (`false` withdraws it)."""

    share: Bool = Field(description="true: share my reflection as a story; false: withdraw that opt-in.")
