"""Enrolment's rules, free of I/O: pseudonymous ids, launching, enrolling, profile changes, withdrawal."""

from __future__ import annotations

import uuid
from calendar import monthrange
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal

from services.enrolment.domain.commands import (
    DEFAULT_CONSENT_TEXT,
    ChangeProgramSettings,
    EnrolParticipant,
    EnrolSelf,
    LaunchProgram,
    UpdateProfile,
)
from services.enrolment.domain.consent import wording_of
from shared.errors import Conflict, Forbidden, Invalid
from shared.events import (
    ConsentGiven,
    ParticipantEnrolled,
    ParticipantErased,
    ParticipantProfileUpdated,
    ParticipantWithdrawn,
    ProgramClosed,
    ProgramLaunched,
    ProgramSettings,
    ProgramSettingsChanged,
)
from shared.pseudonyms import CURRENT_SCHEME, legacy_pseudonym, pseudonym_in

if TYPE_CHECKING:  # roster.py builds on Participant, so the import runs one way only
    from services.enrolment.domain.roster import RosterEntry

PROFILE_FIELDS = tuple(f for f in ParticipantEnrolled.model_fields if f not in ("program_id", "participant_id"))
# Kept by HR (the HRIS import or a program admin), never by the participant: an emptied reporting chain or a raised
# grade would defeat matching's rules that nobody is paired with who decides their promotion and the mentor is junior.
HR_OWNED_FIELDS = ("reporting_chain", "grade", "role", "capacity")
# The roster holds no birth year and a self-service enrolment need not give one; the profile then carries this
# year, so the generation-gap criterion sees no gap between two people who left it out (it decides nothing alone).
UNKNOWN_BIRTH_YEAR = 1990


def stream_of_participant(program_id: str, participant_id: str) -> str:
    return f"enrolment-{program_id}-{participant_id}"


def stream_of_program(program_id: str) -> str:
    return f"program-{program_id}"


def launch(command: LaunchProgram) -> Program:
    # Every new program derives its ids per program (ADR 0011); the command cannot ask for another scheme.
    settings = ProgramSettings(
        program_id=f"prg-{uuid.uuid4().hex[:12]}", pseudonyms=CURRENT_SCHEME, **command.model_dump(mode="json")
    )
    return Program(settings=settings)


@dataclass(frozen=True)
class Program:
    """A program as enrolment keeps it: its settings now, how often they changed, the version of the wording
    people consent to, and whether it is closed. `version` is its event stream's."""

    settings: ProgramSettings
    settings_version: int = 1
    consent_version: int = 1
    closed_at: datetime | None = None
    version: int = 1

    @property
    def program_id(self) -> str:
        return self.settings.program_id

    @property
    def consent_text(self) -> str:
        # Programs launched before consent texts existed ask for the default wording.
        return self.settings.consent_text or DEFAULT_CONSENT_TEXT

    def pseudonym(self, key: str, employee_id: str) -> str:
        """The employee's participant id here, under the program's scheme (fixed at launch, ADR 0011)."""
        return pseudonym_in(self.settings.pseudonyms, key, self.program_id, employee_id)

    def launched(self) -> ProgramLaunched:
        return ProgramLaunched(**self.settings.model_dump())

    def change(self, command: ChangeProgramSettings) -> tuple[Program, ProgramSettingsChanged | None]:
        """The program with the settings `command` gives, and the event saying so (None when nothing changed).
        A new consent wording is a new version: consents given keep the version they were given to."""
        self.require_open("its settings no longer change")
        given = command.model_dump(mode="json", exclude_unset=True)
        if "matching_weights" in given:
            given["matching_weights"] = {**self.settings.matching_weights, **given["matching_weights"]}
        if "notifications" in given:  # per rule, only the fields given change
            kept = self.settings.notifications.model_dump(mode="json")
            given["notifications"] = {**kept, **{r: {**kept[r], **f} for r, f in given["notifications"].items()}}
        settings = ProgramSettings.model_validate({**self.settings.model_dump(mode="json"), **given})
        if settings == self.settings:
            return self, None
        changed = replace(
            self,
            settings=settings,
            settings_version=self.settings_version + 1,
            consent_version=self.consent_version
            + ((settings.consent_text or DEFAULT_CONSENT_TEXT) != self.consent_text),
        )
        event = ProgramSettingsChanged(
            **settings.model_dump(),
            settings_version=changed.settings_version,
            consent_version=changed.consent_version,
        )
        return changed, event

    def close(self, at: datetime) -> tuple[Program, ProgramClosed | None]:
        """No new rounds nor participants from now; closing twice changes nothing."""
        if self.closed_at is not None:
            return self, None
        return replace(self, closed_at=at), ProgramClosed(program_id=self.program_id, closed_at=at)

    def retention_ends(self) -> datetime | None:
        """When its participants' personal data must be gone: `retention_months` calendar months after closing
        (a day the month lacks falls back to its last, as PostgreSQL's interval arithmetic does)."""
        if self.closed_at is None:
            return None
        months = self.closed_at.month - 1 + self.settings.retention_months
        year, month = self.closed_at.year + months // 12, months % 12 + 1
        return self.closed_at.replace(year=year, month=month, day=min(self.closed_at.day, monthrange(year, month)[1]))

    def require_open(self, what_is_refused: str) -> None:
        if self.closed_at is not None:
            raise Conflict(f"program {self.program_id} is closed: {what_is_refused}")


@dataclass(frozen=True)
class Participant:
    """An enrolment as enrolment keeps it: the public profile plus the personal details only it holds."""

    profile: ParticipantEnrolled
    employee_id: str
    display_name: str
    email: str
    goals: str
    status: str = "active"
    version: int = 1
    share_goals: bool = False

    @property
    def stream_id(self) -> str:
        return stream_of_participant(self.profile.program_id, self.profile.participant_id)

    def update(
        self, change: UpdateProfile, key: str, *, by_admin: bool
    ) -> tuple[Participant, ParticipantProfileUpdated | None]:
        """The participant after `change`, and the event to publish (None when only personal details changed).
        HR-owned fields change only `by_admin`."""
        if self.status != "active":
            raise Conflict(f"participant {self.profile.participant_id} is {self.status}")
        given = change.model_dump(exclude_unset=True)
        if not by_admin and (hr_owned := [f for f in HR_OWNED_FIELDS if f in given]):
            raise Forbidden(f"{', '.join(hr_owned)}: kept by HR, changed only by a program admin")
        public = {k: v for k, v in given.items() if k in PROFILE_FIELDS}
        if "reporting_chain" in public:
            public["reporting_chain"] = [self.pseudonym_of(key, e) for e in public["reporting_chain"]]
        profile = self.profile.model_copy(update={k: tuple(v) if isinstance(v, list) else v for k, v in public.items()})
        updated = replace(
            self,
            profile=profile,
            display_name=given.get("display_name") or self.display_name,
            email=given.get("email") or self.email,
            goals=given.get("goals", self.goals),
            share_goals=given.get("share_goals", self.share_goals),
        )
        if profile == self.profile:
            return updated, None
        return updated, ParticipantProfileUpdated(**profile.model_dump())

    def pseudonym_of(self, key: str, employee_id: str) -> str:
        """Another employee's id (a manager's) in this participant's program. The participant's own id was derived
        under the program's scheme, so it tells which: no need to load the program (only active, so not erased,
        participants' chains change)."""
        legacy = self.profile.participant_id == legacy_pseudonym(key, self.employee_id)
        scheme = "global" if legacy else CURRENT_SCHEME
        return pseudonym_in(scheme, key, self.profile.program_id, employee_id)

    def erase(self, cause: Literal["request", "retention"] = "request") -> tuple[Participant, ParticipantErased | None]:
        """Forget who this was: personal details go, the pseudonymous profile stays. Erasing twice is a no-op.

        Erasure implies withdrawal: someone who asked to be forgotten is not matched again.
        """
        if self.status == "erased":
            return self, None
        erased = replace(
            self,
            employee_id=f"erased:{self.profile.participant_id}",
            display_name="",
            email="",
            goals="",
            status="erased",
        )
        return erased, ParticipantErased(
            program_id=self.profile.program_id, participant_id=self.profile.participant_id, cause=cause
        )

    def withdraw(self, reason: str) -> tuple[Participant, ParticipantWithdrawn | None]:
        """Withdrawal at any time; a second request changes nothing (idempotent)."""
        if self.status in ("withdrawn", "erased"):
            return self, None
        event = ParticipantWithdrawn(
            program_id=self.profile.program_id, participant_id=self.profile.participant_id, reason=reason
        )
        return replace(self, status="withdrawn"), event


def enrol(program: Program, command: EnrolParticipant, key: str) -> Participant:
    program.require_open("it takes no new participants")
    participant_id = program.pseudonym(key, command.employee_id)
    chain = [program.pseudonym(key, e) for e in command.reporting_chain]
    if participant_id in chain:
        raise Invalid("reporting_chain", "reporting_chain must not contain the participant's own employee id")
    fields = command.model_dump(include=set(PROFILE_FIELDS))
    fields["reporting_chain"] = chain
    profile = ParticipantEnrolled(program_id=program.program_id, participant_id=participant_id, **fields)
    return Participant(
        profile=profile,
        employee_id=command.employee_id,
        display_name=command.display_name,
        email=str(command.email),
        goals=command.goals,
        share_goals=command.share_goals,
    )


def opt_in(
    program: Program, entry: RosterEntry, command: EnrolSelf, key: str, at: datetime
) -> tuple[Participant, ConsentGiven]:
    """A person enrols themselves: the consent they give to the wording they read, their choices from `command`,
    and what HR owns from their roster entry."""
    program.require_open("it takes no new participants")
    wording = wording_of(program)
    wording.check(command.consent_sha256)
    languages = command.languages or list(entry.languages)
    if not languages:
        raise Invalid("languages", "languages: the roster names none for you; give at least one")
    participant_id = program.pseudonym(key, entry.employee_id)
    profile = ParticipantEnrolled(
        program_id=program.program_id,
        participant_id=participant_id,
        role=command.role,
        grade=entry.grade,
        birth_year=command.birth_year or UNKNOWN_BIRTH_YEAR,
        department=entry.department,
        time_zone=command.time_zone or entry.time_zone,
        languages=tuple(languages),
        reporting_chain=tuple(program.pseudonym(key, e) for e in entry.reporting_chain if e != entry.employee_id),
        skills_offered=tuple(command.skills_offered),
        skills_wanted=tuple(command.skills_wanted),
        focus_areas=tuple(command.focus_areas),
        communication_style=command.communication_style,
        capacity=command.capacity,
    )
    participant = Participant(
        profile=profile,
        employee_id=entry.employee_id,
        display_name=entry.display_name,
        email=entry.email,
        goals=command.goals,
        share_goals=command.share_goals,
    )
    return participant, wording.given(participant_id, at)


@dataclass(frozen=True)
class Partnership:
    """A pair as enrolment learns it from matching's events, to introduce its members to each other."""

    program_id: str
    pair_id: str
    mentor_id: str
    mentee_id: str
    formed_at: datetime
    active: bool = True  # false once dissolved; a completed pair stays active (it ran its course)
    completed_on: date | None = None  # the day sessions completed it (PairCompleted)

    def partner_of(self, participant_id: str) -> str:
        return self.mentee_id if participant_id == self.mentor_id else self.mentor_id

    def member_among(self, participant_ids: Collection[str]) -> str | None:
        """Which member has one of `participant_ids` (a signed-in person's ids, ADR 0011); None: neither."""
        return next((m for m in (self.mentor_id, self.mentee_id) if m in participant_ids), None)


@dataclass(frozen=True)
class Invitation:
    program_id: str
    participant_id: str
    invited_at: datetime
