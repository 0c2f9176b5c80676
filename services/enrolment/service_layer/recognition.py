"""Recognition's use cases (issue #16): certificates for the members of a completed pair, kudos between partners,
a program's recognition list and a person's record."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from services.enrolment.adapters import certificate_pdf
from services.enrolment.domain import model, recognition
from services.enrolment.domain.recognition import Certificate, Kudos
from services.enrolment.service_layer import lookups
from services.enrolment.service_layer.unit_of_work import EnrolmentUnitOfWork
from shared.errors import NotFound
from shared.eventstore import AppendResult

IdsIn = Callable[[str], Collection[str]]  # a signed-in person's ids in a program (shared.auth.Principal.ids_in)


async def issue_certificates(
    uow: EnrolmentUnitOfWork, pair_id: str, *, formed: model.Partnership | None = None, completed_on: date | None = None
) -> AppendResult | None:
    """The policy's command: once a pair is both formed and completed (in either order), each member gets one
    certificate; asked again, nothing happens. A dissolved pair gets none. The policy runs before the read model
    records its event, so it passes what that event says: the pair just `formed`, or the day it `completed_on`."""
    async with uow:
        pair = formed or await uow.partnerships.get(pair_id)
        if pair is None or await uow.certificates.of_pair(pair_id):
            return None
        pair = replace(pair, completed_on=completed_on or await uow.partnerships.completion(pair_id))
        certificates = recognition.certify(pair, datetime.now(UTC))
        for certificate in certificates:
            await uow.certificates.add(certificate)
        if not certificates:
            return None
        return await uow.append(recognition.stream_of_certificates(pair_id), 0, [c.issued() for c in certificates])


@dataclass(frozen=True)
class CertificateCard:
    certificate: Certificate
    program_title: str
    partner_name: str | None


async def my_certificates(uow: EnrolmentUnitOfWork, participant_ids: Collection[str]) -> list[CertificateCard]:
    """The certificates of a person, by all their ids (one per program, ADR 0011)."""
    async with uow:
        return [await _card(uow, c) for c in await uow.certificates.of_person(participant_ids)]


async def certificate(uow: EnrolmentUnitOfWork, certificate_id: str) -> tuple[Certificate, model.Program]:
    async with uow:
        found = await uow.certificates.get(certificate_id)
        if found is None:
            raise NotFound(f"no certificate {certificate_id}")
        return found, await lookups.program(uow, found.program_id)


async def certificate_document(uow: EnrolmentUnitOfWork, certificate: Certificate) -> bytes:
    """The PDF, from the names, profiles and session topics as they stand now."""
    async with uow:
        program = await lookups.program(uow, certificate.program_id)
        holder = await uow.participants.get(certificate.program_id, certificate.participant_id)
        partner = await uow.participants.get(certificate.program_id, certificate.partner_id)
        topics = await uow.partnerships.topics(certificate.pair_id)
    if holder is None or partner is None:
        raise NotFound(f"no certificate {certificate.certificate_id}")
    mentor, mentee = (holder, partner) if certificate.role == "mentor" else (partner, holder)
    to_mentee, to_mentor = recognition.skills_exchanged(mentor.profile, mentee.profile, topics)
    taught, learned = (to_mentee, to_mentor) if certificate.role == "mentor" else (to_mentor, to_mentee)
    text = certificate_pdf.CertificateText(
        holder=_name(holder) or "A former participant",
        partner=_name(partner) or "a former participant",
        role=certificate.role,
        program_title=program.settings.title,
        completed_on=certificate.completed_on,
        verification_code=certificate.verification_code,
        taught=taught,
        learned=learned,
    )
    return certificate_pdf.render(text)


@dataclass(frozen=True)
class Verification:
    holder_name: str
    program_title: str
    completed_on: date
    role: str


async def verify(uow: EnrolmentUnitOfWork, code: str) -> Verification:
    """A code resolves to its completion record while the holder is known by name; an erased holder's does not."""
    async with uow:
        found = await uow.certificates.by_code(code)
        holder = await uow.participants.get(found.program_id, found.participant_id) if found else None
        program = await uow.programs.get(found.program_id) if found else None
    if found is None or holder is None or program is None or not _name(holder):
        raise NotFound("no certificate has this verification code")
    return Verification(_name(holder) or "", program.settings.title, found.completed_on, found.role)


@dataclass(frozen=True)
class KudosCard:
    kudos: Kudos
    program_title: str
    other_name: str | None  # the giver's name for kudos received, the receiver's for kudos given


async def give_kudos(
    uow: EnrolmentUnitOfWork, pair_id: str, ids_in: IdsIn, message: str
) -> tuple[KudosCard, AppendResult]:
    """`ids_in` gives the giver's ids in a program (Principal.ids_in): the pair's program tells which is theirs."""
    async with uow:
        pair = await uow.partnerships.get(pair_id)
        if pair is None:
            raise NotFound(f"no pair {pair_id}")
        giver = pair.member_among(ids_in(pair.program_id)) or ""
        kudos = recognition.give_kudos(pair, giver, message, await uow.kudos.of_pair(pair_id), datetime.now(UTC))
        await uow.kudos.add(kudos)
        result = await uow.append(recognition.stream_of_kudos(pair_id), None, [kudos.given()])
        partner = await uow.participants.get(pair.program_id, kudos.given_to)
        title = (await lookups.program(uow, pair.program_id)).settings.title
    return KudosCard(kudos, title, _name(partner)), result


async def kudos_of(
    uow: EnrolmentUnitOfWork, participant_ids: Collection[str]
) -> tuple[list[KudosCard], list[KudosCard]]:
    """Received, then given, newest first: by all the person's ids."""
    async with uow:
        cards = []
        for k in await uow.kudos.of_person(participant_ids):
            other = k.given_by if k.given_to in participant_ids else k.given_to
            person = await uow.participants.get(k.program_id, other)
            cards.append(KudosCard(k, (await lookups.program(uow, k.program_id)).settings.title, _name(person)))
    received = [c for c in cards if c.kudos.given_to in participant_ids]
    return received, [c for c in cards if c.kudos.given_by in participant_ids]


@dataclass(frozen=True)
class CompletedMember:
    participant_id: str
    display_name: str | None
    role: str
    pair_id: str
    completed_on: date | None
    certificate_id: str | None
    kudos_received: int
    kudos_given: int


async def program_recognition(
    uow: EnrolmentUnitOfWork, program_id: str, *, personal: bool
) -> tuple[list[CompletedMember], int, int]:
    """The members of the program's completed pairs, their certificates and kudos counts; the certificates issued
    and kudos given in all. Names only for a caller who may see who (`personal`)."""
    async with uow:
        pairs = await uow.partnerships.completed_in(program_id)
        certificates = {(c.pair_id, c.participant_id): c for c in await uow.certificates.in_program(program_id)}
        kudos = await uow.kudos.in_program(program_id)
        names = await uow.participants.names(program_id, [m for p in pairs for m in (p.mentor_id, p.mentee_id)])
    received, given = Counter(k.given_to for k in kudos), Counter(k.given_by for k in kudos)
    members = [
        CompletedMember(
            participant_id=member,
            display_name=names.get(member) if personal else None,
            role=role,
            pair_id=pair.pair_id,
            completed_on=pair.completed_on,
            certificate_id=c.certificate_id if (c := certificates.get((pair.pair_id, member))) else None,
            kudos_received=received[member],
            kudos_given=given[member],
        )
        for pair in pairs
        for member, role in ((pair.mentor_id, "mentor"), (pair.mentee_id, "mentee"))
    ]
    return members, len(certificates), len(kudos)


@dataclass(frozen=True)
class Record:
    """A person's recognition across programs."""

    certificates: list[CertificateCard]
    kudos_received: list[KudosCard]
    kudos_given: list[KudosCard]


async def my_recognition(uow: EnrolmentUnitOfWork, participant_ids: Collection[str]) -> Record:
    received, given = await kudos_of(uow, participant_ids)
    return Record(await my_certificates(uow, participant_ids), received, given)


async def program(uow: EnrolmentUnitOfWork, program_id: str) -> model.Program:
    async with uow:
        return await lookups.program(uow, program_id)


async def _card(uow: EnrolmentUnitOfWork, c: Certificate) -> CertificateCard:
    program = await lookups.program(uow, c.program_id)
    return CertificateCard(c, program.settings.title, _name(await uow.participants.get(c.program_id, c.partner_id)))


def _name(participant: model.Participant | None) -> str | None:
    return participant.display_name if participant and participant.status != "erased" else None
