"""Matching's use cases. Rounds and dissolutions commit pairs, rounds and events in one transaction."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, replace

import asyncpg

from services.matching.adapters import repository
from services.matching.domain import rounds
from services.matching.domain.pairs import Pair
from shared.db import advisory_key
from shared.errors import Conflict, NotFound
from shared.events import PairFormed
from shared.eventstore import AppendResult
from shared.uow import PooledTransactions


@dataclass(frozen=True)
class Matching(PooledTransactions):
    """Matching's pool, event store and transactions."""


@dataclass(frozen=True)
class CommittedRound:
    round_id: str
    proposal: rounds.Proposal
    pairs: list[Pair]
    last_position: int | None


async def preview_round(svc: Matching, program_id: str) -> rounds.Proposal:
    async with svc.pool.acquire() as conn:
        return await _propose(conn, program_id, lock=False)


async def commit_round(svc: Matching, program_id: str) -> CommittedRound:
    """Pair the unmatched part of the pool. One round per program at a time; withdrawals wait for it."""
    async with svc.transaction() as conn:
        await conn.execute("SELECT pg_advisory_xact_lock($1)", advisory_key(f"round:{program_id}"))
        proposal = await _propose(conn, program_id, lock=True)
        round_id = f"rnd-{uuid.uuid4().hex[:12]}"
        await repository.add_round(
            conn,
            round_id,
            program_id,
            proposal.engine_version,
            proposal.inputs_hash,
            len(proposal.pairs),
            [u.model_dump() for u in proposal.unmatched],
        )
        formed, last = [], None
        for proposed in proposal.pairs:
            pair = Pair(
                f"pair-{uuid.uuid4().hex[:12]}",
                program_id,
                round_id,
                proposed.mentor_id,
                proposed.mentee_id,
                proposed.score,
                proposed.breakdown,
            )
            await repository.add_pair(conn, pair)
            result = await svc.store.append(pair.stream_id, 0, [_formed(pair, proposal)], conn=conn)
            formed.append(pair)
            last = result.last_position
    return CommittedRound(round_id, proposal, formed, last)


async def dissolve_pair(svc: Matching, pair_id: str, reason: str) -> tuple[Pair, AppendResult | None]:
    async with svc.transaction() as conn:
        pair = await repository.get_pair(conn, pair_id, for_update=True)
        if pair is None:
            raise NotFound(f"no pair {pair_id}")
        return await dissolve(svc, conn, pair, reason)


async def dissolve(svc: Matching, conn: asyncpg.Connection, pair: Pair, reason: str):
    dissolved, event = pair.dissolve(reason)
    result = None
    if event is not None:
        result = await svc.store.append(pair.stream_id, pair.version, [event], conn=conn)
        dissolved = replace(dissolved, version=result.version)
        await repository.save_pair(conn, dissolved)
    return dissolved, result


async def dissolve_pairs_of_withdrawn(
    svc: Matching, conn: asyncpg.Connection, program_id: str, participant_id: str
) -> None:
    """A withdrawn participant's active pairs dissolve (the withdrawal policy, in its runner's transaction)."""
    # The round lock orders this after any round in flight, so a pair formed from a stale pool still dissolves;
    # it is held until the pool records the withdrawal in the same transaction, so no later round pairs them.
    await conn.execute("SELECT pg_advisory_xact_lock($1)", advisory_key(f"round:{program_id}"))
    for pair in await repository.active_pairs_of(conn, program_id, participant_id):
        await dissolve(svc, conn, pair, "participant withdrew")


async def _propose(conn: asyncpg.Connection, program_id: str, *, lock: bool) -> rounds.Proposal:
    program = await repository.get_program(conn, program_id)
    if program is None:
        raise NotFound(f"matching knows no program {program_id} (yet)")
    candidates = await repository.active_candidates(conn, program_id, lock=lock)
    active = await repository.pairs_of_program(conn, program_id, "active")
    dissolved = await repository.dissolved_couples(conn, program_id)
    if not candidates:
        raise Conflict(f"program {program_id} has no active candidates to match")
    # The engine is CPU-bound (seconds at enterprise scale): keep the event loop free for probes and requests.
    return await asyncio.to_thread(rounds.propose, program, candidates, active, dissolved)


def _formed(pair: Pair, proposal: rounds.Proposal) -> PairFormed:
    return PairFormed(
        program_id=pair.program_id,
        pair_id=pair.pair_id,
        round_id=pair.round_id,
        mentor_id=pair.mentor_id,
        mentee_id=pair.mentee_id,
        score=pair.score,
        breakdown=pair.breakdown,
        engine_version=proposal.engine_version,
        inputs_hash=proposal.inputs_hash,
    )
