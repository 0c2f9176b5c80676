"""Sessions' use cases: decide from the pairs read model, store the state and its event in one transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

import asyncpg
from pydantic import BaseModel
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_random

from services.sessions.adapters import repository
from services.sessions.domain import model
from services.sessions.domain.commands import GiveFeedback, LogSession
from shared.errors import Conflict, NotFound
from shared.events import Event, FeedbackGiven, LearningDirection, SessionHeld
from shared.eventstore import AppendResult, ConcurrencyError
from shared.http import EventLogPosition
from shared.uow import PooledTransactions

T = TypeVar("T")
Answer = TypeVar("Answer", bound=BaseModel)
ATTEMPTS = 3


@dataclass(frozen=True)
class Sessions(PooledTransactions):
    """Sessions' pool, event store and transactions, and how long an Idempotency-Key is remembered."""

    key_ttl: timedelta  # from SessionsSettings.idempotency_key_ttl_hours: one default, in the settings


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
    def of(cls, session: SessionHeld, notes: str) -> SessionView:
        return cls(**session.model_dump(exclude={"program_id"}), notes=notes)


class SessionLogged(BaseModel):
    """The answer to logging a session; kept under its Idempotency-Key and given again to a retry."""

    session: SessionView
    event_log: EventLogPosition


class FeedbackRecorded(BaseModel):
    """The answer to giving feedback; kept under its Idempotency-Key like `SessionLogged`."""

    feedback: FeedbackGiven
    event_log: EventLogPosition


async def pair(conn: asyncpg.Connection | asyncpg.Pool, pair_id: str) -> model.Pair:
    found = await repository.get_pair(conn, pair_id)
    if found is None:
        raise NotFound(f"no pair {pair_id} (matching may not have announced it yet)")
    return found


async def log_session(
    svc: Sessions, pair_id: str, command: LogSession, logged_by: str, idempotency_key: str | None
) -> SessionLogged:
    """Record a session once. A retry with the same Idempotency-Key (per caller) gets the first answer back;
    the same key with a different request is a Conflict."""

    async def decide(conn: asyncpg.Connection) -> SessionLogged:
        found = await pair(conn, pair_id)
        session = model.log_session(found, command, logged_by, datetime.now(UTC))
        await repository.add_session(conn, session, command.notes)
        result = await _append(svc, conn, found, session)
        return SessionLogged(session=SessionView.of(session, command.notes), event_log=EventLogPosition.of(result))

    request = KeyedWrite("session", pair_id, command, logged_by, idempotency_key)
    return await _on_pair_stream(svc, lambda conn: _answer_once(conn, svc, request, SessionLogged, decide))


async def give_feedback(
    svc: Sessions, pair_id: str, command: GiveFeedback, member: str, idempotency_key: str | None = None
) -> FeedbackRecorded:
    """Record a member's feedback once per Idempotency-Key, as `log_session` does for sessions."""

    async def decide(conn: asyncpg.Connection) -> FeedbackRecorded:
        found = await pair(conn, pair_id)
        feedback = model.give_feedback(found, command, member)
        await repository.add_feedback(conn, feedback)
        result = await _append(svc, conn, found, feedback)
        return FeedbackRecorded(feedback=feedback, event_log=EventLogPosition.of(result))

    request = KeyedWrite("feedback", pair_id, command, member, idempotency_key)
    return await _on_pair_stream(svc, lambda conn: _answer_once(conn, svc, request, FeedbackRecorded, decide))


@dataclass(frozen=True)
class KeyedWrite:
    """A write as its Idempotency-Key sees it: what was asked (the fingerprint), by whom, under which key."""

    action: str
    pair_id: str
    command: BaseModel
    caller: str
    key: str | None

    def fingerprint(self) -> str:
        return hashlib.sha256(f"{self.action}|{self.pair_id}|{self.command.model_dump_json()}".encode()).hexdigest()


async def _answer_once(
    conn: asyncpg.Connection,
    svc: Sessions,
    request: KeyedWrite,
    answer_type: type[Answer],
    decide: Callable[[asyncpg.Connection], Awaitable[Answer]],
) -> Answer:
    """`decide`, unless this caller's key was seen: then its first answer (same request) or a Conflict. The
    key is claimed in the transaction that does the work, so a concurrent retry waits for it and then reads
    the stored answer; a rolled-back attempt leaves no key behind. Keys older than `svc.key_ttl` are forgotten."""
    if request.key:
        fingerprint = request.fingerprint()
        earlier = await repository.claim_idempotency_key(conn, request.caller, request.key, fingerprint, svc.key_ttl)
        if earlier is not None:
            if earlier[0] != fingerprint:
                raise Conflict("this Idempotency-Key was used for a different request")
            return answer_type.model_validate(earlier[1])
    answer = await decide(conn)
    if request.key:
        await repository.remember_response(conn, request.caller, request.key, answer.model_dump(mode="json"))
    return answer


async def _append(svc: Sessions, conn: asyncpg.Connection, found: model.Pair, event: Event) -> AppendResult:
    version = await repository.stream_version(conn, found.stream_id)
    return await svc.store.append(found.stream_id, version, [event], conn=conn)


async def _on_pair_stream(svc: Sessions, decide: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Run `decide` in one transaction. Appends to a pair's stream are optimistic: when another one (the
    other member, a retried request) got there first, the whole transaction rolls back and is decided again on
    the new state. After the last attempt the ConcurrencyError reaches the client as a 409."""
    retrying = AsyncRetrying(
        retry=retry_if_exception_type(ConcurrencyError),
        stop=stop_after_attempt(ATTEMPTS),
        wait=wait_random(0, 0.05),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            async with svc.transaction() as conn:
                return await decide(conn)
    raise AssertionError("unreachable: tenacity re-raises after the last attempt")
