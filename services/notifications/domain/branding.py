"""A program's branding of its messages (issue #17): the name shown at the top of each e-mail, its accent colour,
and a footer in the program's own words. Program words, never a person's; kept in notifications' own table."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_ACCENT = "#1f4e79"


@dataclass(frozen=True)
class Branding:
    program_id: str
    brand: str = ""  # empty: the program's title
    accent_colour: str = DEFAULT_ACCENT  # #rrggbb, checked at the API
    footer: str = ""
