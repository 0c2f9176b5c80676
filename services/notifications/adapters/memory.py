"""Notifications' repositories over plain dicts, for handler and HTTP tests without PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from services.notifications.adapters.repository import Channels, Contacts, Directory, Notifications, PreferencesStore
from services.notifications.domain.channels import ProgramChannels
from services.notifications.domain.model import Notification, PairMembers, ProgramFacts
from services.notifications.domain.preferences import Preferences
from shared.contacts import ContactDetails


@dataclass
class NotificationsState:
    notifications: dict[str, Notification] = field(default_factory=dict)  # by id, in recording order
    contacts: dict[str, ContactDetails] = field(default_factory=dict)
    programs: dict[str, ProgramFacts] = field(default_factory=dict)
    pairs: dict[str, PairMembers] = field(default_factory=dict)
    awaiting: dict[str, tuple[str, date]] = field(default_factory=dict)  # cause event id -> (pair id, held on)
    channels: dict[str, ProgramChannels] = field(default_factory=dict)
    preferences: dict[str, Preferences] = field(default_factory=dict)


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
