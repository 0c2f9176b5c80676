"""Bounded types for everything a client sends: commands, HTTP bodies, path and query parameters.

Every string, list and number that can reach an event, a table or a log line has a bound here, so a request
either fits everything downstream (PostgreSQL's text and int4, JSON without NaN, the Kafka producer's size
limit) or is a 422 naming its field. Without them a NUL character or a lone surrogate passes validation and
fails later, inside PostgreSQL or the JSON encoder, as a 500 or as an event no projection can apply.

Numbers sent in JSON bodies are strict: `true` is not the integer 1 and `"5"` is not 5 (a client sending
either has a bug worth hearing about). Query parameters arrive as text, so `Page` is the one lax integer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated

import annotated_types
from annotated_types import GroupedMetadata
from pydantic import AfterValidator, AllowInfNan, Field, Strict, StringConstraints

INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1  # PostgreSQL `integer`, where counts and grades are stored

# The earliest day a session, a report instant or any business date may name: Tandem did not exist before.
EARLIEST_DAY = date(2000, 1, 1)
LATEST_INSTANT = datetime(2100, 1, 1, tzinfo=UTC)


def valid_text(text: str) -> str:
    """No NUL (PostgreSQL text cannot hold it), no lone surrogates (not Unicode: no UTF-8 for them), no other C0
    control characters but tab, line feed and carriage return."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogates)") from None
    if any((ord(c) < 32 and c not in "\t\n\r") or c == "\x7f" for c in text):
        raise ValueError("must not contain NUL or other control characters")
    return text


@dataclass(frozen=True)
class Text(GroupedMetadata):
    """`Annotated[str, Text(200)]`: at most `max_length` characters (surrounding spaces stripped), valid Unicode;
    `one_line` refuses tabs and line breaks."""

    max_length: int
    min_length: int = 0
    one_line: bool = False

    def __iter__(self) -> Iterator[object]:
        yield StringConstraints(strip_whitespace=True, min_length=self.min_length, max_length=self.max_length)
        yield AfterValidator(valid_text)
        if self.one_line:
            yield AfterValidator(_one_line)


def _one_line(text: str) -> str:
    if any(c in text for c in "\t\n\r"):
        raise ValueError("must be one line")
    return text


# A name-like value: a skill, a language, a department, a topic, a target's metric. One line, 1 to 100 characters.
Label = Annotated[str, Text(100, min_length=1, one_line=True)]
# An identifier a client names in a path (a program, a pair, a participant): one line, 1 to 128 characters.
Identifier = Annotated[str, Text(128, min_length=1, one_line=True)]
# An employee id from the HRIS: one line, 1 to 64 characters.
EmployeeId = Annotated[str, Text(64, min_length=1, one_line=True)]

MAX_LIST_ITEMS = 50  # a profile's skills, a program's focus areas, a reporting chain: no real one is longer
Labels = Annotated[list[Label], Field(max_length=MAX_LIST_ITEMS)]


@dataclass(frozen=True)
class Int(GroupedMetadata):
    """`Annotated[int, Int(1, 365)]`: a JSON integer (not a boolean, not a string of digits) within [ge, le],
    which must lie inside PostgreSQL's int4."""

    ge: int = INT4_MIN
    le: int = INT4_MAX

    def __iter__(self) -> Iterator[object]:
        if not INT4_MIN <= self.ge <= self.le <= INT4_MAX:
            raise ValueError("bounds must lie within int4")
        yield Strict()
        yield annotated_types.Interval(ge=self.ge, le=self.le)


@dataclass(frozen=True)
class Float(GroupedMetadata):
    """`Annotated[float, Float(0, 100)]`: a finite JSON number within [ge, le]; NaN, Infinity and 1e400 (which
    JSON parsers read as infinity) are refused, and so are booleans."""

    ge: float
    le: float

    def __iter__(self) -> Iterator[object]:
        yield Strict()
        yield AllowInfNan(False)
        yield annotated_types.Interval(ge=self.ge, le=self.le)


Bool = Annotated[bool, Strict()]  # true or false, not 1 or "yes"

# A page number of a listing: the offset it gives (times a page size of up to 500) stays inside int4.
MAX_PAGE = 1_000_000


def _business_day(day: date) -> date:
    if day < EARLIEST_DAY:
        raise ValueError(f"must not be before {EARLIEST_DAY.isoformat()}")
    return day


BusinessDay = Annotated[date, AfterValidator(_business_day)]


def _instant(moment: datetime) -> datetime:
    """Naive instants read as UTC; outside 2000..2100 refused (year 1 or 9999 would overflow on arithmetic)."""
    try:
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        within = datetime(2000, 1, 1, tzinfo=UTC) <= moment.astimezone(UTC) < LATEST_INSTANT
    except (OverflowError, ValueError):
        within = False
    if not within:
        raise ValueError("must lie between 2000-01-01 and 2100-01-01 (UTC)")
    return moment


Instant = Annotated[datetime, AfterValidator(_instant)]
