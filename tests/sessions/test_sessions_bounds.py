"""Issue #13's bad inputs against sessions, in-process: 422 naming the field, nothing recorded."""

from __future__ import annotations

import pytest

from tests.sessions.test_sessions_http import (  # noqa: F401
    ADMIN,
    PAIR,
    app,
    as_member,
    client,
    feedback,
    log,
    session,
    state,
    store,
)


def fields(response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [error["field"] for error in response.json()["errors"]]


@pytest.mark.parametrize(
    "field, value",
    [
        ("held_on", "0001-01-01"),
        ("held_on", "1999-12-31"),
        ("held_on", "9999-12-31"),
        ("minutes", True),
        ("minutes", "45"),
        ("topics", ["a\x00b"]),
        ("topics", ["social \ud800"]),
        ("topics", ["x"] * 21),
        ("notes", "private\x00"),
    ],
)
async def test_a_session_out_of_bounds_is_422_naming_the_field(client, store, field, value):
    assert fields(await log(client, session(**{field: value}))) == [field]
    assert store.events == []


@pytest.mark.parametrize(
    "field, value",
    [
        ("rating", True),
        ("rating", "5"),
        ("rating", 4.0),
        ("would_continue", 1),
        ("would_continue", "yes"),
        ("learned", "x\x00"),
    ],
)
async def test_feedback_out_of_bounds_is_422_naming_the_field(client, store, field, value):
    assert fields(await feedback(client, **{field: value})) == [field]
    assert store.events == []


async def test_a_pair_id_with_nul_is_422(client):
    response = await client.get("/pairs/pair%001", headers=ADMIN)
    assert fields(response) == ["pair_id"]
