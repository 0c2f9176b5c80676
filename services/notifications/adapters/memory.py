"""Notifications' repositories over plain dicts, for handler and HTTP tests without PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from services.notifications.adapters.repository import (
    BrandingStore,
    Channels,
    Contacts,
    Directory,
    Notifications,
    PreferencesStore,
    SendClaims,
)
from services.notifications.domain.branding import Branding
from services.notifications.domain.channels import ProgramChannels
from services.notifications.domain.model import Notification, PairMembers, ProgramFacts
from services.notifications.domain.preferences import Preferences
from services.notifications.domain.rules import PairState, PairStatus, Proposal, Snapshot
from shared.contacts import ContactDetails


@dataclass
class NotificationsState:
    notifications: dict[str, Notification] = field(default_factory=dict)  # by id, in recording order
    contacts: dict[str, ContactDetails] = field(default_factory=dict)
    programs: dict[str, ProgramFacts] = field(default_factory=dict)
    pairs: dict[str, PairMembers] = field(default_factory=dict)  # a PairState once its PairFormed was applied
    settings_versions: dict[str, int] = field(default_factory=dict)
    proposals: dict[str, Proposal] = field(default_factory=dict)
    awaiting: dict[str, tuple[str, date]] = field(default_factory=dict)  # cause event id -> (pair id, held on)
    channels: dict[str, ProgramChannels] = field(default_factory=dict)
    branding: dict[str, Branding] = field(default_factory=dict)
    preferences: dict[str, Preferences] = field(default_factory=dict)


class InMemorySendClaims(SendClaims):
    def __init__(self) -> None:
        self.held: set[str] = set()

    async def claim(self, notification_id: str) -> bool:
        if notification_id in self.held:
            return False
        self.held.add(notification_id)
        return True

    async def release(self, notification_id: str) -> None:
        self.held.discard(notification_id)


class InMemoryNotifications(Notifications):
    def __init__(self, state: NotificationsState):
        self.state = state

    async def add(self, notification: Notification) -> bool:
        if notification.notification_id in self.state.notifications:
            return False
        self.state.notifications[notification.notification_id] = notification
        return True

    async def due(self, now: datetime, limit: int) -> list[Notification]:
        due = [n for n in self.state.notifications.values() if n.status == "pending" and n.next_attempt_at <= now]
        return sorted(due, key=lambda n: (n.next_attempt_at, n.notification_id))[:limit]

    async def save(self, notification: Notification) -> None:
        if notification.notification_id in self.state.notifications:
            self.state.notifications[notification.notification_id] = notification

    async def get(self, notification_id: str) -> Notification | None:
        return self.state.notifications.get(notification_id)

    async def in_digest(self, digest_id: str) -> list[Notification]:
        return [n for n in self.state.notifications.values() if n.digest_id == digest_id]

    async def of_program(self, program_id: str, offset: int, limit: int) -> tuple[list[Notification], int]:
        mine = [n for n in reversed(self.state.notifications.values()) if n.program_id == program_id]
        return mine[offset : offset + limit], len(mine)

    async def locked(self, notification_id: str) -> Notification | None:
        return self.state.notifications.get(notification_id)

    async def last_per_pair(
        self, program_id: str, offset: int, limit: int
    ) -> tuple[list[tuple[Notification, datetime]], int]:
        # Recording order stands in for recorded_at: the newest per (pair, member) is the last one seen.
        last: dict[tuple[str, str], Notification] = {}
        for n in self.state.notifications.values():
            if n.program_id == program_id and n.participant_id is not None and "pair_id" in n.context:
                last[(n.context["pair_id"], n.participant_id)] = n
        pairs = sorted({pair for pair, _ in last})
        page = set(pairs[offset : offset + limit])
        found = [(n, n.next_attempt_at) for key, n in sorted(last.items()) if key[0] in page]
        return found, len(pairs)

    async def recorded(self, notification_ids: list[str]) -> dict[str, Notification]:
        return {i: self.state.notifications[i] for i in notification_ids if i in self.state.notifications}


class InMemoryContacts(Contacts):
    def __init__(self, state: NotificationsState):
        self.state = state

    async def get(self, participant_id: str) -> ContactDetails | None:
        return self.state.contacts.get(participant_id)

    async def put(self, details: ContactDetails) -> None:
        self.state.contacts[details.participant_id] = details

    async def forget(self, participant_id: str) -> None:
        self.state.contacts.pop(participant_id, None)


class InMemoryDirectory(Directory):
    def __init__(self, state: NotificationsState):
        self.state = state

    async def program(self, program_id: str) -> ProgramFacts | None:
        return self.state.programs.get(program_id)

    async def pair(self, pair_id: str) -> PairMembers | None:
        return self.state.pairs.get(pair_id)

    async def await_pair(self, cause_event_id: str, pair_id: str, held_on: date) -> None:
        self.state.awaiting.setdefault(cause_event_id, (pair_id, held_on))

    async def sessions_awaiting(self, pair_id: str) -> list[tuple[str, date]]:
        found = sorted((cause, held) for cause, (pair, held) in self.state.awaiting.items() if pair == pair_id)
        for cause, _ in found:
            del self.state.awaiting[cause]
        return found

    async def pairs_of(self, program_id: str) -> list[PairState]:
        return [p for p in self._states() if p.program_id == program_id]

    async def snapshot(self, ended_since: datetime) -> Snapshot:
        pairs = [p for p in self._states() if p.active or (p.ended_at is not None and p.ended_at >= ended_since)]
        return Snapshot(dict(self.state.programs), pairs, list(self.state.proposals.values()))

    def _states(self) -> list[PairState]:
        return [p for p in self.state.pairs.values() if isinstance(p, PairState)]

    async def put_program(self, facts: ProgramFacts, settings_version: int) -> None:
        if self.state.settings_versions.get(facts.program_id, 0) < settings_version:
            self.state.programs[facts.program_id] = facts
            self.state.settings_versions[facts.program_id] = settings_version

    async def proposed(self, proposal: Proposal) -> None:
        self.state.proposals.setdefault(proposal.pair_id, proposal)

    async def accepted(self, pair_id: str, participant_id: str) -> None:
        if (proposal := self.state.proposals.get(pair_id)) is not None:
            self.state.proposals[pair_id] = replace(proposal, accepted_by=proposal.accepted_by | {participant_id})

    async def proposal_ended(self, pair_id: str) -> None:
        self.state.proposals.pop(pair_id, None)

    async def pair_formed(self, pair: PairMembers, formed_at: datetime) -> None:
        self.state.proposals.pop(pair.pair_id, None)
        if not isinstance(self.state.pairs.get(pair.pair_id), PairState):
            self.state.pairs[pair.pair_id] = PairState(
                pair.pair_id, pair.program_id, pair.mentor_id, pair.mentee_id, formed_at=formed_at
            )

    async def session_held(self, pair_id: str, held_on: date) -> None:
        self._update(pair_id, lambda p: {"last_session_on": max(held_on, p.last_session_on or held_on)})

    async def agreement_in_force(self, pair_id: str, cadence_days: int) -> None:
        self._update(pair_id, lambda p: {"agreed_cadence_days": cadence_days})

    async def flagged(self, pair_id: str, at: datetime, cause_event_id: str) -> None:
        self._update(pair_id, lambda p: {"flagged_at": at, "flag_cause": cause_event_id})

    async def pair_ended(self, pair_id: str, status: PairStatus, at: datetime) -> None:
        self._update(pair_id, lambda p: {"status": status, "ended_at": at} if p.active else {})

    def _update(self, pair_id: str, change: Callable[[PairState], dict[str, Any]]) -> None:
        if isinstance(pair := self.state.pairs.get(pair_id), PairState):
            self.state.pairs[pair_id] = replace(pair, **change(pair))


class InMemoryChannels(Channels):
    def __init__(self, state: NotificationsState):
        self.state = state

    async def get(self, program_id: str) -> ProgramChannels | None:
        return self.state.channels.get(program_id)

    async def put(self, channels: ProgramChannels) -> None:
        self.state.channels[channels.program_id] = channels


class InMemoryPreferences(PreferencesStore):
    def __init__(self, state: NotificationsState):
        self.state = state

    async def get(self, participant_id: str) -> Preferences | None:
        return self.state.preferences.get(participant_id)

    async def put(self, preferences: Preferences) -> None:
        self.state.preferences[preferences.participant_id] = preferences


class InMemoryBranding(BrandingStore):
    def __init__(self, state: NotificationsState):
        self.state = state

    async def get(self, program_id: str) -> Branding | None:
        return self.state.branding.get(program_id)

    async def put(self, branding: Branding) -> None:
        self.state.branding[branding.program_id] = branding
