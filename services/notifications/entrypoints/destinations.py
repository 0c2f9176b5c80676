"""Where notifications go (issue #17): a program's destinations, set by its admins, and each participant's own
preferences under /me. URLs and secrets are shown masked; the webhook's signing secret only once, when made."""

from __future__ import annotations

from datetime import time
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, EmailStr, Field

from services.notifications.domain.branding import DEFAULT_ACCENT, Branding
from services.notifications.domain.channels import MAX_ADMIN_EMAILS, ChannelsChange, ProgramChannels, mask
from services.notifications.domain.preferences import DeliveryMode, Preferences
from services.notifications.entrypoints.http import UoW, staff
from services.notifications.service_layer import handlers
from shared import program_staff
from shared.auth import Participant, Principal
from shared.errors import Invalid
from shared.events import NotificationChannel
from shared.types import Identifier

router = APIRouter(tags=["notifications"])
Administers = Annotated[Principal, Depends(program_staff.program_role("administers", staff))]
Url = Annotated[str, Field(min_length=8, max_length=2000, pattern=r"^\S+$")]


class ChannelsBody(BaseModel):
    admin_emails: list[EmailStr] = Field(
        default_factory=list, max_length=MAX_ADMIN_EMAILS, description="Team mailboxes of the program's admins."
    )
    slack_url: Url | None = Field(None, description="Slack incoming webhook URL (https).")
    teams_url: Url | None = Field(None, description="Microsoft Teams incoming webhook URL (https).")
    webhook_url: Url | None = Field(None, description="Generic signed webhook URL (https; docs/webhooks.md).")
    rotate_webhook_secret: bool = Field(False, description="Make a new signing secret (the old one stops working).")


class ChannelsView(BaseModel):
    program_id: str
    admin_emails: list[str]
    slack_url: str | None = Field(description="Masked: enough to recognise it, not to post to it.")
    teams_url: str | None
    webhook_url: str | None
    webhook_secret_set: bool
    webhook_secret: str | None = Field(
        None, description="Only in the answer of the PUT that made it: store it now, it is never shown again."
    )

    @classmethod
    def of(cls, c: ProgramChannels, new_secret: str | None = None) -> ChannelsView:
        return cls(
            program_id=c.program_id,
            admin_emails=list(c.admin_emails),
            slack_url=mask(c.slack_url),
            teams_url=mask(c.teams_url),
            webhook_url=mask(c.webhook_url),
            webhook_secret_set=c.webhook_secret is not None,
            webhook_secret=new_secret,
        )


@router.get("/programs/{program_id}/channels", response_model=ChannelsView)
async def channels_of_program(program_id: Identifier, uow: UoW, _: Administers) -> ChannelsView:
    """The program's destinations, masked."""
    return ChannelsView.of(await handlers.program_channels(uow, program_id))


@router.put("/programs/{program_id}/channels", response_model=ChannelsView)
async def set_channels_of_program(program_id: Identifier, body: ChannelsBody, uow: UoW, _: Administers) -> ChannelsView:
    """Replace the program's destinations. A first webhook URL, or `rotate_webhook_secret`, makes a signing secret,
    returned in this answer only."""
    change = ChannelsChange(
        program_id,
        tuple(str(a) for a in body.admin_emails),
        body.slack_url,
        body.teams_url,
        body.webhook_url,
        body.rotate_webhook_secret,
    )
    after, secret = await handlers.change_channels(uow, change)
    return ChannelsView.of(after, secret)


class BrandingBody(BaseModel):
    brand: str = Field(
        "",
        max_length=80,
        pattern=r"^[^\r\n]*$",
        description="Shown at the top of each e-mail; empty: the program's title.",
    )
    accent_colour: str = Field(DEFAULT_ACCENT, pattern=r"^#[0-9a-fA-F]{6}$", description="#rrggbb")
    footer: str = Field("", max_length=500, description="The program's own words under every message (plain text).")


class BrandingView(BrandingBody):
    program_id: str


@router.get("/programs/{program_id}/branding", response_model=BrandingView)
async def branding_of_program(program_id: Identifier, uow: UoW, _: Administers) -> BrandingView:
    """How the program's messages look (defaults until its admins change them)."""
    return BrandingView(**(await handlers.program_branding(uow, program_id)).__dict__)


@router.put("/programs/{program_id}/branding", response_model=BrandingView)
async def brand_program(program_id: Identifier, body: BrandingBody, uow: UoW, _: Administers) -> BrandingView:
    """Brand the program's messages: a name at their top in its accent colour, a footer in its own words (text and
    HTML parts alike; escaped, so no markup reaches the message)."""
    branding = Branding(program_id, body.brand, body.accent_colour, body.footer)
    return BrandingView(**(await handlers.brand(uow, branding)).__dict__)


class PreferencesBody(BaseModel):
    channel: NotificationChannel = Field(
        "email",
        description="slack, teams or webhook when your program has one (the message then names you); else e-mail.",
    )
    delivery: DeliveryMode = Field("immediate", description="immediate, or one daily-digest a day.")
    quiet_hours_start: time | None = Field(None, description="Local time in your time zone, e.g. 22:00.")
    quiet_hours_end: time | None = Field(None, description="Local time; before the start means the next morning.")
    unsubscribed: bool = Field(False, description="Nothing is sent to you, not even introductions.")


class PreferencesView(PreferencesBody):
    participant_id: str

    @classmethod
    def of(cls, p: Preferences) -> PreferencesView:
        return cls(
            participant_id=p.participant_id,
            channel=p.channel,
            delivery=p.delivery,
            quiet_hours_start=p.quiet_start,
            quiet_hours_end=p.quiet_end,
            unsubscribed=p.unsubscribed,
        )


async def my_id(uow: UoW, me: Principal, program_id: str | None) -> str:
    """The id the caller's preferences are kept under. Preferences belong to a participant id, and a person has one
    per program launched since ADR 0011: a program's notifications follow the preferences of the id they are sent
    to, and a change is one event under that one id, so nothing links a person's programs. Without `program_id`:
    the legacy id, the person's one id in every program launched before."""
    if program_id is None:
        return me.subject
    return await handlers.recipient_id(uow, me.per_program_id(program_id), me.subject)


# Which program's preferences (see `my_id`); left out, those of the programs launched before per-program ids.
ForProgram = Annotated[Identifier | None, Query(description="The program whose notifications these are.")]


@router.get("/me/preferences", response_model=PreferencesView)
async def my_preferences(me: Participant, uow: UoW, program_id: ForProgram = None) -> PreferencesView:
    """How you are notified (defaults until you change them: e-mail, immediately, no quiet hours), in one
    program (`program_id`) or, without it, in the programs launched before per-program pseudonyms."""
    return PreferencesView.of(await handlers.preferences_of(uow, await my_id(uow, me, program_id)))


@router.put("/me/preferences", response_model=PreferencesView)
async def set_my_preferences(
    body: PreferencesBody, me: Participant, uow: UoW, program_id: ForProgram = None
) -> PreferencesView:
    """Change how you are notified, in one program (`program_id`) or in those launched before per-program
    pseudonyms."""
    if (body.quiet_hours_start is None) != (body.quiet_hours_end is None):
        raise Invalid("quiet_hours_end", "quiet_hours_start and quiet_hours_end are set together or not at all")
    for field, value in (("quiet_hours_start", body.quiet_hours_start), ("quiet_hours_end", body.quiet_hours_end)):
        if value is not None and value.tzinfo is not None:
            raise Invalid(field, f"{field} is a local time without an offset (your time zone applies)")
    wanted = Preferences(
        await my_id(uow, me, program_id),
        body.channel,
        body.delivery,
        body.quiet_hours_start,
        body.quiet_hours_end,
        body.unsubscribed,
    )
    return PreferencesView.of(await handlers.change_preferences(uow, wanted))
