"""Matching's use cases over its unit of work. Rounds and dissolutions commit pairs, rounds and events together."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from services.matching.domain import rounds
from services.matching.domain.pairs import RECHECKED_RULES, Pair, rules_broken
from services.matching.service_layer.unit_of_work import MatchingUnitOfWork
from shared.errors import Conflict, NotFound
from shared.events import PairFormed, RoundCommitted
from shared.eventstore import AppendResult

if TYPE_CHECKING:
    pass

WITHDREW = "participant withdrew"


@dataclass(frozen=True)
class CommittedRound:
    round_id: str
    proposal: rounds.Proposal
    pairs: list[Pair]
    last_position: int | None


@dataclass(frozen=True)
class RoundInputs:
    program: dict[str, Any]
    candidates: list[dict[str, Any]]
    active: list[Pair]
    dissolved: list[tuple[str, str]]


async def preview_round(uow: MatchingUnitOfWork, program_id: str) -> rounds.Proposal:
    async with uow:
        inputs = await _round_inputs(uow, program_id, lock=False)
    return await _propose(inputs)


async def commit_round(uow: MatchingUnitOfWork, program_id: str) -> CommittedRound:
    """Pair the unmatched part of the pool. One round per program at a time; withdrawals wait for it."""
    async with uow:
        await uow.rounds.lock(program_id)
        proposal = await _propose(await _round_inputs(uow, program_id, lock=True))
        round_id = f"rnd-{uuid.uuid4().hex[:12]}"
        await uow.rounds.add(round_id, program_id, proposal)
        await uow.append(f"round-{round_id}", 0, [_committed(round_id, program_id, proposal)])
        formed = [await _form(uow, round_id, program_id, proposed, proposal) for proposed in proposal.pairs]
    last = formed[-1][1].last_position if formed else None
    return CommittedRound(round_id, proposal, [pair for pair, _ in formed], last)


async def dissolve_pair(uow: MatchingUnitOfWork, pair_id: str, reason: str) -> tuple[Pair, AppendResult | None]:
    """Dissolving a dissolved pair changes nothing and appends nothing."""
    async with uow:
        pair = await uow.pairs.get(pair_id, for_update=True)
        if pair is None:
            raise NotFound(f"no pair {pair_id}")
        return await _dissolve(uow, pair, reason)


async def dissolve_pairs_of_withdrawn(
    uow: MatchingUnitOfWork, program_id: str, participant_id: str
) -> list[AppendResult]:
    """A withdrawn participant's active pairs dissolve (the withdrawal policy; the pool records the withdrawal)."""
    async with uow:
        # The round lock orders this after any round in flight, so a pair formed from a stale pool still dissolves;
        # joined to the policy's transaction, it is held until the pool has recorded the withdrawal too.
        await uow.rounds.lock(program_id)
        dissolved = [
            await _dissolve(uow, pair, WITHDREW) for pair in await uow.pairs.active_of(program_id, participant_id)
        ]
    return [result for _, result in dissolved if result is not None]


async def recheck_pairs_of_updated(uow: MatchingUnitOfWork, profile: dict[str, Any]) -> list[AppendResult]:
    """The participant's active pairs against the hard rules a profile change can break (an HR re-import moving
    someone into their partner's line); each breaking pair is flagged or dissolved as its program says."""
    program_id, participant_id = profile["program_id"], profile["participant_id"]
    async with uow:
        await uow.rounds.lock(program_id)  # after any round in flight, as a withdrawal
        program = await uow.programs.get(program_id) or {}
        dissolve = program.get("on_reporting_conflict", "flag") == "dissolve"
        results: list[AppendResult | None] = []
        for pair in await uow.pairs.active_of(program_id, participant_id):
            partner = await uow.candidates.get(
                program_id, pair.mentee_id if pair.mentor_id == participant_id else pair.mentor_id
            )
            if partner is None:
                continue
            mentor, mentee = (profile, partner) if pair.mentor_id == participant_id else (partner, profile)
            broken = rules_broken(mentor, mentee)
            if broken and dissolve:
                results.append((await _dissolve(uow, pair, RECHECKED_RULES[broken[0]]))[1])
            for rule in broken if not dissolve else ():
                pair, result = await _flag(uow, pair, rule)
                results.append(result)
    return [result for result in results if result is not None]


# ------------------------------------------------------------------------------------------------ queries


async def pool_counts(uow: MatchingUnitOfWork, program_id: str) -> dict[str, int]:
    async with uow:
        counts = await uow.candidates.counts(program_id)
        if not counts and await uow.programs.get(program_id) is None:
            raise NotFound(f"matching knows no program {program_id} (yet)")
    return counts


async def pairs_of_program(uow: MatchingUnitOfWork, program_id: str, status: str | None = None) -> list[Pair]:
    async with uow:
        return await uow.pairs.of_program(program_id, status)


async def active_pairs_of(uow: MatchingUnitOfWork, participant_id: str) -> list[Pair]:
    async with uow:
        return await uow.pairs.active_of_participant(participant_id)


async def get_pair(uow: MatchingUnitOfWork, pair_id: str) -> Pair:
    async with uow:
        pair = await uow.pairs.get(pair_id)
    if pair is None:
        raise NotFound(f"no pair {pair_id}")
    return pair


# ------------------------------------------------------------------------------------------------ helpers


async def _round_inputs(uow: MatchingUnitOfWork, program_id: str, *, lock: bool) -> RoundInputs:
    program = await uow.programs.get(program_id)
    if program is None:
        raise NotFound(f"matching knows no program {program_id} (yet)")
    candidates = await uow.candidates.active(program_id, lock=lock)
    if not candidates:
        raise Conflict(f"program {program_id} has no active candidates to match")
    active = await uow.pairs.of_program(program_id, "active")
    return RoundInputs(program, candidates, active, await uow.pairs.dissolved_couples(program_id))


async def _propose(inputs: RoundInputs) -> rounds.Proposal:
    # The engine is CPU-bound (seconds at enterprise scale): keep the event loop free for probes and requests.
    return await asyncio.to_thread(rounds.propose, inputs.program, inputs.candidates, inputs.active, inputs.dissolved)


async def _form(
    uow: MatchingUnitOfWork, round_id: str, program_id: str, proposed: rounds.ProposedPair, proposal: rounds.Proposal
) -> tuple[Pair, AppendResult]:
    pair_id = f"pair-{uuid.uuid4().hex[:12]}"
    pair = Pair(
        pair_id, program_id, round_id, proposed.mentor_id, proposed.mentee_id, proposed.score, proposed.breakdown
    )
    await uow.pairs.add(pair)
    return pair, await uow.append(pair.stream_id, 0, [_formed(pair, proposal)])


async def _dissolve(uow: MatchingUnitOfWork, pair: Pair, reason: str) -> tuple[Pair, AppendResult | None]:
    dissolved, event = pair.dissolve(reason)
    if event is None:
        return dissolved, None
    result = await uow.append(pair.stream_id, pair.version, [event])
    dissolved = replace(dissolved, version=result.version)
    await uow.pairs.save(dissolved)
    return dissolved, result


async def _flag(uow: MatchingUnitOfWork, pair: Pair, rule: str) -> tuple[Pair, AppendResult | None]:
    flagged, event = pair.flag(rule, datetime.now(UTC))
    if event is None:
        return flagged, None
    result = await uow.append(pair.stream_id, pair.version, [event])
    flagged = replace(flagged, version=result.version)
    await uow.pairs.save(flagged)
    return flagged, result


def _committed(round_id: str, program_id: str, proposal: rounds.Proposal) -> RoundCommitted:
    return RoundCommitted(
        program_id=program_id,
        round_id=round_id,
        pairs_formed=len(proposal.pairs),
        unmatched=len(proposal.unmatched),
        total_score=proposal.total_score,
        engine_version=proposal.engine_version,
        inputs_hash=proposal.inputs_hash,
    )


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
