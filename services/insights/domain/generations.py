"""Generations by birth year (the common Pew Research boundaries; earlier years count as Baby Boomers)."""

from __future__ import annotations

from typing import Final, Literal

from shared.events import ParticipantEnrolled
from shared.sealing import SEALED

Generation = Literal["baby_boomers", "gen_x", "millennials", "gen_z"]
GENERATIONS: tuple[Generation, ...] = ("baby_boomers", "gen_x", "millennials", "gen_z")
# An erased person's birth year reads as its sealed field's erased value (issue #19): no generation, a cell of its
# own, so they are neither counted as the oldest generation nor compared with their partner's.
ERASED: Final = "erased"
ERASED_BIRTH_YEAR: int = SEALED[ParticipantEnrolled.type_name].erased["birth_year"]


def generation(birth_year: int) -> Generation | Literal["erased"]:
    """Baby Boomers <= 1964, Gen X 1965-1980, Millennials 1981-1996, Gen Z >= 1997; `erased` for an erased one."""
    if birth_year == ERASED_BIRTH_YEAR:
        return ERASED
    if birth_year <= 1964:
        return "baby_boomers"
    if birth_year <= 1980:
        return "gen_x"
    if birth_year <= 1996:
        return "millennials"
    return "gen_z"
