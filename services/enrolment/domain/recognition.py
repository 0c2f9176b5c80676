"""Recognition that lasts (issue #16), free of I/O: the certificate each member of a completed pair receives, what
its PDF says the two exchanged, its verification code, and the rules of kudos between partners."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from services.enrolment.domain.model import Partnership
from shared.errors import Conflict, Forbidden
from shared.events import CertificateIssued, KudosGiven, LearningDirection, ParticipantEnrolled

Side = Literal["mentor", "mentee"]
# 18 random bytes, URL-safe base64: 24 characters, 144 bits, not guessable; printed on the certificate.
VERIFICATION_CODE = re.compile(r"^[A-Za-z0-9_-]{24}$")
# Kudos are a thank-you, not a chat: a member gives at most this many per pair, which bounds what one person stores.
MAX_KUDOS_PER_MEMBER = 50


def stream_of_certificates(pair_id: str) -> str:
    return f"certificates-{pair_id}"


def stream_of_kudos(pair_id: str) -> str:
    return f"kudos-{pair_id}"


def new_verification_code() -> str:
    return secrets.token_urlsafe(18)


@dataclass(frozen=True)
class Certificate:
    """One member's certificate of a completed pair. The PDF is made from it and the store on each request."""

    certificate_id: str
    program_id: str
    pair_id: str
    participant_id: str
    partner_id: str
    role: Side
    completed_on: date
    verification_code: str
    issued_at: datetime

    def issued(self) -> CertificateIssued:
        return CertificateIssued(
            program_id=self.program_id,
            pair_id=self.pair_id,
            participant_id=self.participant_id,
            certificate_id=self.certificate_id,
        )


def certify(pair: Partnership, at: datetime) -> list[Certificate]:
    """One certificate per member of a pair that ran its course; none for a dissolved pair or one still running."""
    if pair.completed_on is None or not pair.active:
        return []
    members: tuple[tuple[str, Side], ...] = ((pair.mentor_id, "mentor"), (pair.mentee_id, "mentee"))
    return [
        Certificate(
            certificate_id=f"cert-{uuid.uuid4().hex[:16]}",
            program_id=pair.program_id,
            pair_id=pair.pair_id,
            participant_id=member,
            partner_id=pair.partner_of(member),
            role=role,
            completed_on=pair.completed_on,
            verification_code=new_verification_code(),
            issued_at=at,
        )
        for member, role in members
    ]


@dataclass(frozen=True)
class SkillFlow:
    """What one member taught the other, from two sources the certificate names apart: the skills the teacher
    offered that the learner wanted (their profiles), and the topics of the sessions the pair logged as the
    learner learning from the teacher (or both learning)."""

    teacher_id: str
    learner_id: str
    from_profiles: tuple[str, ...]
    from_sessions: tuple[str, ...]


def skills_exchanged(
    mentor: ParticipantEnrolled, mentee: ParticipantEnrolled, topics: Iterable[tuple[str, LearningDirection]]
) -> tuple[SkillFlow, SkillFlow]:
    """Mentor to mentee, then mentee to mentor."""
    topics = list(topics)

    def flow(teacher: ParticipantEnrolled, learner: ParticipantEnrolled, direction: LearningDirection) -> SkillFlow:
        wanted = {s.casefold() for s in learner.skills_wanted}
        return SkillFlow(
            teacher_id=teacher.participant_id,
            learner_id=learner.participant_id,
            from_profiles=_unique(s for s in teacher.skills_offered if s.casefold() in wanted),
            from_sessions=_unique(t for t, d in topics if d in (direction, "both")),
        )

    return flow(mentor, mentee, "mentor_to_mentee"), flow(mentee, mentor, "mentee_to_mentor")


def _unique(labels: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for label in labels:
        seen.setdefault(label.casefold(), label)
    return tuple(sorted(seen.values(), key=str.casefold))


@dataclass(frozen=True)
class Kudos:
    kudos_id: str
    program_id: str
    pair_id: str
    given_by: str
    given_to: str
    message: str
    given_at: datetime

    def given(self) -> KudosGiven:
        return KudosGiven(
            program_id=self.program_id,
            pair_id=self.pair_id,
            kudos_id=self.kudos_id,
            given_by=self.given_by,
            given_to=self.given_to,
        )


def give_kudos(pair: Partnership, giver: str, message: str, earlier: Sequence[Kudos], at: datetime) -> Kudos:
    """A member of an active or completed pair thanks the partner; never in a dissolved pair, never oneself."""
    if giver not in (pair.mentor_id, pair.mentee_id):
        raise Forbidden("kudos are given by a member of the pair, to the partner")
    if not pair.active:
        raise Conflict(f"pair {pair.pair_id} was dissolved: no kudos")
    if sum(1 for k in earlier if k.given_by == giver) >= MAX_KUDOS_PER_MEMBER:
        raise Conflict(f"at most {MAX_KUDOS_PER_MEMBER} kudos per member of a pair")
    return Kudos(
        kudos_id=f"kudos-{uuid.uuid4().hex[:16]}",
        program_id=pair.program_id,
        pair_id=pair.pair_id,
        given_by=giver,
        given_to=pair.partner_of(giver),
        message=message,
        given_at=at,
    )
