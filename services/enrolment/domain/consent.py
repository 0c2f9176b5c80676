"""Consent as its own fact (issue #14): the wording a program asks people to agree to, what each person agreed to
and when, and their withdrawal. A person consents only for themselves: nobody else's request records it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from shared.errors import Invalid
from shared.events import ConsentGiven, ConsentWithdrawn

if TYPE_CHECKING:  # model.py builds on consent, so the import runs one way only
    from services.enrolment.domain.model import Program


def sha256_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ConsentWording:
    program_id: str
    version: int
    text: str

    @property
    def sha256(self) -> str:
        return sha256_of(self.text)

    def check(self, consent_sha256: str) -> None:
        """The person must have read this very wording: a stale or mistyped hash is not consent."""
        if consent_sha256.lower() != self.sha256:
            raise Invalid(
                "consent_sha256",
                f"consent_sha256 is not the sha256 of the program's current consent wording (version {self.version});"
                " read it again from GET /programs/{program_id}/consent",
            )

    def given(self, participant_id: str, at: datetime) -> ConsentGiven:
        return ConsentGiven(
            program_id=self.program_id,
            participant_id=participant_id,
            wording_version=self.version,
            wording_sha256=self.sha256,
            given_at=at,
        )


def wording_of(program: Program) -> ConsentWording:
    """The program's current wording. Launch sets version 1; each edit of the text adds one (issue #15), which is
    why every consent keeps the version it was given to."""
    return ConsentWording(program.program_id, program.consent_version, program.consent_text)


@dataclass(frozen=True)
class Consent:
    """One person's consent to one version of a program's wording, and its withdrawal if any."""

    program_id: str
    participant_id: str
    version: int
    sha256: str
    given_at: datetime
    withdrawn_at: datetime | None = None

    @classmethod
    def of(cls, event: ConsentGiven) -> Consent:
        return cls(event.program_id, event.participant_id, event.wording_version, event.wording_sha256, event.given_at)

    def withdraw(self, at: datetime) -> tuple[Consent, ConsentWithdrawn | None]:
        """Withdrawn once; a second request changes nothing."""
        if self.withdrawn_at is not None:
            return self, None
        event = ConsentWithdrawn(
            program_id=self.program_id,
            participant_id=self.participant_id,
            wording_version=self.version,
            withdrawn_at=at,
        )
        return replace(self, withdrawn_at=at), event
