"""Matching's repositories over plain Python state, for tests that need no database.

They keep the PostgreSQL repositories' contract (tests/contracts/matching_repositories.py), including the
orders of their queries; locks are no-ops, since one event loop and no other process share this state.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Any

from services.matching.adapters.repository import Candidates, Pairs, Programs, Rounds
from services.matching.domain.pairs import Pair
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
    pairs: dict[str, Pair] = field(default_factory=dict)


class InMemoryPrograms(Programs):
    def __init__(self, state: MatchingState):
        self.state = state

    async def add(self, program_id: str, launched: dict[str, Any]) -> None:
        self.state.programs.setdefault(program_id, copy.deepcopy(launched))

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
        if pair.round_id not in self.state.rounds:
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
            )

    async def get(self, pair_id: str, *, for_update: bool = False) -> Pair | None:
        return self.state.pairs.get(pair_id)

    async def of_program(self, program_id: str, status: str | None = None) -> list[Pair]:
        # PostgreSQL orders by formed_at, the time of the round's transaction, then pair id.
        committed = {round_id: n for n, round_id in enumerate(self.state.rounds)}
        return sorted(
            (p for p in self.state.pairs.values() if p.program_id == program_id and status in (None, p.status)),
            key=lambda p: (committed[p.round_id], p.pair_id),
        )

    async def active_of(self, program_id: str, participant_id: str) -> list[Pair]:
        return sorted(
            (p for p in await self.of_program(program_id, "active") if p.has_member(participant_id)),
            key=lambda p: p.pair_id,
        )

    async def dissolved_couples(self, program_id: str) -> list[tuple[str, str]]:
        return [(p.mentor_id, p.mentee_id) for p in await self.of_program(program_id, "dissolved")]

    async def active_of_participant(self, participant_id: str) -> list[Pair]:
        return sorted(
            (p for p in self.state.pairs.values() if p.status == "active" and p.has_member(participant_id)),
            key=lambda p: (p.program_id, p.pair_id),
        )
