"""Recognition under /enrolment/v1 (issue #16): my certificates and their PDFs, the public verification of a
certificate's code, kudos to my partner, a program's recognition list and my own record."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Response, status
from pydantic import BaseModel, Field

from services.enrolment.domain.commands import GiveKudos
from services.enrolment.entrypoints.http import Uow, is_self, staff
from services.enrolment.service_layer import handlers, recognition
from services.enrolment.service_layer.recognition import CertificateCard, KudosCard
from shared.auth import Participant as ParticipantCaller
from shared.auth import Principal, Reader, require
from shared.errors import Forbidden
from shared.http import EventLogPosition
from shared.types import Identifier

router = APIRouter(tags=["recognition"])

Staff = Annotated[Principal, Depends(require("program_admin", "executive_sponsor", "auditor"))]

VerificationCode = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_-]{24}$", description="The 24-character code printed on the certificate.")
]


class CertificateView(BaseModel):
    certificate_id: str
    program_id: str
    program_title: str
    pair_id: str
    role: Literal["mentor", "mentee"]
    partner_id: str
    partner_name: str | None
    completed_on: date
    issued_at: datetime
    verification_code: str
    download: str = Field(description="Path of the PDF, under /enrolment/v1.")

    @classmethod
    def of(cls, card: CertificateCard) -> CertificateView:
        c = card.certificate
        return cls(
            certificate_id=c.certificate_id,
            program_id=c.program_id,
            program_title=card.program_title,
            pair_id=c.pair_id,
            role=c.role,
            partner_id=c.partner_id,
            partner_name=card.partner_name,
            completed_on=c.completed_on,
            issued_at=c.issued_at,
            verification_code=c.verification_code,
            download=f"/certificates/{c.certificate_id}.pdf",
        )


class VerificationView(BaseModel):
    """A certificate's completion record, as anyone holding its code may check it."""

    holder_name: str
    program_title: str
    completed_on: date
    role: Literal["mentor", "mentee"]


class KudosView(BaseModel):
    kudos_id: str
    program_id: str
    program_title: str
    pair_id: str
    from_participant_id: str
    to_participant_id: str
    other_name: str | None = Field(description="The giver's name for kudos received, the receiver's for given.")
    message: str
    given_at: datetime

    @classmethod
    def of(cls, card: KudosCard) -> KudosView:
        k = card.kudos
        return cls(
            kudos_id=k.kudos_id,
            program_id=k.program_id,
            program_title=card.program_title,
            pair_id=k.pair_id,
            from_participant_id=k.given_by,
            to_participant_id=k.given_to,
            other_name=card.other_name,
            message=k.message,
            given_at=k.given_at,
        )


class MyKudos(BaseModel):
    received: list[KudosView]
    given: list[KudosView]


class KudosSent(BaseModel):
    kudos: KudosView
    event_log: EventLogPosition


class CompletedMemberView(BaseModel):
    participant_id: str
    display_name: str | None = Field(description="Null for a caller who sees pseudonyms only (auditors).")
    role: Literal["mentor", "mentee"]
    pair_id: str
    completed_on: date | None
    certificate_id: str | None
    kudos_received: int
    kudos_given: int


class ProgramRecognition(BaseModel):
    program_id: str
    completed_members: list[CompletedMemberView]
    certificates_issued: int
    kudos_given: int


class CompletedProgram(BaseModel):
    program_id: str
    program_title: str
    pair_id: str
    role: Literal["mentor", "mentee"]
    completed_on: date
    certificate_id: str


class MyRecognition(BaseModel):
    programs_completed: list[CompletedProgram]
    certificates: list[CertificateView]
    kudos_received: int
    kudos_given: int


@router.get("/me/certificates", response_model=list[CertificateView])
async def my_certificates(principal: ParticipantCaller, uow: Uow) -> list[CertificateView]:
    """My certificates, one per completed pair, oldest first."""
    ids = principal.ids_in(*await handlers.program_ids(uow))
    return [CertificateView.of(c) for c in await recognition.my_certificates(uow, ids)]


@router.get(
    "/certificates/{certificate_id}.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The certificate as a PDF."}},
)
async def certificate_pdf(certificate_id: Identifier, principal: Reader, uow: Uow) -> Response:
    """The certificate as a PDF: for its holder and the program's admins."""
    certificate, program = await recognition.certificate(uow, certificate_id)
    if not (
        is_self(principal, program.program_id, certificate.participant_id) or principal.administers(staff(program))
    ):
        raise Forbidden("a certificate is for its holder and the program's admins")
    document = await recognition.certificate_document(uow, certificate)
    headers = {"Content-Disposition": f'attachment; filename="{certificate.certificate_id}.pdf"'}
    return Response(document, media_type="application/pdf", headers=headers)


@router.get("/certificates/verify/{code}", response_model=VerificationView)
async def verify_certificate(code: VerificationCode, uow: Uow) -> VerificationView:
    """Public, no sign-in: the completion record a certificate's verification code stands for; 404 for a code no
    certificate has."""
    found = await recognition.verify(uow, code)
    return VerificationView(
        holder_name=found.holder_name,
        program_title=found.program_title,
        completed_on=found.completed_on,
        role=found.role,  # type: ignore[arg-type]
    )


@router.post("/pairs/{pair_id}/kudos", status_code=status.HTTP_201_CREATED, response_model=KudosSent)
async def give_kudos(pair_id: Identifier, command: GiveKudos, principal: ParticipantCaller, uow: Uow) -> KudosSent:
    """Thank my partner (a member of an active or completed pair); the message is theirs to read, and stays here."""
    card, result = await recognition.give_kudos(uow, pair_id, principal.ids_in, command.message)
    return KudosSent(kudos=KudosView.of(card), event_log=EventLogPosition.of(result))


@router.get("/me/kudos", response_model=MyKudos)
async def my_kudos(principal: ParticipantCaller, uow: Uow) -> MyKudos:
    """Kudos I received and gave, newest first."""
    received, given = await recognition.kudos_of(uow, principal.ids_in(*await handlers.program_ids(uow)))
    return MyKudos(received=[KudosView.of(k) for k in received], given=[KudosView.of(k) for k in given])


@router.get("/programs/{program_id}/recognition", response_model=ProgramRecognition)
async def program_recognition(program_id: Identifier, principal: Staff, uow: Uow) -> ProgramRecognition:
    """The program's completed members with their certificates and kudos counts: its admins and sponsors see
    names, auditors pseudonyms; anyone else is refused."""
    program = await recognition.program(uow, program_id)
    if not principal.oversees(staff(program)):
        raise Forbidden("neither an admin, a sponsor nor an auditor of this program")
    personal = principal.administers(staff(program)) or principal.sponsors(staff(program))
    members, certificates, kudos = await recognition.program_recognition(uow, program_id, personal=personal)
    return ProgramRecognition(
        program_id=program_id,
        completed_members=[CompletedMemberView(**vars(m)) for m in members],
        certificates_issued=certificates,
        kudos_given=kudos,
    )


@router.get("/me/recognition", response_model=MyRecognition)
async def my_recognition(principal: ParticipantCaller, uow: Uow) -> MyRecognition:
    """My record: the programs I completed, my certificates, the kudos I received and gave."""
    record = await recognition.my_recognition(uow, principal.ids_in(*await handlers.program_ids(uow)))
    return MyRecognition(
        programs_completed=[
            CompletedProgram(
                program_id=c.certificate.program_id,
                program_title=c.program_title,
                pair_id=c.certificate.pair_id,
                role=c.certificate.role,
                completed_on=c.certificate.completed_on,
                certificate_id=c.certificate.certificate_id,
            )
            for c in record.certificates
        ],
        certificates=[CertificateView.of(c) for c in record.certificates],
        kudos_received=len(record.kudos_received),
        kudos_given=len(record.kudos_given),
    )
