"""What enrolment keeps besides its events: launched programs and the participants enrolled in them.

Handlers see these interfaces only; adapters/postgres.py stores them in the tables of adapters/sql, in the
transaction of the unit of work, and adapters/memory.py keeps them in dicts for tests without servers.
tests/contracts/enrolment.py holds both to the same tests.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from datetime import date, datetime

from services.enrolment.domain.consent import Consent
from services.enrolment.domain.model import Invitation, Participant, Partnership, Program
from services.enrolment.domain.recognition import Certificate, Kudos
from services.enrolment.domain.roster import RosterEntry
from services.enrolment.domain.training import Completion, Module
from shared.events import LearningDirection


class Programs(ABC):
    @abstractmethod
    async def add(self, program: Program) -> None: ...

    @abstractmethod
    async def save(self, program: Program) -> None:
        """Store a changed program that `add` stored before."""

    @abstractmethod
    async def get(self, program_id: str) -> Program | None: ...

    @abstractmethod
    async def get_for_update(self, program_id: str) -> Program | None:
        """As `get`, and no other unit of work changes this program until this one ends."""

    @abstractmethod
    async def list(self, offset: int, limit: int) -> tuple[list[Program], int]:
        """A page of the programs in launch order, and how many there are."""

    @abstractmethod
    async def closed(self) -> builtins.list[Program]:
        """Every closed program (the retention job checks which ran out)."""

    @abstractmethod
    async def ids(self) -> builtins.list[str]:
        """Every program's id: a signed-in person's ids in all of them find what is theirs (ADR 0011)."""


class Participants(ABC):
    @abstractmethod
    async def add(self, participant: Participant) -> bool:
        """False (and nothing stored) when this employee is already enrolled in the program."""

    @abstractmethod
    async def save(self, participant: Participant) -> None:
        """Store a changed participant that `add` stored before."""

    @abstractmethod
    async def get(self, program_id: str, participant_id: str) -> Participant | None: ...

    @abstractmethod
    async def get_for_update(self, program_id: str, participant_id: str) -> Participant | None:
        """As `get`, and no other unit of work changes this participant until this one ends, so a decision
        taken on what was read still holds when it is stored."""

    @abstractmethod
    async def page(self, program_id: str, offset: int, limit: int) -> tuple[list[Participant], int]:
        """Up to `limit` participants of the program after the first `offset`, in enrolment order, and how
        many the program has in all."""

    @abstractmethod
    async def active_of_employees(self, employee_ids: Collection[str]) -> list[Participant]:
        """The active enrolments, in any program, of these employees, locked for update (a roster import or an
        identity provider changes what HR owns of them)."""

    @abstractmethod
    async def of_person(self, participant_ids: Collection[str]) -> list[Participant]:
        """The person's enrolments in every program (under any of their ids, ADR 0011), in enrolment order."""

    @abstractmethod
    async def not_erased(self, program_id: str, limit: int) -> list[str]:
        """Ids of up to `limit` of the program's participants whose personal details are still kept."""

    @abstractmethod
    async def names(self, program_id: str, participant_ids: list[str]) -> dict[str, str]:
        """participant id -> display name for those of `participant_ids` enrolled in the program and not erased."""


class Roster(ABC):
    """The eligible population, by employee id."""

    @abstractmethod
    async def get(self, employee_id: str) -> RosterEntry | None: ...

    @abstractmethod
    async def everyone(self) -> dict[str, RosterEntry]:
        """The whole roster by employee id (chains are derived over all of it), locked against other imports."""

    @abstractmethod
    async def put_many(self, entries: Sequence[RosterEntry]) -> None:
        """Insert or replace these entries, in one statement whatever their number."""

    @abstractmethod
    async def page(self, offset: int, limit: int) -> tuple[list[RosterEntry], int]:
        """Up to `limit` entries after the first `offset`, by employee id, and how many there are."""

    @abstractmethod
    async def by_pseudonym(self, pseudonym: str) -> RosterEntry | None: ...

    @abstractmethod
    async def remove(self, employee_id: str) -> None: ...

    @abstractmethod
    async def by_user_name(self, user_name: str) -> RosterEntry | None:
        """The entry an identity provider knows by this login name (or, without one, by this employee id)."""


class Consents(ABC):
    """Each person's consent to each version of a program's wording (table `consents`)."""

    @abstractmethod
    async def add(self, consent: Consent) -> None: ...

    @abstractmethod
    async def latest(self, program_id: str, participant_id: str) -> Consent | None:
        """The consent the person gave last in the program, withdrawn or not."""

    @abstractmethod
    async def save(self, consent: Consent) -> None:
        """Store the withdrawal of a consent `add` stored."""


class Invitations(ABC):
    @abstractmethod
    async def add(self, program_id: str, participant_id: str, at: datetime) -> bool:
        """False (and nothing stored) when the person is already invited to the program."""

    @abstractmethod
    async def of_person(self, participant_ids: Collection[str]) -> list[Invitation]:
        """The invitations to any of the person's ids (one per program, ADR 0011)."""


class Partnerships(ABC):
    """The pairs matching formed (the `partnerships` read model; written by the projection, read here)."""

    @abstractmethod
    async def active_of(self, participant_ids: Collection[str]) -> list[Partnership]:
        """The active pairs the person (any of their ids, ADR 0011) is a member of, oldest first."""

    @abstractmethod
    async def get(self, pair_id: str) -> Partnership | None: ...

    @abstractmethod
    async def completion(self, pair_id: str) -> date | None:
        """The day sessions completed the pair, if it did (known even before the pair's formation arrives)."""

    @abstractmethod
    async def completed_in(self, program_id: str) -> list[Partnership]:
        """The program's pairs that ran their course (never dissolved), by completion day."""

    @abstractmethod
    async def topics(self, pair_id: str) -> list[tuple[str, LearningDirection]]:
        """The topics of the pair's sessions, each with the direction its session was logged with."""

    @abstractmethod
    async def forget_topics_of(self, program_id: str, participant_id: str) -> list[str]:
        """Erasure: the topics of the participant's pairs in the program (any status) are forgotten, as a replay
        reads them once the pairs' keys are destroyed; the ids of those pairs."""


class Certificates(ABC):
    """The certificates issued to members of completed pairs (table `certificates`)."""

    @abstractmethod
    async def add(self, certificate: Certificate) -> None: ...

    @abstractmethod
    async def get(self, certificate_id: str) -> Certificate | None: ...

    @abstractmethod
    async def by_code(self, verification_code: str) -> Certificate | None: ...

    @abstractmethod
    async def of_pair(self, pair_id: str) -> list[Certificate]: ...

    @abstractmethod
    async def of_person(self, participant_ids: Collection[str]) -> list[Certificate]:
        """The person's certificates in every program (any of their ids), oldest first."""

    @abstractmethod
    async def in_program(self, program_id: str) -> list[Certificate]: ...


class KudosBook(ABC):
    """Kudos between partners, their messages with them (table `kudos`)."""

    @abstractmethod
    async def add(self, kudos: Kudos) -> None: ...

    @abstractmethod
    async def of_pair(self, pair_id: str) -> list[Kudos]: ...

    @abstractmethod
    async def of_person(self, participant_ids: Collection[str]) -> list[Kudos]:
        """Kudos the person (any of their ids) received or gave, newest first."""

    @abstractmethod
    async def in_program(self, program_id: str) -> list[Kudos]: ...

    @abstractmethod
    async def forget(self, program_id: str, participant_id: str) -> None:
        """Erase the messages of the kudos the person gave or received in the program (the counts stay)."""


class TrainingModules(ABC):
    """The modules programs published (table `training_modules`); those shipped with the product are not stored."""

    @abstractmethod
    async def add(self, module: Module) -> None:
        """Store a program's new version of a module (`module.program_id` set)."""

    @abstractmethod
    async def latest(self, program_id: str) -> list[Module]:
        """The program's latest version of each module it published, by module id."""

    @abstractmethod
    async def latest_of(self, program_id: str, module_id: str) -> Module | None: ...


class TrainingCompletions(ABC):
    """Who passed which module version's knowledge check (table `training_completions`)."""

    @abstractmethod
    async def add(self, completion: Completion) -> bool:
        """False (and nothing stored) when the person already completed this version of the module."""

    @abstractmethod
    async def of_person(self, program_id: str, participant_id: str) -> list[Completion]:
        """The person's completions in the program, oldest first."""
