"""Break-glass reads (issue #19): an auditor sees pseudonyms and figures, never the words people wrote, unless
their token also holds the `break_glass` role AND the request names a ticket in the `Tandem-Break-Glass` header.
Each such read appends a `BreakGlassUsed` event (shared/events.py) in the transaction that reads the words, so
its use is itself on the permanent, hash-chained log. docs/privacy.md says how an organisation grants the role."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header

from shared.auth import Principal, authenticated
from shared.errors import Forbidden, Invalid

HEADER = "Tandem-Break-Glass"
TICKET = re.compile(r"^[A-Z][A-Z0-9]{1,15}-[0-9]{1,12}$")


def ticket(
    principal: Annotated[Principal, Depends(authenticated)],
    reference: Annotated[
        str | None,
        Header(
            alias=HEADER,
            max_length=30,
            description="Break glass: the ticket (e.g. HR-1234) under which an auditor holding the break_glass role "
            "reads words only a pair's members read otherwise; the read is logged as BreakGlassUsed.",
        ),
    ] = None,
) -> str | None:
    """The request's break-glass ticket, None when it names none. A ticket without the role is a 403; a malformed
    one a 422 naming the header."""
    if reference is None:
        return None
    if not (principal.break_glass and "auditor" in principal.roles):
        raise Forbidden(f"{HEADER} needs the auditor and break_glass roles")
    if not TICKET.match(reference):
        raise Invalid(HEADER, "a ticket reference such as HR-1234")
    return reference


BreakGlass = Annotated[str | None, Depends(ticket)]
