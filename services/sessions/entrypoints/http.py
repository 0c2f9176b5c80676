"""Sessions' HTTP API under /sessions/v1."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, status
from pydantic import BaseModel

from services.sessions.adapters import repository
from services.sessions.domain.commands import GiveFeedback, LogSession
from services.sessions.domain.model import Pair
from services.sessions.service_layer import handlers
from services.sessions.service_layer.handlers import FeedbackRecorded, SessionLogged, SessionView
from shared.auth import AdminOrParticipant, Participant, Principal, Reader
from shared.errors import Forbidden

router = APIRouter(tags=["sessions"])


def service() -> handlers.Sessions:
    raise NotImplementedError("bound by the composition root (bootstrap.py)")


Service = Annotated[handlers.Sessions, Depends(service)]


class PairView(BaseModel):
    pair_id: str
    program_id: str
    mentor_id: str
    mentee_id: str
    status: str
    formed_at: datetime | None
    dissolved_at: datetime | None

    @classmethod
    def of(cls, pair: Pair) -> PairView:
        return cls(**pair.__dict__)


async def member_pair(svc: handlers.Sessions, pair_id: str, principal: Principal) -> Pair:
    """The pair, if the caller may see it: admins and auditors always, a participant only its own."""
    pair = await handlers.pair(svc.pool, pair_id)
    if not principal.has("program_admin", "auditor") and not pair.has_member(principal.subject):
        raise Forbidden(f"{principal.subject} is not a member of pair {pair_id}")
    return pair


@router.get("/pairs/{pair_id}", response_model=PairView)
async def get_pair(pair_id: str, svc: Service, principal: Reader) -> PairView:
    return PairView.of(await member_pair(svc, pair_id, principal))


# A retry with the same caller, key and body gets the first answer back; the same key with another body is a 409.
IdempotencyKey = Annotated[
    str | None, Header(max_length=200, description="Makes a retry safe: the same key and body, one write.")
]


@router.get("/pairs/{pair_id}/sessions", response_model=list[SessionView])
async def list_sessions(pair_id: str, svc: Service, principal: Reader) -> list[SessionView]:
    """The pair's sessions by the day they were held, private notes included (readers of a pair see them)."""
    await member_pair(svc, pair_id, principal)
    return [SessionView(**row) for row in await repository.sessions_of(svc.pool, pair_id)]


@router.post("/pairs/{pair_id}/sessions", status_code=status.HTTP_201_CREATED, response_model=SessionLogged)
async def log_session(
    pair_id: str,
    command: LogSession,
    svc: Service,
    principal: AdminOrParticipant,
    idempotency_key: IdempotencyKey = None,
) -> SessionLogged:
    """A member (or an admin on their behalf) logs a meeting of an active pair. Send an `Idempotency-Key` to
    make retries safe: the same caller, key and body get the first answer back (one session, one SessionHeld);
    the same key with another body is a 409."""
    await member_pair(svc, pair_id, principal)
    logged_by = f"admin:{principal.subject}" if principal.is_admin else principal.subject
    return await handlers.log_session(svc, pair_id, command, logged_by, idempotency_key)


@router.post("/pairs/{pair_id}/feedback", status_code=status.HTTP_201_CREATED, response_model=FeedbackRecorded)
async def give_feedback(
    pair_id: str,
    command: GiveFeedback,
    svc: Service,
    principal: Participant,
    idempotency_key: IdempotencyKey = None,
) -> FeedbackRecorded:
    """Either member rates the pair; the side (mentor or mentee) follows from who gives it. A dissolved pair
    still takes feedback: how it ended is worth hearing. An `Idempotency-Key` makes retries safe, as for
    sessions."""
    return await handlers.give_feedback(svc, pair_id, command, principal.subject, idempotency_key)


@router.get("/participants/{participant_id}/pairs", response_model=list[PairView])
async def pairs_of(participant_id: str, svc: Service, principal: Reader) -> list[PairView]:
    if not principal.has("program_admin", "auditor") and principal.subject != participant_id:
        raise Forbidden("a participant sees only its own pairs")
    return [PairView.of(p) for p in await repository.pairs_of(svc.pool, participant_id)]
