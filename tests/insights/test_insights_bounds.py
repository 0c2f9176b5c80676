"""Insights' query bounds in-process: an extreme `as_of` is a 422 naming it before any read model is asked (only the
program's staff is looked up first: who may read the program is decided before what is asked of it)."""

from __future__ import annotations

import httpx
import pytest

from services.insights import bootstrap
from services.insights.entrypoints import http
from shared.auth import ProgramStaff
from shared.program_staff import InMemoryProgramStaff
from tests.support.services import token


class NoReadModel:
    """Every bad request must be refused before the read model is asked."""

    def __getattr__(self, name):
        raise AssertionError(f"the read model was asked ({name})")


@pytest.fixture
async def client():
    app = bootstrap.build()
    app.dependency_overrides[http.service] = NoReadModel
    app.dependency_overrides[http.staff] = lambda: InMemoryProgramStaff({"prg-1": ProgramStaff()})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://insights{bootstrap.SPEC.prefix}") as client:
        yield client


@pytest.mark.parametrize(
    "as_of",
    [
        "0001-01-01T00:00:00",
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:59:59",
        "9999-12-31T23:59:59-05:00",
        "1999-12-31T23:59:59Z",
        "2026-01-01T00:00:00\x00",
    ],
)
@pytest.mark.parametrize("path", ["/programs/prg-1/report", "/programs/prg-1/pairs", "/programs/prg-1/export.csv"])
async def test_an_extreme_as_of_is_422_naming_it(client, path, as_of):
    response = await client.get(path, params={"as_of": as_of}, headers=token("auditor"))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["as_of"]
