"""What members of a pair ask the sessions service to record (also the HTTP request bodies)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.events import LearningDirection
from shared.types import Bool, BusinessDay, Int, Text

Topic = Annotated[str, Text(100, one_line=True)]  # an empty topic is dropped, as a repeated one is


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LogSession(Command):
    held_on: BusinessDay = Field(description="The day the pair met; from 2000-01-01, not in the future.")
    minutes: Annotated[int, Int(1, 600)]
    topics: list[Topic] = Field(default_factory=list, max_length=20, description="What the pair talked about.")
    learning_direction: LearningDirection = Field(description="Which way knowledge flowed.")
    notes: Annotated[str, Text(5000)] = Field("", description="Private: kept by the sessions service, never published.")

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
