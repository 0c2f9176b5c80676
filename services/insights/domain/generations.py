"""Generations by birth year (the common Pew Research boundaries; earlier years count as Baby Boomers)."""

from __future__ import annotations

from typing import Literal

Generation = Literal["baby_boomers", "gen_x", "millennials", "gen_z"]
GENERATIONS: tuple[Generation, ...] = ("baby_boomers", "gen_x", "millennials", "gen_z")


def generation(birth_year: int) -> Generation:
    """Baby Boomers <= 1964, Gen X 1965-1980, Millennials 1981-1996, Gen Z >= 1997."""
    if birth_year <= 1964:
        return "baby_boomers"
    if birth_year <= 1980:
        return "gen_x"
    if birth_year <= 1996:
        return "millennials"
    return "gen_z"
