"""Unsubscribe without signing in (RFC 8058): the link in every participant e-mail. `GET` shows a page with one
button (link scanners and previews follow GETs, so a GET changes nothing); `POST` unsubscribes, idempotently, and
is what a mail client's one-click button sends. A token that is not genuine is a bare 403: no detail helps a forger."""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from services.notifications.adapters.unsubscribe import UnsubscribeLinks
from services.notifications.entrypoints.http import UoW
from services.notifications.service_layer import handlers
from shared.errors import Forbidden
from shared.http import provided

router = APIRouter(tags=["unsubscribe"])
Token = Annotated[str, Query(min_length=1, max_length=1024, description="The signed token of the e-mail's link.")]


async def links(request: Request) -> UnsubscribeLinks:
    return provided(request, links)


Links = Annotated[UnsubscribeLinks, Depends(links)]

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tandem: {title}</title></head>
<body><main><h1>{title}</h1>{content}</main></body></html>
"""


def _participant(links: UnsubscribeLinks, token: str) -> str:
    participant_id = links.participant(token)
    if participant_id is None:
        raise Forbidden("forbidden")
    return participant_id


@router.get("/unsubscribe", response_class=HTMLResponse)
async def unsubscribe_page(token: Token, links: Links) -> HTMLResponse:
    """A confirmation page: its button POSTs the same link."""
    _participant(links, token)
    form = (
        f'<p>Stop all e-mail and messages from Tandem?</p><form method="post" action="?token={escape(token)}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button>'
        "</form>"
    )
    return HTMLResponse(PAGE.format(title="Unsubscribe", content=form))


@router.post("/unsubscribe", response_class=HTMLResponse)
async def unsubscribe(token: Token, links: Links, uow: UoW) -> HTMLResponse:
    """Unsubscribe (RFC 8058 one-click; the body, `List-Unsubscribe=One-Click`, is not needed to act)."""
    await handlers.unsubscribe(uow, _participant(links, token))
    content = "<p>You will receive nothing more from Tandem. Change this any time in your notification preferences.</p>"
    return HTMLResponse(PAGE.format(title="Unsubscribed", content=content))
