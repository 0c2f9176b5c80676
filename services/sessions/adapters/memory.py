"""Sessions' repositories in plain Python, for handler and HTTP tests without servers. They keep the contract of
adapters/repository.py (tests/contracts/sessions_uow.py runs the same tests on both); the in-memory unit of work
snapshots `SessionsState` on entry and restores it on rollback, which stands in for the transaction."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.sessions.adapters import repository
from services.sessions.domain.model import Agreement, Pair, ProgramGuidelines, Reflection, SessionRecord, StoryOptIn
from shared.auth import ProgramStaff
from shared.events import FeedbackGiven

NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class StoredKey:
    request_hash: str
    response: dict[str, Any] | None
    created_at: datetime


@dataclass
class SessionsState:
    """Everything the sessions service keeps, as the PostgreSQL tables would: `pairs` is the read model the
    projection writes (tests seed it), the rest is written by the handlers."""

    pairs: dict[str, Pair] = field(default_factory=dict)
    sessions: list[SessionRecord] = field(default_factory=list)
    feedback: list[FeedbackGiven] = field(default_factory=list)
    idempotency_keys: dict[tuple[str, str], StoredKey] = field(default_factory=dict)
    program_staff: dict[str, ProgramStaff] = field(default_factory=dict)  # read model too (tests seed it)
    programs: dict[str, ProgramGuidelines] = field(default_factory=dict)  # read model too (tests seed it)
    feedback_given_at: dict[str, datetime] = field(default_factory=dict)  # by feedback id
    agreements: dict[tuple[str, int], Agreement] = field(default_factory=dict)  # by (pair id, version)
    reflections: list[Reflection] = field(default_factory=list)
    pair_ends: dict[str, tuple[str, date]] = field(default_factory=dict)  # pair id -> (completed_by, completed_on)
    story_optins: dict[tuple[str, str], StoryOptIn] = field(default_factory=dict)  # by (pair id, participant id)


def member_pairs(state: SessionsState, program_id: str, participant_id: str) -> set[str]:
    """The pairs of one member in one program (an erasure is per program)."""
    return {p.pair_id for p in state.pairs.values() if p.program_id == program_id and p.has_member(participant_id)}


class InMemoryPairs(repository.Pairs):
    def __init__(self, state: SessionsState):
        self.state = state

    def _with_end(self, pair: Pair) -> Pair:
        if (end := self.state.pair_ends.get(pair.pair_id)) is None:
            return pair
        return replace(pair, status="completed", completed_by=end[0], completed_on=end[1])  # type: ignore[arg-type]

    async def get(self, pair_id: str) -> Pair | None:
        pair = self.state.pairs.get(pair_id)
        return self._with_end(pair) if pair else None

    async def of_participant(self, participant_ids: Collection[str]) -> list[Pair]:
        mine = [self._with_end(p) for p in self.state.pairs.values() if any(map(p.has_member, participant_ids))]
        return sorted(mine, key=lambda p: (p.formed_at or NEVER, p.pair_id))

    async def running(self) -> list[Pair]:
        return [p for p in map(self._with_end, self.state.pairs.values()) if p.status == "active"]

    async def complete(self, pair: Pair) -> bool:
        if pair.pair_id in self.state.pair_ends or pair.completed_by is None or pair.completed_on is None:
            return False
        self.state.pair_ends[pair.pair_id] = (pair.completed_by, pair.completed_on)
        return True


class InMemoryPrograms(repository.Programs):
    def __init__(self, state: SessionsState):
        self.state = state

    async def get(self, program_id: str) -> ProgramGuidelines | None:
        return self.state.programs.get(program_id)


class InMemoryAgreements(repository.Agreements):
    def __init__(self, state: SessionsState):
        self.state = state

    def _versions(self, pair_id: str) -> list[Agreement]:
        return sorted((a for (p, _), a in self.state.agreements.items() if p == pair_id), key=lambda a: a.version)

    async def latest(self, pair_id: str) -> Agreement | None:
        versions = self._versions(pair_id)
        return versions[-1] if versions else None

    async def in_force(self, pair_id: str) -> Agreement | None:
        signed = [a for a in self._versions(pair_id) if a.in_force]
        return signed[-1] if signed else None

    async def save(self, agreement: Agreement) -> None:
        kept = self.state.agreements.get((agreement.pair_id, agreement.version))
        if kept is not None:  # as the table's upsert: only signatures and the end date change
            agreement = replace(kept, signed_by=agreement.signed_by, ends_on=agreement.ends_on)
        self.state.agreements[agreement.pair_id, agreement.version] = agreement

    async def blank_written_by(self, program_id: str, participant_id: str, blank: str) -> None:
        pairs = member_pairs(self.state, program_id, participant_id)
        for key, agreement in self.state.agreements.items():
            if agreement.pair_id not in pairs:
                continue
            goals = tuple(replace(g, text=blank) if g.written_by == participant_id else g for g in agreement.goals)
            note = blank if agreement.proposed_by == participant_id else agreement.confidentiality_note
            self.state.agreements[key] = replace(agreement, goals=goals, confidentiality_note=note)


class InMemoryReflections(repository.Reflections):
    def __init__(self, state: SessionsState):
        self.state = state

    async def of_pair(self, pair_id: str) -> list[Reflection]:
        return sorted((r for r in self.state.reflections if r.pair_id == pair_id), key=lambda r: r.recorded_at)

    async def add(self, reflection: Reflection) -> None:
        if any(
            (r.pair_id, r.participant_id) == (reflection.pair_id, reflection.participant_id)
            for r in self.state.reflections
        ):
            raise ValueError("this member's reflection is already kept")  # the primary key in PostgreSQL
        self.state.reflections.append(reflection)

    async def blank_written_by(self, program_id: str, participant_id: str, blank: str) -> None:
        pairs = member_pairs(self.state, program_id, participant_id)
        self.state.reflections = [
            replace(r, learned=blank, changed=blank) if r.participant_id == participant_id and r.pair_id in pairs else r
            for r in self.state.reflections
        ]


class InMemoryStories(repository.Stories):
    def __init__(self, state: SessionsState):
        self.state = state

    async def get(self, pair_id: str, participant_id: str) -> StoryOptIn | None:
        return self.state.story_optins.get((pair_id, participant_id))

    async def save(self, choice: StoryOptIn) -> None:
        self.state.story_optins[choice.pair_id, choice.participant_id] = choice

    async def shared_in_program(self, program_id: str) -> tuple[list[Pair], list[Reflection]]:
        pairs = InMemoryPairs(self.state)
        shared = sorted(
            (
                r
                for r in self.state.reflections
                if (choice := self.state.story_optins.get((r.pair_id, r.participant_id))) is not None
                and choice.share
                and (pair := self.state.pairs.get(r.pair_id)) is not None
                and pair.program_id == program_id
                and r.pair_id in self.state.pair_ends
            ),
            key=lambda r: (r.pair_id, r.participant_id),
        )
        known = [await pairs.get(pair_id) for pair_id in sorted({r.pair_id for r in shared})]
        return [p for p in known if p is not None], shared


class InMemorySessions(repository.Sessions):
    def __init__(self, state: SessionsState):
        self.state = state

    async def add(self, session: SessionRecord) -> None:
        if any(s.session_id == session.session_id for s in self.state.sessions):
            raise ValueError("a session with this id is already kept")  # the primary key in PostgreSQL
        self.state.sessions.append(session)

    async def of_pair(self, pair_id: str) -> list[SessionRecord]:
        return sorted((s for s in self.state.sessions if s.pair_id == pair_id), key=lambda s: (s.held_on, s.logged_at))

    async def blank_written_by(self, program_id: str, participant_id: str, blank: str) -> None:
        pairs = member_pairs(self.state, program_id, participant_id)
        self.state.sessions = [
            replace(s, notes=blank if s.logged_by == participant_id else s.notes, topics=())
            if s.pair_id in pairs
            else s
            for s in self.state.sessions
        ]


class InMemoryFeedback(repository.Feedback):
    def __init__(self, state: SessionsState):
        self.state = state

    async def add(self, feedback: FeedbackGiven, given_at: datetime) -> None:
        if any(f.feedback_id == feedback.feedback_id for f in self.state.feedback):
            raise ValueError("feedback with this id is already kept")
        self.state.feedback.append(feedback)
        self.state.feedback_given_at[feedback.feedback_id] = given_at

    async def last_given_at(self, pair_id: str, member: str) -> datetime | None:
        mine = [f.feedback_id for f in self.state.feedback if f.pair_id == pair_id and f.given_by == member]
        return max((self.state.feedback_given_at[f] for f in mine), default=None)

    async def blank_written_by(self, program_id: str, participant_id: str, blank: str) -> None:
        pairs = member_pairs(self.state, program_id, participant_id)
        self.state.feedback = [
            f.model_copy(update={"learned": blank}) if f.given_by == participant_id and f.pair_id in pairs else f
            for f in self.state.feedback
        ]


class InMemoryIdempotencyKeys(repository.IdempotencyKeys):
    """One unit of work at a time, so there is no concurrent claim to wait for (that is PostgreSQL's part)."""

    def __init__(self, state: SessionsState):
        self.state = state

    async def claim(
        self, caller: str, key: str, request_hash: str, ttl: timedelta
    ) -> tuple[str, dict[str, Any]] | None:
        now = datetime.now(UTC)
        keys = self.state.idempotency_keys
        expired = [k for k, stored in keys.items() if stored.created_at < now - ttl]
        for k in expired[: repository.EXPIRED_PER_CLAIM]:
            del keys[k]
        earlier = keys.get((caller, key))
        if earlier is None or earlier.created_at < now - ttl:
            keys[caller, key] = StoredKey(request_hash, None, now)
            return None
        return earlier.request_hash, earlier.response or {}

    async def remember(self, caller: str, key: str, response: dict[str, Any]) -> None:
        keys = self.state.idempotency_keys
        keys[caller, key] = replace(keys[caller, key], response=response)

    async def forget_caller(self, caller: str) -> None:
        self.state.idempotency_keys = {k: v for k, v in self.state.idempotency_keys.items() if k[0] != caller}
