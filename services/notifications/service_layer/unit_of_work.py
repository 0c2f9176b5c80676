"""Notifications' unit of work: its repositories and its event store in one transaction (shared/uow.py)."""

from __future__ import annotations

import asyncpg

from services.notifications.adapters.memory import (
    InMemoryBranding,
    InMemoryChannels,
    InMemoryContacts,
    InMemoryDirectory,
    InMemoryNotifications,
    InMemoryPreferences,
    InMemorySendClaims,
    NotificationsState,
)
from services.notifications.adapters.postgres import (
    PostgresBranding,
    PostgresChannels,
    PostgresContacts,
    PostgresDirectory,
    PostgresNotifications,
    PostgresPreferences,
    PostgresSendClaims,
)
from services.notifications.adapters.repository import (
    BrandingStore,
    Channels,
    Contacts,
    Directory,
    Notifications,
    PreferencesStore,
    SendClaims,
)
from shared.eventstore import InMemoryEventStore, PostgresEventStore
from shared.uow import InMemoryUnitOfWork, PostgresUnitOfWork, UnitOfWork


class NotificationsUnitOfWork(UnitOfWork):
    """Bound on entering `async with`: use the repositories only inside the block. `claims` works outside it."""

    claims: SendClaims
    notifications: Notifications
    contacts: Contacts
    directory: Directory
    channels: Channels
    preferences: PreferencesStore
    branding: BrandingStore


class PostgresNotificationsUnitOfWork(PostgresUnitOfWork, NotificationsUnitOfWork):
    def __init__(self, pool: asyncpg.Pool, store: PostgresEventStore, *, conn: asyncpg.Connection | None = None):
        super().__init__(pool, store, conn=conn)
        self.claims = PostgresSendClaims(pool, store)  # touches neither until a sender claims

    def _bind(self, conn: asyncpg.Connection) -> None:
        self.notifications = PostgresNotifications(conn)
        self.contacts = PostgresContacts(conn)
        self.directory = PostgresDirectory(conn)
        self.channels = PostgresChannels(conn)
        self.preferences = PostgresPreferences(conn)
        self.branding = PostgresBranding(conn)


class InMemoryNotificationsUnitOfWork(InMemoryUnitOfWork, NotificationsUnitOfWork):
    state: NotificationsState

    def __init__(self, state: NotificationsState | None = None, store: InMemoryEventStore | None = None):
        super().__init__(state or NotificationsState(), store)
        self.claims = InMemorySendClaims()

    def _bind(self, state: NotificationsState) -> None:
        self.notifications = InMemoryNotifications(state)
        self.contacts = InMemoryContacts(state)
        self.directory = InMemoryDirectory(state)
        self.channels = InMemoryChannels(state)
        self.preferences = InMemoryPreferences(state)
        self.branding = InMemoryBranding(state)
