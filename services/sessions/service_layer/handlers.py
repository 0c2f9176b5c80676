"""Sessions' use cases over a unit of work: decide from the pairs read model, keep the state and its event together.

**No optimistic-concurrency retry here.** Issue #12 keeps such a retry only where a rule needs it, and no sessions
rule reads the pair's stream: whether a session may be logged depends on the pair's status in the `pairs` read
model (which the projection writes, not this stream), feedback on membership only, and "one write per
Idempotency-Key" is enforced by the key's row (a concurrent retry waits on the first one's uncommitted claim). So
appends pass `expected_version=None`: the event store still serialises them, so both members logging at once land
one after the other (versions 1 and 2) and neither caller sees a ConcurrencyError.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from pydantic import BaseModel

from services.sessions.domain import model
from services.sessions.domain.commands import GiveFeedback, LogSession
from services.sessions.service_layer.unit_of_work import SessionsUnitOfWork
from shared.auth import ProgramStaff
from shared.errors import Conflict, Forbidden, NotFound
from shared.events import FeedbackGiven, LearningDirection
from shared.http import EventLogPosition

Answer = TypeVar("Answer", bound=BaseModel)


class SessionView(BaseModel):
    """A session as the pair sees it: what SessionHeld published, plus the private notes."""

    session_id: str
    pair_id: str
    held_on: date
    minutes: int
    topics: list[str]
    learning_direction: LearningDirection
    notes: str
    logged_by: str
    logged_at: datetime

    @classmethod
    def of(cls, session: model.SessionRecord) -> SessionView:
        return cls(**session.__dict__)


class SessionLogged(BaseModel):
    """The answer to logging a session; kept under its Idempotency-Key and given again to a retry."""

    session: SessionView
    event_log: EventLogPosition


class FeedbackRecorded(BaseModel):
    """The answer to giving feedback; kept under its Idempotency-Key like `SessionLogged`."""

    feedback: FeedbackGiven
    event_log: EventLogPosition


@dataclass(frozen=True)
class Viewer:
    """Who reaches a pair: its members always; anyone else when `reaches_program` accepts the staff of the pair's
    program (None: a program not known here yet). `is_staff` says whether the caller may look at others' pairs at
    all (an admin or an auditor)."""

    subject: str
    reaches_program: Callable[[ProgramStaff | None], bool]
    is_staff: bool


class MyPair(BaseModel):
    pair_id: str
    program_id: str
    status: str
    partner_participant_id: str
    sessions: int


# ------------------------------------------------------------------------------------------------------ writes


async def log_session(
    uow: SessionsUnitOfWork,
    pair_id: str,
    command: LogSession,
    logged_by: str,
    idempotency_key: str | None,
    key_ttl: timedelta,
) -> SessionLogged:
    """Record a session once. A retry with the same Idempotency-Key (per caller) gets the first answer back;
    the same key with a different request is a Conflict."""
    request = KeyedWrite("session", pair_id, command, logged_by, idempotency_key, key_ttl)
    async with uow:
        if (earlier := await request.earlier_answer(uow, SessionLogged)) is not None:
            return earlier
        pair = await _pair(uow, pair_id)
        session = model.log_session(pair, command, logged_by, datetime.now(UTC))
        kept = model.SessionRecord.of(session, command.notes)
        await uow.sessions.add(kept)
        result = await uow.append(pair.stream_id, None, [session])
        return await request.remember(
            uow, SessionLogged(session=SessionView.of(kept), event_log=EventLogPosition.of(result))
        )


async def give_feedback(
    uow: SessionsUnitOfWork,
    pair_id: str,
    command: GiveFeedback,
    member: str,
    idempotency_key: str | None,
    key_ttl: timedelta,
) -> FeedbackRecorded:
    """Record a member's feedback once per Idempotency-Key, as `log_session` does for sessions."""
    request = KeyedWrite("feedback", pair_id, command, member, idempotency_key, key_ttl)
    async with uow:
        if (earlier := await request.earlier_answer(uow, FeedbackRecorded)) is not None:
            return earlier
        pair = await _pair(uow, pair_id)
        given_before = await uow.feedback.count_by(pair_id, member)
        held = len(await uow.sessions.of_pair(pair_id))
        feedback = model.give_feedback(pair, command, member, sessions_held=held, given_before=given_before)
        await uow.feedback.add(feedback)
        result = await uow.append(pair.stream_id, None, [feedback])
        return await request.remember(uow, FeedbackRecorded(feedback=feedback, event_log=EventLogPosition.of(result)))


@dataclass(frozen=True)
class KeyedWrite:
    """A write as its Idempotency-Key sees it: what was asked (the fingerprint), by whom, under which key.

    The key is claimed in the unit of work that does the work, so a rolled-back attempt leaves no key behind,
    and a concurrent retry (PostgreSQL) waits for the first attempt and then reads its answer. Keys older than
    `ttl` are forgotten: a retry after that is a new request."""

    action: str
    pair_id: str
    command: BaseModel
    caller: str
    key: str | None
    ttl: timedelta

    def fingerprint(self) -> str:
        return hashlib.sha256(f"{self.action}|{self.pair_id}|{self.command.model_dump_json()}".encode()).hexdigest()

    async def earlier_answer(self, uow: SessionsUnitOfWork, answer_type: type[Answer]) -> Answer | None:
        """None when there is no key or it is new (now claimed); the first answer when the same caller sent the
        same request under it before; a Conflict when the key was used for a different request."""
        if not self.key:
            return None
        earlier = await uow.idempotency_keys.claim(self.caller, self.key, self.fingerprint(), self.ttl)
        if earlier is None:
            return None
        if earlier[0] != self.fingerprint():
            raise Conflict("this Idempotency-Key was used for a different request")
        return answer_type.model_validate(earlier[1])

    async def remember(self, uow: SessionsUnitOfWork, answer: Answer) -> Answer:
        if self.key:
            await uow.idempotency_keys.remember(self.caller, self.key, answer.model_dump(mode="json"))
        return answer


# ------------------------------------------------------------------------------------------------------- reads


async def readable_pair(uow: SessionsUnitOfWork, pair_id: str, viewer: Viewer) -> model.Pair:
    """The pair, if the viewer may see it."""
    async with uow:
        return await _reachable(uow, await _pair(uow, pair_id), viewer)


async def sessions_of(uow: SessionsUnitOfWork, pair_id: str, viewer: Viewer) -> list[SessionView]:
    """The pair's sessions by the day they were held, private notes included (readers of a pair see them)."""
    async with uow:
        await _reachable(uow, await _pair(uow, pair_id), viewer)
        return [SessionView.of(s) for s in await uow.sessions.of_pair(pair_id)]


async def pairs_of(uow: SessionsUnitOfWork, participant_id: str, viewer: Viewer) -> list[model.Pair]:
    """A participant's own pairs; to staff, that participant's pairs in the programs the viewer reaches."""
    if not viewer.is_staff and viewer.subject != participant_id:
        raise Forbidden("a participant sees only its own pairs")
    async with uow:
        pairs = await uow.pairs.of_participant(participant_id)
        if viewer.subject == participant_id:
            return pairs
        staff = {program: await uow.program_staff.get(program) for program in {p.program_id for p in pairs}}
        return [p for p in pairs if viewer.reaches_program(staff[p.program_id])]


async def my_pairs(uow: SessionsUnitOfWork, participant_id: str) -> list[MyPair]:
    """The participant's pairs, each with how many sessions it logged."""
    async with uow:
        return [
            MyPair(
                pair_id=p.pair_id,
                program_id=p.program_id,
                status=p.status,
                partner_participant_id=p.mentee_id if p.mentor_id == participant_id else p.mentor_id,
                sessions=len(await uow.sessions.of_pair(p.pair_id)),
            )
            for p in await uow.pairs.of_participant(participant_id)
        ]


async def _pair(uow: SessionsUnitOfWork, pair_id: str) -> model.Pair:
    found = await uow.pairs.get(pair_id)
    if found is None:
        raise NotFound(f"no pair {pair_id} (matching may not have announced it yet)")
    return found


async def _reachable(uow: SessionsUnitOfWork, pair: model.Pair, viewer: Viewer) -> model.Pair:
    if pair.has_member(viewer.subject) or viewer.reaches_program(await uow.program_staff.get(pair.program_id)):
        return pair
    raise Forbidden(f"{viewer.subject} is neither a member of pair {pair.pair_id} nor staff of its program")
