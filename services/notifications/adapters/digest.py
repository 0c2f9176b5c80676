"""A person's daily digest: their day's notifications, each rendered as it would have been sent alone, in one
message (issue #17). No template of its own: it is made of the others'."""

from __future__ import annotations

import re
from html import escape

from services.notifications.adapters.messages import Rendered

_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.DOTALL | re.IGNORECASE)


def _inner(html: str) -> str:
    found = _BODY.search(html)
    return found.group(1) if found else html


def render_digest(items: list[Rendered], program_title: str) -> Rendered:
    count = len(items)
    subject = f"Your Tandem digest for {program_title}: {count} update{'s' if count != 1 else ''}"
    text = "\n\n".join(f"== {r.subject} ==\n\n{r.text.strip()}" for r in items) + "\n"
    sections = "".join(f"<section><h2>{escape(r.subject)}</h2>{_inner(r.html)}</section>\n" for r in items)
    html = f'<!doctype html>\n<html lang="en">\n<body>\n{sections}</body>\n</html>\n'
    return Rendered(subject=subject, text=text, html=html)
