"""Sessions' rules, free of I/O: only members of an active pair log sessions; either side gives feedback."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from services.sessions.domain.commands import GiveFeedback, LogSession
from shared.errors import Conflict, Forbidden
from shared.events import FeedbackGiven, LearningDirection, SessionHeld


@dataclass(frozen=True)
class Pair:
    """A pair as matching announced it, and when (the events' times)."""

    pair_id: str
    program_id: str
    mentor_id: str
    mentee_id: str
    status: Literal["active", "dissolved"] = "active"
    formed_at: datetime | None = None
    dissolved_at: datetime | None = None

    @property
    def stream_id(self) -> str:
        # One stream per pair keeps a pair's sessions and feedback in order on one partition.
        return f"pair-sessions-{self.pair_id}"

    def has_member(self, participant_id: str) -> bool:
        return participant_id in (self.mentor_id, self.mentee_id)

    def side_of(self, participant_id: str) -> Literal["mentor", "mentee"]:
        if participant_id == self.mentor_id:
            return "mentor"
        if participant_id == self.mentee_id:
            return "mentee"
        raise Forbidden(f"{participant_id} is not a member of pair {self.pair_id}")


@dataclass(frozen=True)
class SessionRecord:
    """A session as the sessions service keeps it: what SessionHeld published (but its program), and the pair's
    private notes, which are never published."""

    session_id: str
    pair_id: str
    held_on: date
    minutes: int
    topics: tuple[str, ...]
    learning_direction: LearningDirection
    notes: str
    logged_by: str
    logged_at: datetime

    @classmethod
    def of(cls, session: SessionHeld, notes: str) -> SessionRecord:
        # Goals advanced are issue #15's (agreements); the record keeps what it stores today.
        return cls(**session.model_dump(exclude={"program_id", "goals_advanced"}), notes=notes)


def log_session(pair: Pair, command: LogSession, logged_by: str, now: datetime) -> SessionHeld:
    if pair.status != "active":
        raise Conflict(f"pair {pair.pair_id} is dissolved: no new sessions")
    return SessionHeld(
        program_id=pair.program_id,
        pair_id=pair.pair_id,
        session_id=f"ses-{uuid.uuid4().hex[:12]}",
        held_on=command.held_on,
        minutes=command.minutes,
        topics=tuple(dict.fromkeys(t for t in command.topics if t)),
        learning_direction=command.learning_direction,
        logged_by=logged_by,
        logged_at=now,
    )


def give_feedback(
    pair: Pair, command: GiveFeedback, member: str, *, sessions_held: int, given_before: int
) -> FeedbackGiven:
    """Feedback stays possible after a pair dissolves: how it ended is worth hearing. A member gives one on the
    pairing and then one per session held: unlimited feedback would let one member's repeated rating outweigh
    everyone else's in the program's averages."""
    side = pair.side_of(member)
    if given_before > sessions_held:
        raise Conflict(
            f"feedback is one on the pairing and one per session held: this member gave {given_before},"
            f" {sessions_held} sessions were held"
        )
    return FeedbackGiven(
        program_id=pair.program_id,
        pair_id=pair.pair_id,
        feedback_id=f"fbk-{uuid.uuid4().hex[:12]}",
        given_by=member,
        side=side,
        rating=command.rating,
        learned=command.learned,
        would_continue=command.would_continue,
    )
