"""The bounded types of shared/types.py on their own: what each refuses and what it lets through."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import pytest
from pydantic import TypeAdapter, ValidationError

from shared.types import INT4_MAX, BusinessDay, Float, Identifier, Instant, Int, Label, Labels, Text


def refused(kind, value) -> bool:
    try:
        TypeAdapter(kind).validate_python(value)
    except ValidationError:
        return True
    return False


TEXT = Annotated[str, Text(10)]


@pytest.mark.parametrize("value", ["a\x00b", "a\ud800", "\udfff", "x" * 11, "bell\x07", "del\x7f", 5, None])
def test_text_refuses_nul_lone_surrogates_control_characters_and_length(value):
    assert refused(TEXT, value)


def test_text_keeps_line_breaks_and_strips_surrounding_spaces():
    assert TypeAdapter(TEXT).validate_python("  a\nb\tc  ") == "a\nb\tc"
    assert TypeAdapter(TEXT).validate_python("emoji 🙂") == "emoji 🙂"


@pytest.mark.parametrize("value", ["", "two\nlines", "x" * 101])
def test_a_label_is_one_line_of_1_to_100(value):
    assert refused(Label, value)


def test_identifiers_and_label_lists_are_bounded():
    assert refused(Identifier, "x" * 129) and refused(Identifier, "a\x00") and not refused(Identifier, "prg-1")
    assert refused(Labels, ["a"] * 51) and not refused(Labels, ["a"] * 50)


@pytest.mark.parametrize("value", [True, "5", 5.5, 0, 6, None])
def test_an_int_is_a_strict_json_integer_in_range(value):
    assert refused(Annotated[int, Int(1, 5)], value)


def test_int_bounds_must_fit_int4():
    assert refused(Annotated[int, Int()], INT4_MAX + 1) and not refused(Annotated[int, Int()], INT4_MAX)
    with pytest.raises(ValueError):
        TypeAdapter(Annotated[int, Int(0, 2**40)])


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), 1e308, -1, True, "1"])
def test_a_float_is_finite_strict_and_in_range(value):
    assert refused(Annotated[float, Float(0, 100)], value)


def test_json_1e400_is_refused_as_infinity():
    with pytest.raises(ValidationError):
        TypeAdapter(Annotated[float, Float(0, 100)]).validate_json("1e400")
    assert TypeAdapter(Annotated[float, Float(0, 100)]).validate_python(7) == 7.0


@pytest.mark.parametrize("value", ["0001-01-01", "1999-12-31"])
def test_business_days_start_in_2000(value):
    assert refused(BusinessDay, value)
    assert TypeAdapter(BusinessDay).validate_python("2000-01-01") == date(2000, 1, 1)


@pytest.mark.parametrize(
    "value", ["0001-01-01T00:00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2100-01-01T00:00:00Z"]
)
def test_instants_lie_between_2000_and_2100(value):
    assert refused(Instant, value)


def test_a_naive_instant_reads_as_utc():
    assert TypeAdapter(Instant).validate_python("2026-05-01T12:00:00") == datetime(2026, 5, 1, 12, tzinfo=UTC)
