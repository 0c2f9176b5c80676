"""Matching's use cases over its unit of work. Rounds and dissolutions commit pairs, rounds and events together."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from services.matching.domain import rounds
from services.matching.domain.engine import ENGINE_VERSION
from services.matching.domain.manual import RuleBroken, manual_pair_breaks
from services.matching.domain.pairs import RECHECKED_RULES, Pair, rules_broken
from services.matching.service_layer.unit_of_work import MatchingUnitOfWork
from shared.errors import Conflict, Invalid, NotFound
from shared.events import (
    AcceptanceMode,
    CoupleExcluded,
    CouplePinned,
    CoupleRuleLifted,
    DeclineReason,
    Event,
    PairProposed,
    RoundCommitted,
)
from shared.eventstore import AppendResult
from shared.keys import pair_subject

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
    taken: list[Pair]  # active and proposed: their members are out of the pool
    dissolved: list[tuple[str, str]]
    excluded: list[tuple[str, str]]
    pinned: list[tuple[str, str]]
    awaiting: dict[str, tuple[str, ...]]  # left out until they complete these required training modules


class PairRulesBroken(Invalid):
    """A manual pair breaks hard rules: each with its field, its rule and why (pseudonyms and rule names only)."""

    def __init__(self, broken: list[RuleBroken]):
        super().__init__(broken[0].field, "; ".join(b.message for b in broken))
        self.broken = broken


async def preview_round(uow: MatchingUnitOfWork, program_id: str) -> rounds.Proposal:
    async with uow:
        inputs = await _round_inputs(uow, program_id, lock=False)
    return await _propose(inputs)


async def commit_round(uow: MatchingUnitOfWork, program_id: str, now: datetime | None = None) -> CommittedRound:
    """Pair the unmatched part of the pool. One round per program at a time; withdrawals wait for it. In the
    program's `immediate` acceptance mode the pairs start at once (PairFormed); otherwise each is proposed
    (PairProposed) and waits for its members' answers until `now` + the program's proposal_ttl_hours."""
    now = now or datetime.now(UTC)
    async with uow:
        await uow.rounds.lock(program_id)
        inputs = await _round_inputs(uow, program_id, lock=True)
        proposal = await _propose(inputs)
        round_id = f"rnd-{uuid.uuid4().hex[:12]}"
        await uow.rounds.add(round_id, program_id, proposal)
        await uow.append(f"round-{round_id}", 0, [_committed(round_id, program_id, proposal)])
        offer = Offer.of(inputs.program, now)
        formed = [await _form(uow, round_id, program_id, proposed, proposal, offer) for proposed in proposal.pairs]
    last = formed[-1][1].last_position if formed else None
    return CommittedRound(round_id, proposal, [pair for pair, _ in formed], last)


@dataclass(frozen=True)
class Offer:
    """How a round's pairs start: at once, or proposed until `expires_at`."""

    acceptance_mode: AcceptanceMode
    proposed_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, program: dict[str, Any], now: datetime) -> Offer:
        ttl = timedelta(hours=program.get("proposal_ttl_hours", 168))
        return cls(program.get("acceptance_mode", "immediate"), now, now + ttl)


async def accept_proposal(uow: MatchingUnitOfWork, pair_id: str, participant_id: str, now: datetime) -> Pair:
    """A member accepts; the pair starts (PairFormed) when the program's acceptance mode is met."""
    async with uow:
        pair = await _pair_for_update(uow, pair_id)
        answered, events = pair.accept(participant_id, now)
        return await _record(uow, pair, answered, events)


async def decline_proposal(
    uow: MatchingUnitOfWork, pair_id: str, participant_id: str, reason_code: DeclineReason, reason: str, now: datetime
) -> Pair:
    """A member declines: both back in the pool, the couple never proposed again. The words stay in matching's
    store (proposal_declines), never in the event."""
    async with uow:
        pair = await _pair_for_update(uow, pair_id)
        declined, events = pair.decline(participant_id, reason_code, now)
        if events:
            await uow.pairs.record_decline(pair_id, participant_id, reason_code, reason)
        return await _record(uow, pair, declined, events)


async def expire_proposals(uow: MatchingUnitOfWork, now: datetime) -> int:
    """The schedule: every proposal past its `expires_at` expires (ProposalExpired), both back in the pool.
    Idempotent: an expired proposal is no longer due."""
    async with uow:
        expired = [await _record(uow, pair, *_one(pair.expire(now))) for pair in await uow.pairs.due_proposals(now)]
    return len(expired)


async def pair_manually(uow: MatchingUnitOfWork, program_id: str, mentor_id: str, mentee_id: str) -> Pair:
    """An admin pairs two participants by hand: every hard rule of the engine is checked for the couple, and the
    pair starts at once (PairFormed, origin `manual`)."""
    async with uow:
        await uow.rounds.lock(program_id)  # after any round in flight, which could take either member
        program, mentor, mentee = await _manual_couple(uow, program_id, mentor_id, mentee_id)
        pair = Pair.manual(program_id, rounds.score_couple(program, mentor, mentee), ENGINE_VERSION)
        await uow.pairs.add(pair)
        await uow.append(pair.stream_id, 0, [pair.formed()])
    return pair


async def set_couple_rule(uow: MatchingUnitOfWork, program_id: str, mentor_id: str, mentee_id: str, rule: str) -> bool:
    """Pin or exclude a couple (CouplePinned / CoupleExcluded once; setting it again changes nothing). A couple is
    not pinned and excluded at once: lift one before setting the other."""
    async with uow:
        await uow.rounds.lock(program_id)
        await _check_couple_rule(uow, program_id, mentor_id, mentee_id, rule)
        if not await uow.couple_rules.add(program_id, mentor_id, mentee_id, rule):
            return False
        event = (CouplePinned if rule == "pin" else CoupleExcluded)(
            program_id=program_id, mentor_id=mentor_id, mentee_id=mentee_id
        )
        await uow.append(_rules_stream(program_id), None, [event])
    return True


async def lift_couple_rule(uow: MatchingUnitOfWork, program_id: str, mentor_id: str, mentee_id: str, rule: str) -> bool:
    """Lift a pin or an exclusion (CoupleRuleLifted once; lifting what is not set changes nothing)."""
    async with uow:
        await uow.rounds.lock(program_id)
        if await uow.programs.get(program_id) is None:
            raise NotFound(f"matching knows no program {program_id} (yet)")
        if not await uow.couple_rules.remove(program_id, mentor_id, mentee_id, rule):
            return False
        lifted = CoupleRuleLifted(program_id=program_id, mentor_id=mentor_id, mentee_id=mentee_id, rule=rule)
        await uow.append(_rules_stream(program_id), None, [lifted])
    return True


async def complete_pair(uow: MatchingUnitOfWork, pair_id: str) -> None:
    """Sessions completed the pair: it is no longer active and its mentor's place is free (no event of ours)."""
    async with uow:
        pair = await uow.pairs.get(pair_id, for_update=True)
        if pair is not None and pair.status == "active":
            await uow.pairs.save(pair.complete())


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
        # A proposal the participant had not answered lapses as if it expired: its partner is back in the pool.
        for pair in await uow.pairs.open_proposals_of(program_id, participant_id):
            await _record(uow, pair, *_one(pair.withdraw_proposal()))
    return [result for _, result in dissolved if result is not None]


async def forget_words_of(uow: MatchingUnitOfWork, program_id: str, participant_id: str) -> None:
    """ParticipantErased: in the person's pairs of the program, the dissolution's reason and the words of their
    declines read blank, and the pairs' keys are destroyed, so the log's reasons (PairDissolved's, sealed under the
    pair's key) read blank too, as a replay will. The withdrawal before it has already dissolved the active ones."""
    async with uow:
        pair_ids = await uow.pairs.forget_words_of(program_id, participant_id)
        await uow.destroy_keys([pair_subject(program_id, pair_id) for pair_id in pair_ids])


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


@dataclass(frozen=True)
class PoolState:
    counts: dict[str, int]
    program: dict[str, Any] | None  # None: no launch heard of yet
    closed_at: datetime | None


async def pool_counts(uow: MatchingUnitOfWork, program_id: str) -> dict[str, int]:
    return (await pool_state(uow, program_id)).counts


async def pool_state(uow: MatchingUnitOfWork, program_id: str) -> PoolState:
    async with uow:
        counts = await uow.candidates.counts(program_id)
        program = await uow.programs.get(program_id)
        if not counts and program is None:
            raise NotFound(f"matching knows no program {program_id} (yet)")
        active = await uow.candidates.active(program_id)
        trained, taken = await uow.candidates.trained(program_id), await uow.pairs.taken(program_id)
        counts["awaiting_training"] = len(rounds.awaiting_training(program or {}, active, trained, taken))
        return PoolState(counts, program, await uow.programs.closed_at(program_id))


async def pairs_of_program(uow: MatchingUnitOfWork, program_id: str, status: str | None = None) -> list[Pair]:
    async with uow:
        return await uow.pairs.of_program(program_id, status)


async def active_pairs_of(uow: MatchingUnitOfWork, participant_ids: Collection[str]) -> list[Pair]:
    """The active pairs of a participant, by all their ids (one per program, ADR 0011)."""
    async with uow:
        return await uow.pairs.active_of_participant(participant_ids)


async def proposals_of(uow: MatchingUnitOfWork, participant_ids: Collection[str]) -> list[Pair]:
    """The open proposals of a participant, by all their ids (one per program, ADR 0011)."""
    async with uow:
        return await uow.pairs.proposals_of_participant(participant_ids)


async def proposals_of_program(uow: MatchingUnitOfWork, program_id: str) -> list[Pair]:
    async with uow:
        return await uow.pairs.proposals_of_program(program_id)


async def couple_rules_of(uow: MatchingUnitOfWork, program_id: str) -> list[tuple[str, str, str]]:
    async with uow:
        return await uow.couple_rules.of_program(program_id)


async def get_pair(uow: MatchingUnitOfWork, pair_id: str) -> Pair:
    async with uow:
        pair = await uow.pairs.get(pair_id)
    if pair is None:
        raise NotFound(f"no pair {pair_id}")
    return pair


# ------------------------------------------------------------------------------------------------ helpers


async def _program(uow: MatchingUnitOfWork, program_id: str) -> dict[str, Any]:
    program = await uow.programs.get(program_id)
    if program is None:
        raise NotFound(f"matching knows no program {program_id} (yet)")
    return program


async def _open_program(uow: MatchingUnitOfWork, program_id: str) -> dict[str, Any]:
    """The program, if it takes new pairs: a closed program runs its pairs to their end and forms no more."""
    program = await _program(uow, program_id)
    if await uow.programs.closed_at(program_id) is not None:
        raise Conflict(f"program {program_id} is closed: no more rounds, previews or manual pairs")
    return program


async def _round_inputs(uow: MatchingUnitOfWork, program_id: str, *, lock: bool) -> RoundInputs:
    program = await _open_program(uow, program_id)
    candidates = await uow.candidates.active(program_id, lock=lock)
    if not candidates:
        raise Conflict(f"program {program_id} has no active candidates to match")
    rules = await uow.couple_rules.of_program(program_id)
    taken = await uow.pairs.taken(program_id)
    awaiting = rounds.awaiting_training(program, candidates, await uow.candidates.trained(program_id), taken)
    return RoundInputs(
        program,
        candidates,
        taken,
        await uow.pairs.dissolved_couples(program_id),
        # A pin naming someone still in training waits: the engine would not find them in the pool.
        [(m, e) for m, e, rule in rules if rule == "exclude"],
        [(m, e) for m, e, rule in rules if rule == "pin" and m not in awaiting and e not in awaiting],
        awaiting,
    )


async def _propose(inputs: RoundInputs) -> rounds.Proposal:
    # The engine is CPU-bound (seconds at enterprise scale): keep the event loop free for probes and requests.
    return await asyncio.to_thread(
        rounds.propose,
        inputs.program,
        inputs.candidates,
        inputs.taken,
        inputs.dissolved,
        inputs.excluded,
        inputs.pinned,
        inputs.awaiting,
    )


async def _form(
    uow: MatchingUnitOfWork,
    round_id: str,
    program_id: str,
    proposed: rounds.ProposedPair,
    proposal: rounds.Proposal,
    offer: Offer,
) -> tuple[Pair, AppendResult]:
    pair = Pair(
        f"pair-{uuid.uuid4().hex[:12]}",
        program_id,
        round_id,
        proposed.mentor_id,
        proposed.mentee_id,
        proposed.score,
        proposed.breakdown,
        engine_version=proposal.engine_version,
        inputs_hash=proposal.inputs_hash,
    )
    if offer.acceptance_mode != "immediate":
        pair = replace(
            pair,
            status="proposed",
            acceptance_mode=offer.acceptance_mode,
            proposed_at=offer.proposed_at,
            expires_at=offer.expires_at,
        )
    await uow.pairs.add(pair)
    return pair, await uow.append(pair.stream_id, 0, [_proposed(pair) if pair.status == "proposed" else pair.formed()])


async def _pair_for_update(uow: MatchingUnitOfWork, pair_id: str) -> Pair:
    pair = await uow.pairs.get(pair_id, for_update=True)
    if pair is None:
        raise NotFound(f"no pair {pair_id}")
    return pair


async def _record(uow: MatchingUnitOfWork, before: Pair, after: Pair, events: list[Event]) -> Pair:
    """Save a pair's change with its events, in one transaction; no events, nothing changed."""
    if not events:
        return before
    result = await uow.append(before.stream_id, before.version, events)
    after = replace(after, version=result.version)
    await uow.pairs.save(after)
    return after


def _one(change: tuple[Pair, Event | None]) -> tuple[Pair, list[Event]]:
    pair, event = change
    return pair, [event] if event is not None else []


async def _manual_couple(
    uow: MatchingUnitOfWork, program_id: str, mentor_id: str, mentee_id: str
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The program and both profiles, if the couple keeps every hard rule; PairRulesBroken naming each it breaks."""
    program = await _open_program(uow, program_id)
    mentor = await uow.candidates.active_one(program_id, mentor_id)
    mentee = await uow.candidates.active_one(program_id, mentee_id)
    rules = await uow.couple_rules.of_program(program_id)
    taken = await uow.pairs.taken(program_id)
    broken = manual_pair_breaks(
        mentor_id,
        mentee_id,
        mentor,
        mentee,
        taken,
        {frozenset((m, e)) for m, e, rule in rules if rule == "exclude"},
        {frozenset(c) for c in await uow.pairs.dissolved_couples(program_id)},
    )
    present = [p for p in (mentor, mentee) if p is not None]
    awaiting = rounds.awaiting_training(program, present, await uow.candidates.trained(program_id), taken)
    broken += [
        RuleBroken(field, "training", rounds.training_incomplete(pid, awaiting[pid]).detail)
        for field, pid in (("mentor_id", mentor_id), ("mentee_id", mentee_id))
        if pid in awaiting
    ]
    if broken or mentor is None or mentee is None:
        raise PairRulesBroken(broken)
    return program, mentor, mentee


async def _check_couple_rule(
    uow: MatchingUnitOfWork, program_id: str, mentor_id: str, mentee_id: str, rule: str
) -> None:
    await _open_program(uow, program_id)
    if mentor_id == mentee_id:
        raise Invalid("mentee_id", "a participant cannot be paired with themself")
    for field, pid in (("mentor_id", mentor_id), ("mentee_id", mentee_id)):
        if await uow.candidates.get(program_id, pid) is None:
            raise Invalid(field, f"{pid} is not in the program's pool")
    other = "exclude" if rule == "pin" else "pin"
    if (mentor_id, mentee_id, other) in await uow.couple_rules.of_program(program_id):
        raise Conflict(f"the couple is already under the rule '{other}': lift it first")


def _rules_stream(program_id: str) -> str:
    return f"couple-rules-{program_id}"


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


def _proposed(pair: Pair) -> PairProposed:
    assert pair.expires_at is not None and pair.acceptance_mode != "immediate"
    return PairProposed(
        program_id=pair.program_id,
        pair_id=pair.pair_id,
        round_id=pair.round_id,
        mentor_id=pair.mentor_id,
        mentee_id=pair.mentee_id,
        score=pair.score,
        breakdown=pair.breakdown,
        engine_version=pair.engine_version,
        inputs_hash=pair.inputs_hash,
        acceptance_mode=pair.acceptance_mode,
        expires_at=pair.expires_at,
    )
