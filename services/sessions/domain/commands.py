"""What members of a pair ask the sessions service to record (also the HTTP request bodies)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.events import LearningDirection

Topic = Annotated[str, Field(max_length=100)]


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LogSession(Command):
    held_on: date = Field(description="The day the pair met; not in the future.")
    minutes: int = Field(ge=1, le=600)
    topics: list[Topic] = Field(default_factory=list, max_length=20, description="What the pair talked about.")
    learning_direction: LearningDirection = Field(description="Which way knowledge flowed.")
    notes: str = Field("", max_length=5000, description="Private: kept by the sessions service, never published.")

    @field_validator("held_on")
    @classmethod
    def not_in_the_future(cls, held_on: date) -> date:
        # A day of slack, no more: east of Greenwich a member's "today" can be tomorrow in UTC.
        if held_on > datetime.now(UTC).date() + timedelta(days=1):
            raise ValueError("held_on must not be in the future")
        return held_on


class GiveFeedback(Command):
    rating: int = Field(ge=1, le=5)
    learned: str = Field("", max_length=2000, description="What I learned from the other side.")
    would_continue: bool
