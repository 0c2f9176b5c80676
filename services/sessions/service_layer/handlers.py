"""Sessions' use cases: decide from the pairs read model, store the state and its event in one transaction."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.sessions.adapters import repository
from services.sessions.domain import model
from services.sessions.domain.commands import GiveFeedback, LogSession
from shared.errors import Conflict, NotFound
from shared.events import FeedbackGiven, SessionHeld
from shared.eventstore import AppendResult
from shared.uow import UnitOfWork


@dataclass(frozen=True)
class Sessions(UnitOfWork):
    """Sessions' pool, event store and transactions."""


async def pair(svc: Sessions, pair_id: str) -> model.Pair:
    found = await repository.get_pair(svc.pool, pair_id)
    if found is None:
        raise NotFound(f"no pair {pair_id} (matching may not have announced it yet)")
    return found


async def log_session(
    svc: Sessions,
    pair_id: str,
    command: LogSession,
    logged_by: str,
    idempotency_key: str | None,
    render,
) -> dict[str, Any]:
    """Record a session once; a retry with the same Idempotency-Key gets the first response back."""
    async with svc.transaction() as conn:
        if idempotency_key:
            request_hash = hashlib.sha256(f"{pair_id}|{command.model_dump_json()}".encode()).hexdigest()
            earlier = await repository.claim_idempotency_key(conn, logged_by, idempotency_key, request_hash)
            if earlier is not None:
                if earlier[0] != request_hash:
                    raise Conflict("this Idempotency-Key was used for a different request")
                return earlier[1]
        found = await pair(svc, pair_id)
        session = model.log_session(found, command, logged_by, datetime.now(UTC))
        await repository.add_session(conn, session, command.notes)
        result = await svc.store.append(found.stream_id, None, [session], conn=conn)
        response = render(session, command.notes, result)
        if idempotency_key:
            await repository.remember_response(conn, logged_by, idempotency_key, response)
        return response


async def give_feedback(
    svc: Sessions, pair_id: str, command: GiveFeedback, member: str
) -> tuple[FeedbackGiven, AppendResult]:
    found = await pair(svc, pair_id)
    feedback = model.give_feedback(found, command, member)
    async with svc.transaction() as conn:
        await repository.add_feedback(conn, feedback)
        result = await svc.store.append(found.stream_id, None, [feedback], conn=conn)
    return feedback, result


def session_view(session: SessionHeld, notes: str) -> dict[str, Any]:
    return {**session.model_dump(mode="json"), "notes": notes}
