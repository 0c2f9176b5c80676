"""Notifications' ports: what the service layer reads and writes, whatever the backend."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import date, datetime

from services.notifications.domain.branding import Branding
from services.notifications.domain.channels import ProgramChannels
from services.notifications.domain.model import Notification, PairMembers, ProgramFacts
from services.notifications.domain.preferences import Preferences
from services.notifications.domain.rules import PairState, PairStatus, Proposal, Snapshot
from shared.contacts import ContactDetails


class Notifications(ABC):
    @abstractmethod
    async def add(self, notification: Notification) -> bool:
        """Record it; False (and nothing changed) when a notification with its id exists already."""

    @abstractmethod
    async def due(self, now: datetime, limit: int) -> list[Notification]:
        """Pending notifications whose next attempt is due, oldest first (not locked: a sender claims one,
        `SendClaims`, before it sends it)."""

    @abstractmethod
    async def save(self, notification: Notification) -> None: ...

    @abstractmethod
    async def get(self, notification_id: str) -> Notification | None: ...

    @abstractmethod
    async def in_digest(self, digest_id: str) -> list[Notification]:
        """The notifications batched into a digest, in the order they were recorded."""

    @abstractmethod
    async def of_program(self, program_id: str, offset: int, limit: int) -> tuple[list[Notification], int]:
        """The program's notifications, newest first, and how many it has."""

    @abstractmethod
    async def locked(self, notification_id: str) -> Notification | None:
        """The notification, locked until the transaction ends (a re-queue and the sender do not cross)."""

    @abstractmethod
    async def last_per_pair(
        self, program_id: str, offset: int, limit: int
    ) -> tuple[list[tuple[Notification, datetime]], int]:
        """The last notification to each member of each of the program's pairs, with when it was recorded, pairs in
        id order (a page of them), and how many pairs have notifications."""

    @abstractmethod
    async def recorded(self, notification_ids: list[str]) -> dict[str, Notification]:
        """Those of `notification_ids` recorded already, by id."""


class SendClaims(ABC):
    """Which notifications a sender is sending right now, across replicas: a claim keeps every other sender off
    the notification while no transaction is open (a transaction held across an SMTP or webhook call would hold
    back every relay of the database, docs/adr/0010), and ends with the sender, crash included, so a restarted
    sender retries what a killed one was sending."""

    @abstractmethod
    async def claim(self, notification_id: str) -> bool:
        """Take the claim; False when another sender holds it."""

    @abstractmethod
    async def release(self, notification_id: str) -> None: ...


class Contacts(ABC):
    @abstractmethod
    async def get(self, participant_id: str) -> ContactDetails | None: ...

    @abstractmethod
    async def put(self, details: ContactDetails) -> None: ...

    @abstractmethod
    async def forget(self, participant_id: str) -> None:
        """The person's tombstone arrived: nothing of them is kept."""


class Directory(ABC):
    """The `directory` read model and the sessions waiting for their pair. Its writes are the projection's
    (service_layer/directory.py), so a replay rebuilds it from the log."""

    @abstractmethod
    async def program(self, program_id: str) -> ProgramFacts | None: ...

    @abstractmethod
    async def pair(self, pair_id: str) -> PairMembers | None: ...

    @abstractmethod
    async def await_pair(self, cause_event_id: str, pair_id: str, held_on: date) -> None:
        """Keep a SessionHeld whose pair is not known yet, until the pair arrives."""

    @abstractmethod
    async def sessions_awaiting(self, pair_id: str) -> list[tuple[str, date]]:
        """(cause event id, held on) of the sessions that waited for this pair; they wait no more."""

    @abstractmethod
    async def pairs_of(self, program_id: str) -> list[PairState]: ...

    @abstractmethod
    async def snapshot(self, ended_since: datetime) -> Snapshot:
        """Every program, the active pairs and those that ended since `ended_since`, the proposals waiting."""

    # The projection's writes.
    @abstractmethod
    async def put_program(self, facts: ProgramFacts, settings_version: int) -> None:
        """The program's facts, unless a newer settings_version is kept already."""

    @abstractmethod
    async def proposed(self, proposal: Proposal) -> None: ...

    @abstractmethod
    async def accepted(self, pair_id: str, participant_id: str) -> None: ...

    @abstractmethod
    async def proposal_ended(self, pair_id: str) -> None:
        """Declined, expired or formed: it waits no more."""

    @abstractmethod
    async def pair_formed(self, pair: PairMembers, formed_at: datetime) -> None: ...

    @abstractmethod
    async def session_held(self, pair_id: str, held_on: date) -> None:
        """The pair's latest session date (what "due" and "at risk" count from)."""

    @abstractmethod
    async def agreement_in_force(self, pair_id: str, cadence_days: int) -> None: ...

    @abstractmethod
    async def flagged(self, pair_id: str, at: datetime, cause_event_id: str) -> None: ...

    @abstractmethod
    async def pair_ended(self, pair_id: str, status: PairStatus, at: datetime) -> None: ...


class Channels(ABC):
    """Programs' destinations (secrets: this table only)."""

    @abstractmethod
    async def get(self, program_id: str) -> ProgramChannels | None: ...

    @abstractmethod
    async def put(self, channels: ProgramChannels) -> None: ...


class PreferencesStore(ABC):
    @abstractmethod
    async def get(self, participant_id: str) -> Preferences | None:
        """None: the person never set any (e-mail, immediately, no quiet hours)."""

    @abstractmethod
    async def put(self, preferences: Preferences) -> None: ...


class BrandingStore(ABC):
    """Programs' branding of their messages (program words, no personal data)."""

    @abstractmethod
    async def get(self, program_id: str) -> Branding | None: ...

    @abstractmethod
    async def put(self, branding: Branding) -> None: ...
