"""Enrolment's repositories over plain dicts, for handler and HTTP tests without PostgreSQL. Dicts keep
insertion order, which stands in for the tables' launched_at / enrolled_at ordering."""

from __future__ import annotations

import builtins
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from services.enrolment.adapters.repository import (
    Certificates,
    Consents,
    Invitations,
    KudosBook,
    Participants,
    Partnerships,
    Programs,
    Roster,
    TrainingCompletions,
    TrainingModules,
)
from services.enrolment.domain.consent import Consent
from services.enrolment.domain.model import Invitation, Participant, Partnership, Program
from services.enrolment.domain.recognition import Certificate, Kudos
from services.enrolment.domain.roster import RosterEntry
from services.enrolment.domain.training import Completion, Module
from shared.events import LearningDirection


@dataclass
class EnrolmentState:
    programs: dict[str, Program] = field(default_factory=dict)
    participants: dict[tuple[str, str], Participant] = field(default_factory=dict)  # (program_id, participant_id)
    roster: dict[str, RosterEntry] = field(default_factory=dict)  # by employee id
    consents: dict[tuple[str, str, int], Consent] = field(default_factory=dict)  # (program, participant, version)
    invitations: dict[tuple[str, str], Invitation] = field(default_factory=dict)  # (program_id, participant_id)
    partnerships: dict[str, Partnership] = field(default_factory=dict)  # by pair id
    training_modules: dict[tuple[str, str, int], Module] = field(default_factory=dict)  # (program, module, version)
    training_completions: dict[tuple[str, str, str, int], Completion] = field(default_factory=dict)
    partnership_topics: dict[str, list[tuple[str, LearningDirection]]] = field(default_factory=dict)  # by pair id
    certificates: dict[str, Certificate] = field(default_factory=dict)  # by certificate id
    kudos: list[Kudos] = field(default_factory=list)  # in the order given
    contact_outbox: list[str] = field(default_factory=list)  # participant ids whose contact details changed


class InMemoryPrograms(Programs):
    def __init__(self, state: EnrolmentState):
        self.state = state

    async def add(self, program: Program) -> None:
        if program.program_id in self.state.programs:
            raise ValueError(f"program {program.program_id} exists")  # the table's primary key
        self.state.programs[program.program_id] = program

    async def save(self, program: Program) -> None:
        if program.program_id in self.state.programs:
            self.state.programs[program.program_id] = program

    async def get(self, program_id: str) -> Program | None:
        return self.state.programs.get(program_id)

    async def get_for_update(self, program_id: str) -> Program | None:
        # The twin serves one test at a time, so there is no other unit of work to hold off.
        return await self.get(program_id)

    async def list(self, offset: int, limit: int) -> tuple[list[Program], int]:
        programs = list(self.state.programs.values())  # insertion order is launch order
        return programs[offset : offset + limit], len(programs)

    async def closed(self) -> builtins.list[Program]:
        return [p for p in self.state.programs.values() if p.closed_at is not None]

    async def ids(self) -> builtins.list[str]:
        return list(self.state.programs)


class InMemoryParticipants(Participants):
    def __init__(self, state: EnrolmentState):
        self.state = state

    async def add(self, participant: Participant) -> bool:
        program_id = participant.profile.program_id
        if program_id not in self.state.programs:
            raise ValueError(f"no program {program_id}")  # the table's foreign key
        taken = (program_id, participant.profile.participant_id) in self.state.participants or any(
            p.profile.program_id == program_id and p.employee_id == participant.employee_id
            for p in self.state.participants.values()
        )
        if not taken:
            self.state.participants[_key(participant)] = participant
            self.state.contact_outbox.append(participant.profile.participant_id)
        return not taken

    async def save(self, participant: Participant) -> None:
        if _key(participant) in self.state.participants:
            self.state.participants[_key(participant)] = participant
            self.state.contact_outbox.append(participant.profile.participant_id)

    async def get(self, program_id: str, participant_id: str) -> Participant | None:
        return self.state.participants.get((program_id, participant_id))

    async def get_for_update(self, program_id: str, participant_id: str) -> Participant | None:
        # The twin serves one test at a time, so there is no other unit of work to hold off.
        return await self.get(program_id, participant_id)

    async def not_erased(self, program_id: str, limit: int) -> list[str]:
        kept = [p for (program, _), p in self.state.participants.items() if program == program_id]
        return sorted(p.profile.participant_id for p in kept if p.status != "erased")[:limit]

    async def page(self, program_id: str, offset: int, limit: int) -> tuple[list[Participant], int]:
        enrolled = [p for (program, _), p in self.state.participants.items() if program == program_id]
        return enrolled[offset : offset + limit], len(enrolled)

    async def active_of_employees(self, employee_ids: Collection[str]) -> list[Participant]:
        wanted = set(employee_ids)
        return [p for p in self.state.participants.values() if p.status == "active" and p.employee_id in wanted]

    async def of_person(self, participant_ids: Collection[str]) -> list[Participant]:
        return [p for (_, person), p in self.state.participants.items() if person in participant_ids]

    async def names(self, program_id: str, participant_ids: list[str]) -> dict[str, str]:
        found = (self.state.participants.get((program_id, i)) for i in participant_ids)
        return {p.profile.participant_id: p.display_name for p in found if p is not None and p.status != "erased"}


class InMemoryRoster(Roster):
    def __init__(self, state: EnrolmentState):
        self.state = state

    async def get(self, employee_id: str) -> RosterEntry | None:
        return self.state.roster.get(employee_id)

    async def everyone(self) -> dict[str, RosterEntry]:
        return dict(self.state.roster)

    async def put_many(self, entries: Sequence[RosterEntry]) -> None:
        self.state.roster.update({e.employee_id: e for e in entries})

    async def page(self, offset: int, limit: int) -> tuple[list[RosterEntry], int]:
        entries = [self.state.roster[k] for k in sorted(self.state.roster)]
        return entries[offset : offset + limit], len(entries)

    async def remove(self, employee_id: str) -> None:
        self.state.roster.pop(employee_id, None)

    async def by_pseudonym(self, pseudonym: str) -> RosterEntry | None:
        return next((e for e in self.state.roster.values() if e.pseudonym == pseudonym), None)

    async def by_user_name(self, user_name: str) -> RosterEntry | None:
        return next((e for e in self.state.roster.values() if (e.user_name or e.employee_id) == user_name), None)


class InMemoryConsents(Consents):
    def __init__(self, state: EnrolmentState):
        self.state = state

    async def add(self, consent: Consent) -> None:
        self.state.consents[(consent.program_id, consent.participant_id, consent.version)] = consent

    async def latest(self, program_id: str, participant_id: str) -> Consent | None:
        given = [c for (p, person, _), c in self.state.consents.items() if (p, person) == (program_id, participant_id)]
        return max(given, key=lambda c: c.given_at, default=None)

    async def save(self, consent: Consent) -> None:
        await self.add(consent)


class InMemoryInvitations(Invitations):
    def __init__(self, state: EnrolmentState):
        self.state = state

    async def add(self, program_id: str, participant_id: str, at: datetime) -> bool:
        if (program_id, participant_id) in self.state.invitations:
            return False
        self.state.invitations[(program_id, participant_id)] = Invitation(program_id, participant_id, at)
        return True

    async def of_person(self, participant_ids: Collection[str]) -> list[Invitation]:
        return [i for i in self.state.invitations.values() if i.participant_id in participant_ids]


class InMemoryPartnerships(Partnerships):
    def __init__(self, state: EnrolmentState):
        self.state = state

    async def active_of(self, participant_ids: Collection[str]) -> list[Partnership]:
        return [
            p
            for p in self.state.partnerships.values()
            if p.active and {p.mentor_id, p.mentee_id} & set(participant_ids)
        ]

    async def get(self, pair_id: str) -> Partnership | None:
        return self.state.partnerships.get(pair_id)

    async def completion(self, pair_id: str) -> date | None:
        pair = self.state.partnerships.get(pair_id)
        return pair.completed_on if pair else None

    async def completed_in(self, program_id: str) -> list[Partnership]:
        done = [
            p
            for p in self.state.partnerships.values()
            if p.program_id == program_id and p.active and p.completed_on is not None
        ]
        return sorted(done, key=lambda p: (p.completed_on or date.min, p.pair_id))

    async def topics(self, pair_id: str) -> list[tuple[str, LearningDirection]]:
        return list(self.state.partnership_topics.get(pair_id, []))

    async def forget_topics_of(self, program_id: str, participant_id: str) -> list[str]:
        pair_ids = sorted(
            p.pair_id
            for p in self.state.partnerships.values()
            if p.program_id == program_id and participant_id in (p.mentor_id, p.mentee_id)
        )
        for pair_id in pair_ids:
            self.state.partnership_topics.pop(pair_id, None)
        return pair_ids


class InMemoryCertificates(Certificates):
    def __init__(self, state: EnrolmentState):
        self.state = state

    async def add(self, certificate: Certificate) -> None:
        if any(
            (c.pair_id, c.participant_id) == (certificate.pair_id, certificate.participant_id)
            for c in self.state.certificates.values()
        ):
            raise ValueError("a member's certificate of this pair exists")  # the table's unique key
        self.state.certificates[certificate.certificate_id] = certificate

    async def get(self, certificate_id: str) -> Certificate | None:
        return self.state.certificates.get(certificate_id)

    async def by_code(self, verification_code: str) -> Certificate | None:
        return next((c for c in self.state.certificates.values() if c.verification_code == verification_code), None)

    async def of_pair(self, pair_id: str) -> list[Certificate]:
        return [c for c in self.state.certificates.values() if c.pair_id == pair_id]

    async def of_person(self, participant_ids: Collection[str]) -> list[Certificate]:
        return [c for c in self.state.certificates.values() if c.participant_id in participant_ids]

    async def in_program(self, program_id: str) -> list[Certificate]:
        return [c for c in self.state.certificates.values() if c.program_id == program_id]


class InMemoryKudos(KudosBook):
    def __init__(self, state: EnrolmentState):
        self.state = state

    async def add(self, kudos: Kudos) -> None:
        self.state.kudos.append(kudos)

    async def of_pair(self, pair_id: str) -> list[Kudos]:
        return [k for k in self.state.kudos if k.pair_id == pair_id]

    async def of_person(self, participant_ids: Collection[str]) -> list[Kudos]:
        return [k for k in reversed(self.state.kudos) if {k.given_by, k.given_to} & set(participant_ids)]

    async def in_program(self, program_id: str) -> list[Kudos]:
        return [k for k in self.state.kudos if k.program_id == program_id]

    async def forget(self, program_id: str, participant_id: str) -> None:
        self.state.kudos = [
            replace(k, message="") if k.program_id == program_id and participant_id in (k.given_by, k.given_to) else k
            for k in self.state.kudos
        ]


def _key(participant: Participant) -> tuple[str, str]:
    return participant.profile.program_id, participant.profile.participant_id


class InMemoryTrainingModules(TrainingModules):
    def __init__(self, state: EnrolmentState):
        self.state = state

    async def add(self, module: Module) -> None:
        assert module.program_id is not None, "only a program's modules are stored"
        if module.program_id not in self.state.programs:
            raise ValueError(f"no program {module.program_id}")  # the table's foreign key
        key = (module.program_id, module.module_id, module.version)
        if key in self.state.training_modules:
            raise ValueError(f"module {key} exists")  # the table's primary key
        self.state.training_modules[key] = module

    async def latest(self, program_id: str) -> list[Module]:
        newest: dict[str, Module] = {}
        for (program, module_id, _version), module in sorted(self.state.training_modules.items()):
            if program == program_id:
                newest[module_id] = module
        return [newest[m] for m in sorted(newest)]

    async def latest_of(self, program_id: str, module_id: str) -> Module | None:
        return next((m for m in await self.latest(program_id) if m.module_id == module_id), None)


class InMemoryTrainingCompletions(TrainingCompletions):
    def __init__(self, state: EnrolmentState):
        self.state = state

    async def add(self, completion: Completion) -> bool:
        c = completion
        key = (c.program_id, c.participant_id, c.module_id, c.module_version)
        if key in self.state.training_completions:
            return False
        self.state.training_completions[key] = completion
        return True

    async def of_person(self, program_id: str, participant_id: str) -> list[Completion]:
        found = [
            c
            for c in self.state.training_completions.values()
            if c.program_id == program_id and c.participant_id == participant_id
        ]
        return sorted(found, key=lambda c: c.completed_at)
