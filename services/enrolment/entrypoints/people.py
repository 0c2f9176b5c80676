"""People acting as themselves (issue #14), under /enrolment/v1: who am I (`/me`), the consent wording, opt-in
and withdrawal of consent, my partners; and what program admins do instead of enrolling people: invitations, and
names for the pseudonyms their dashboards show."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel

from services.enrolment.domain.commands import EnrolSelf, InviteParticipants, NameParticipants
from services.enrolment.domain.consent import Consent
from services.enrolment.entrypoints.http import (
    ParticipantView,
    PseudonymKey,
    Uow,
    is_self,
    require_administers,
)
from services.enrolment.service_layer import handlers
from shared.auth import ROLES, Admin, Principal, require
from shared.auth import Participant as ParticipantCaller
from shared.errors import Forbidden
from shared.http import EventLogPosition
from shared.types import Identifier

router = APIRouter(tags=["enrolment"])

SignedIn = Annotated[Principal, Depends(require(*ROLES))]


class ConsentView(BaseModel):
    version: int
    sha256: str
    given_at: datetime
    withdrawn_at: datetime | None

    @classmethod
    def of(cls, consent: Consent) -> ConsentView:
        return cls(
            version=consent.version, sha256=consent.sha256, given_at=consent.given_at, withdrawn_at=consent.withdrawn_at
        )


class ConsentWordingView(BaseModel):
    program_id: str
    version: int
    text: str
    sha256: str


class MyEnrolmentView(BaseModel):
    program_id: str
    title: str
    participant_id: str
    status: str
    consent: ConsentView | None


class MyInvitationView(BaseModel):
    program_id: str
    title: str
    invited_at: datetime


class Me(BaseModel):
    participant_id: str | None
    employee_id: str | None = None
    roles: list[str]
    in_roster: bool
    enrolments: list[MyEnrolmentView]
    invitations: list[MyInvitationView]


class Partner(BaseModel):
    participant_id: str
    display_name: str | None
    email: str | None
    department: str
    time_zone: str
    goals: str | None = None


class PartnerCard(BaseModel):
    program_id: str
    pair_id: str
    my_participant_id: str
    partner: Partner
    formed_at: datetime


class OptedIn(BaseModel):
    participant: ParticipantView
    consent: ConsentView
    event_log: EventLogPosition


class ConsentWithdrawal(BaseModel):
    participant: ParticipantView
    consent: ConsentView | None
    event_log: EventLogPosition | None = None


class Invited(BaseModel):
    invited: int
    not_in_roster: list[int]


class Names(BaseModel):
    names: dict[str, str]


@router.get("/me", response_model=Me)
async def me(principal: SignedIn, uow: Uow) -> Me:
    """Who the caller is to enrolment: their participant id, enrolments with the consent they gave, open
    invitations. `employee_id` is the caller's own, shown to them only."""
    participant_id = principal.subject if principal.employee_id or "participant" in principal.roles else None
    # Each enrolment names the person's id in its program; they are found by the person's ids in every program.
    ids = principal.ids_in(*await handlers.program_ids(uow)) if participant_id else frozenset()
    mine = await handlers.mine(uow, ids, principal.employee_id)
    return Me(
        participant_id=participant_id,
        employee_id=principal.employee_id,
        roles=sorted(principal.roles),
        in_roster=mine.in_roster,
        enrolments=[
            MyEnrolmentView(
                program_id=e.participant.profile.program_id,
                title=e.title,
                participant_id=e.participant.profile.participant_id,
                status=e.participant.status,
                consent=ConsentView.of(e.consent) if e.consent else None,
            )
            for e in mine.enrolments
        ],
        invitations=[
            MyInvitationView(program_id=i.invitation.program_id, title=i.title, invited_at=i.invitation.invited_at)
            for i in mine.invitations
        ],
    )


@router.get("/me/partners", response_model=list[PartnerCard])
async def my_partners(principal: ParticipantCaller, uow: Uow) -> list[PartnerCard]:
    """The pair's introduction: for each active pair, who the partner is. Goals only when the partner shares them."""
    return [
        PartnerCard(
            program_id=i.partnership.program_id,
            pair_id=i.partnership.pair_id,
            my_participant_id=i.me,
            partner=Partner(
                participant_id=i.partner.profile.participant_id,
                display_name=i.partner.display_name or None,
                email=i.partner.email or None,
                department=i.partner.profile.department,
                time_zone=i.partner.profile.time_zone,
                goals=i.partner.goals if i.partner.share_goals and i.partner.goals else None,
            ),
            formed_at=i.partnership.formed_at,
        )
        for i in await handlers.partners(uow, principal.ids_in(*await handlers.program_ids(uow)))
    ]


@router.get("/programs/{program_id}/consent", response_model=ConsentWordingView)
async def consent_wording(program_id: Identifier, _: SignedIn, uow: Uow) -> ConsentWordingView:
    """The wording a person consents to when opting in, its version and the sha256 hex of its UTF-8 text."""
    wording = await handlers.consent_wording(uow, program_id)
    return ConsentWordingView(program_id=program_id, version=wording.version, text=wording.text, sha256=wording.sha256)


@router.post("/programs/{program_id}/enrolments", status_code=status.HTTP_201_CREATED, response_model=OptedIn)
async def opt_in(
    program_id: Identifier, command: EnrolSelf, principal: ParticipantCaller, uow: Uow, key: PseudonymKey
) -> OptedIn:
    """A signed-in person enrols themselves, consenting to the wording whose sha256 they send. Name, e-mail,
    department, grade and reporting line come from their roster entry."""
    if principal.employee_id is None:
        raise Forbidden("self-service enrolment needs a token naming the person's employee id")
    participant, consent, result = await handlers.opt_in(uow, program_id, principal.employee_id, command, key)
    return OptedIn(
        participant=ParticipantView.of(participant),
        consent=ConsentView.of(consent),
        event_log=EventLogPosition.of(result),
    )


@router.post("/programs/{program_id}/participants/{participant_id}/consent/withdraw", response_model=ConsentWithdrawal)
async def withdraw_consent(
    program_id: Identifier, participant_id: Identifier, principal: ParticipantCaller, uow: Uow
) -> ConsentWithdrawal:
    """The person withdraws their consent, and so their participation. Only they can."""
    if not is_self(principal, program_id, participant_id):
        raise Forbidden("a person withdraws only their own consent")
    participant, consent, result = await handlers.withdraw_consent(uow, program_id, participant_id)
    return ConsentWithdrawal(
        participant=ParticipantView.of(participant),
        consent=ConsentView.of(consent) if consent else None,
        event_log=EventLogPosition.of(result) if result else None,
    )


@router.post("/programs/{program_id}/invitations", response_model=Invited)
async def invite(
    program_id: Identifier, command: InviteParticipants, principal: Admin, uow: Uow, key: PseudonymKey
) -> Invited:
    """Invite people from the roster (by employee id, at most 1000); each accepts by enrolling themselves.
    `not_in_roster` lists the 0-based indexes of the ids the roster does not hold (or holds as inactive)."""
    require_administers(principal, await handlers.program(uow, program_id))
    invited, not_in_roster = await handlers.invite(uow, program_id, command, key)
    return Invited(invited=invited, not_in_roster=not_in_roster)


@router.post("/programs/{program_id}/participants/names", response_model=Names)
async def names(program_id: Identifier, command: NameParticipants, principal: Admin, uow: Uow) -> Names:
    """Display names for the pseudonyms a program's admins see on dashboards (at most 500); unknown and erased
    participants are left out. Only the program's admins: auditors and sponsors see pseudonyms only."""
    require_administers(principal, await handlers.program(uow, program_id))
    return Names(names=await handlers.names(uow, program_id, command.participant_ids))
