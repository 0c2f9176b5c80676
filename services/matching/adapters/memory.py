"""Matching's repositories over plain Python state, for tests that need no database.

They keep the PostgreSQL repositories' contract (tests/contracts/matching_repositories.py), including the
orders of their queries; locks are no-ops, since one event loop and no other process share this state.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from services.matching.adapters.repository import Candidates, CoupleRules, Pairs, Programs, Rounds
from services.matching.domain.pairs import ENDED_FOR_GOOD, TAKEN, Pair
from services.matching.domain.rounds import Proposal
from shared.auth import ProgramStaff
from shared.program_staff import staff_of_launch


@dataclass(frozen=True)
class PoolEntry:
    profile: dict[str, Any]  # empty for a withdrawal that arrived before its enrolment
    status: str = "active"


@dataclass(frozen=True)
class RoundRecord:
    round_id: str
    program_id: str
    engine_version: str
    inputs_hash: str
    pairs_formed: int
    unmatched: list[dict[str, Any]]


@dataclass
class MatchingState:
    programs: dict[str, dict[str, Any]] = field(default_factory=dict)
    candidates: dict[tuple[str, str], PoolEntry] = field(default_factory=dict)
    rounds: dict[str, RoundRecord] = field(default_factory=dict)  # in commit order
    pairs: dict[str, Pair] = field(default_factory=dict)  # in formation order
    settings_versions: dict[str, int] = field(default_factory=dict)
    closed: dict[str, datetime] = field(default_factory=dict)
    declines: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # pair -> (participant, code, words)
    couple_rules: set[tuple[str, str, str, str]] = field(default_factory=set)  # (program, mentor, mentee, rule)
    training: set[tuple[str, str, str, int]] = field(default_factory=set)  # (program, participant, module, version)


class InMemoryPrograms(Programs):
    def __init__(self, state: MatchingState):
        self.state = state

    async def add(self, program_id: str, launched: dict[str, Any]) -> None:
        self.state.programs.setdefault(program_id, copy.deepcopy(launched))

    async def change(self, program_id: str, settings: dict[str, Any], settings_version: int) -> None:
        if self.state.settings_versions.get(program_id, 1 if program_id in self.state.programs else 0) < (
            settings_version
        ):
            self.state.programs[program_id] = copy.deepcopy(settings)
            self.state.settings_versions[program_id] = settings_version

    async def close(self, program_id: str, closed_at: datetime) -> None:
        if program_id in self.state.programs:
            self.state.closed.setdefault(program_id, closed_at)

    async def closed_at(self, program_id: str) -> datetime | None:
        return self.state.closed.get(program_id)

    async def get(self, program_id: str) -> dict[str, Any] | None:
        launched = self.state.programs.get(program_id)
        return copy.deepcopy(launched) if launched is not None else None

    async def staff(self) -> dict[str, ProgramStaff]:
        return {program_id: staff_of_launch(launched) for program_id, launched in self.state.programs.items()}


class InMemoryCandidates(Candidates):
    def __init__(self, state: MatchingState):
        self.state = state

    async def upsert(self, profile: dict[str, Any]) -> None:
        key = (profile["program_id"], profile["participant_id"])
        before = self.state.candidates.get(key)
        entry = PoolEntry(copy.deepcopy(profile))
        self.state.candidates[key] = replace(before, profile=entry.profile) if before else entry

    async def mark_withdrawn(self, program_id: str, participant_id: str) -> None:
        before = self.state.candidates.get((program_id, participant_id), PoolEntry({}))
        self.state.candidates[(program_id, participant_id)] = replace(before, status="withdrawn")

    async def erase(self, program_id: str, participant_id: str, erased: dict[str, Any]) -> None:
        entry = self.state.candidates.get((program_id, participant_id))
        if entry and entry.profile:
            self.state.candidates[(program_id, participant_id)] = replace(
                entry, profile={**entry.profile, **copy.deepcopy(erased)}
            )

    async def get(self, program_id: str, participant_id: str) -> dict[str, Any] | None:
        entry = self.state.candidates.get((program_id, participant_id))
        return copy.deepcopy(entry.profile) if entry and entry.profile else None

    async def active(self, program_id: str, *, lock: bool = False) -> list[dict[str, Any]]:
        entries = sorted(
            (participant_id, entry)
            for (program, participant_id), entry in self.state.candidates.items()
            if program == program_id and entry.status == "active" and entry.profile
        )
        return [copy.deepcopy(entry.profile) for _, entry in entries]

    async def counts(self, program_id: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for (program, _), entry in self.state.candidates.items():
            if program == program_id:
                counts[entry.status] = counts.get(entry.status, 0) + 1
        return counts

    async def active_one(self, program_id: str, participant_id: str) -> dict[str, Any] | None:
        entry = self.state.candidates.get((program_id, participant_id))
        return copy.deepcopy(entry.profile) if entry and entry.status == "active" and entry.profile else None

    async def record_training(self, program_id: str, participant_id: str, module_id: str, module_version: int) -> None:
        self.state.training.add((program_id, participant_id, module_id, module_version))

    async def trained(self, program_id: str) -> dict[str, set[str]]:
        trained: dict[str, set[str]] = {}
        for program, participant_id, module_id, _version in self.state.training:
            if program == program_id:
                trained.setdefault(participant_id, set()).add(module_id)
        return trained


class InMemoryRounds(Rounds):
    def __init__(self, state: MatchingState):
        self.state = state

    async def lock(self, program_id: str) -> None:
        pass

    async def add(self, round_id: str, program_id: str, proposal: Proposal) -> None:
        if round_id in self.state.rounds:
            raise ValueError(f"round {round_id} already exists")
        self.state.rounds[round_id] = RoundRecord(
            round_id,
            program_id,
            proposal.engine_version,
            proposal.inputs_hash,
            len(proposal.pairs),
            [u.model_dump() for u in proposal.unmatched],
        )


class InMemoryPairs(Pairs):
    def __init__(self, state: MatchingState):
        self.state = state

    async def add(self, pair: Pair) -> None:
        if pair.pair_id in self.state.pairs:
            raise ValueError(f"pair {pair.pair_id} already exists")
        if pair.origin == "round" and pair.round_id not in self.state.rounds:
            raise ValueError(f"pair {pair.pair_id} names an unknown round")
        self.state.pairs[pair.pair_id] = pair

    async def save(self, pair: Pair) -> None:
        before = self.state.pairs.get(pair.pair_id)
        if before is not None:
            self.state.pairs[pair.pair_id] = replace(
                before,
                status=pair.status,
                dissolve_reason=pair.dissolve_reason,
                version=pair.version,
                flags=pair.flags,
                mentor_answer=pair.mentor_answer,
                mentee_answer=pair.mentee_answer,
            )

    async def get(self, pair_id: str, *, for_update: bool = False) -> Pair | None:
        return self.state.pairs.get(pair_id)

    async def of_program(self, program_id: str, status: str | None = None) -> list[Pair]:
        return [p for p in self._in_formation_order() if p.program_id == program_id and status in (None, p.status)]

    def _in_formation_order(self) -> list[Pair]:
        # PostgreSQL orders by formed_at, the time of the transaction that added the pair (a round's, a manual
        # pair's), then pair id: here, the first pair added in each round's transaction, then pair id.
        first: dict[str, int] = {}
        for n, p in enumerate(self.state.pairs.values()):
            first.setdefault(p.round_id, n)
        return sorted(self.state.pairs.values(), key=lambda p: (first[p.round_id], p.pair_id))

    async def active_of(self, program_id: str, participant_id: str) -> list[Pair]:
        return sorted(
            (p for p in await self.of_program(program_id, "active") if p.has_member(participant_id)),
            key=lambda p: p.pair_id,
        )

    async def dissolved_couples(self, program_id: str) -> list[tuple[str, str]]:
        return [(p.mentor_id, p.mentee_id) for p in await self.of_program(program_id) if p.status in ENDED_FOR_GOOD]

    async def taken(self, program_id: str) -> list[Pair]:
        return [p for p in await self.of_program(program_id) if p.status in TAKEN]

    async def open_proposals_of(self, program_id: str, participant_id: str) -> list[Pair]:
        return sorted(
            (p for p in await self.of_program(program_id, "proposed") if p.has_member(participant_id)),
            key=lambda p: p.pair_id,
        )

    async def due_proposals(self, now: datetime, limit: int = 500) -> list[Pair]:
        due = [
            p
            for p in self.state.pairs.values()
            if p.status == "proposed" and p.expires_at is not None and p.expires_at <= now
        ]
        return sorted(due, key=lambda p: (p.expires_at or now, p.pair_id))[:limit]

    async def proposals_of_participant(self, participant_ids: Collection[str]) -> list[Pair]:
        return sorted(
            (p for p in self.state.pairs.values() if p.status == "proposed" and _member_of(p, participant_ids)),
            key=lambda p: (p.program_id, p.pair_id),
        )

    async def proposals_of_program(self, program_id: str) -> list[Pair]:
        proposed = [p for p in self.state.pairs.values() if p.program_id == program_id and p.proposed_at is not None]
        return sorted(proposed, key=lambda p: (p.proposed_at, p.pair_id))

    async def record_decline(self, pair_id: str, participant_id: str, reason_code: str, reason: str) -> None:
        self.state.declines.setdefault(pair_id, (participant_id, reason_code, reason))

    async def decline_reason(self, pair_id: str) -> tuple[str, str] | None:
        decline = self.state.declines.get(pair_id)
        return (decline[1], decline[2]) if decline else None

    async def forget_words_of(self, program_id: str, participant_id: str) -> list[str]:
        theirs = sorted(
            p.pair_id for p in self.state.pairs.values() if p.program_id == program_id and p.has_member(participant_id)
        )
        for pair_id in theirs:
            pair = self.state.pairs[pair_id]
            if pair.dissolve_reason is not None:
                self.state.pairs[pair_id] = replace(pair, dissolve_reason="")
            decline = self.state.declines.get(pair_id)
            if decline and decline[0] == participant_id:
                self.state.declines[pair_id] = (decline[0], decline[1], "")
        return theirs

    async def active_of_participant(self, participant_ids: Collection[str]) -> list[Pair]:
        return sorted(
            (p for p in self.state.pairs.values() if p.status == "active" and _member_of(p, participant_ids)),
            key=lambda p: (p.program_id, p.pair_id),
        )


class InMemoryCoupleRules(CoupleRules):
    def __init__(self, state: MatchingState):
        self.state = state

    async def add(self, program_id: str, mentor_id: str, mentee_id: str, rule: str) -> bool:
        key = (program_id, mentor_id, mentee_id, rule)
        added = key not in self.state.couple_rules
        self.state.couple_rules.add(key)
        return added

    async def remove(self, program_id: str, mentor_id: str, mentee_id: str, rule: str) -> bool:
        key = (program_id, mentor_id, mentee_id, rule)
        removed = key in self.state.couple_rules
        self.state.couple_rules.discard(key)
        return removed

    async def of_program(self, program_id: str) -> list[tuple[str, str, str]]:
        return sorted((m, e, r) for program, m, e, r in self.state.couple_rules if program == program_id)


def _member_of(pair: Pair, participant_ids: Collection[str]) -> bool:
    return pair.mentor_id in participant_ids or pair.mentee_id in participant_ids
