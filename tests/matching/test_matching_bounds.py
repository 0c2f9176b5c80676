"""Issue #13's bad inputs against matching, in-process: 422 naming the field, nothing dissolved."""

from __future__ import annotations

import pytest

from tests.matching.test_matching_http import PROGRAM, matching, round_  # noqa: F401


@pytest.mark.parametrize("reason", ["moved\x00team", "moved \ud800", True])
async def test_a_dissolution_reason_out_of_bounds_is_422(matching, round_, reason):
    response = await matching.post(f"/pairs/{round_['pairs'][0]['pair_id']}/dissolve", json={"reason": reason})
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["reason"]
    assert "tandem.matching.pair-dissolved.v1" not in matching.event_types()


async def test_a_program_id_with_nul_is_422(matching):
    response = await matching.get("/programs/prg%00x/pool")
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "program_id"
