"""Every error a Tandem service answers is an RFC 9457 problem document (application/problem+json), whatever raised
it: FastAPI's own validation and HTTP errors, the domain outcomes, an oversized body or event, an unreachable
database, a bug. In-process, on a small app made by `create_app`, so no server is needed."""

from __future__ import annotations

import asyncio
import logging

import asyncpg
import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel

from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.eventstore import EventTooLarge
from shared.http import create_app
from shared.service import ServiceSettings, ServiceSpec
from tests.support.services import token

router = APIRouter()
PERSONAL = "E123456"  # an employee id that must never leave the process in an error


class Body(BaseModel):
    name: str


RAISES: dict[str, Exception] = {
    "not-found": NotFound("no program prg-1"),
    "conflict": Conflict("pair pair-1 is dissolved"),
    "forbidden": Forbidden("not a member"),
    "invalid": Invalid("reporting_chain", "must not name the participant"),
    "too-large": EventTooLarge("tandem.enrolment.program-launched.v1", 2_000_000, 1_048_576),
    "refused": ConnectionRefusedError(111, "Connect call failed"),
    "cannot-connect": asyncpg.CannotConnectNowError("the database system is starting up"),
    "too-many": asyncpg.TooManyConnectionsError("sorry, too many clients already"),
    "connection-lost": asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    "pool-timeout": TimeoutError(),
    "bug": RuntimeError(f"secret internals {PERSONAL}"),
}


@router.get("/raise/{what}")
async def raise_(what: str) -> None:
    raise RAISES[what]


@router.post("/echo")
async def echo(body: Body) -> Body:
    return body


@router.get("/unique")
async def unique() -> None:
    error = asyncpg.UniqueViolationError('duplicate key value violates unique constraint "participants_pkey"')
    error.detail = f"Key (employee_id)=({PERSONAL}) already exists."
    error.constraint_name = "participants_pkey"  # what PostgreSQL says, personal data included
    raise error


HELD = asyncio.Event()  # /held answers once a test sets it
ARRIVED: asyncio.Queue[None] = asyncio.Queue()  # one item per request inside /held


@router.get("/held")
async def held() -> None:
    ARRIVED.put_nowait(None)
    await HELD.wait()


SPEC = ServiceSpec(name="probe", title="Problem probe", settings=ServiceSettings, routers=[router])


@pytest.fixture
async def client():
    app = create_app(SPEC, ServiceSettings(max_body_bytes=2000))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://probe/probe/v1"
    ) as client:
        yield client


def problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"] and body["type"]
    assert body["instance"] == response.request.url.path
    assert PERSONAL not in response.text
    return body


@pytest.mark.parametrize(
    "what, status",
    [("not-found", 404), ("conflict", 409), ("forbidden", 403), ("invalid", 422), ("too-large", 413)],
)
async def test_domain_outcomes_are_problems(client, what, status):
    body = problem(await client.get(f"/raise/{what}"), status)
    assert body["detail"] == str(RAISES[what])
    if what == "invalid":
        assert body["errors"] == [
            {
                "loc": ["body", "reporting_chain"],
                "field": "reporting_chain",
                "msg": "must not name the participant",
                "type": "value_error",
            }
        ]


@pytest.mark.parametrize("what", ["refused", "cannot-connect", "too-many", "connection-lost", "pool-timeout"])
async def test_an_unreachable_database_is_503_with_retry_after(client, what):
    response = await client.get(f"/raise/{what}")
    body = problem(response, 503)
    assert int(response.headers["retry-after"]) > 0
    assert "database" in body["detail"] and "Connect call" not in body["detail"]


async def test_a_bug_is_a_generic_500_without_internals(client, caplog):
    with caplog.at_level(logging.ERROR):
        body = problem(await client.get("/raise/bug"), 500)
    assert "secret" not in body["detail"] and "Traceback" not in body["detail"]


async def test_a_database_error_detail_never_reaches_the_client_or_the_log(client, capsys):
    from shared.lifecycle import configure_logging

    configure_logging("text")  # the service's log handler, with its scrubbing filter, writing to captured stderr
    try:
        problem(await client.get("/unique"), 500)
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if h.get_name() == "tandem"]:
            root.removeHandler(handler)
    logged = capsys.readouterr().err
    assert "GET /probe/v1/unique failed" in logged, "the failure is logged"
    assert PERSONAL not in logged and "DETAIL" not in logged
    assert "UniqueViolationError" in logged and "participants_pkey" in logged


async def test_fastapi_validation_errors_are_problems_listing_fields_without_echoing_input(client):
    body = problem(await client.post("/echo", json={"name": 5, "extra": "x" * 500}), 422)
    assert [e["field"] for e in body["errors"]] == ["name"]
    assert body["errors"][0]["loc"] == ["body", "name"]
    assert "input" not in body["errors"][0] and "xxxx" not in str(body)


async def test_http_errors_are_problems(client):
    assert problem(await client.get("/nowhere"), 404)["title"] == "Not Found"
    assert problem(await client.put("/echo", json={}), 405)["title"] == "Method Not Allowed"


async def test_auth_errors_are_problems_and_keep_their_challenge():
    from services.sessions import bootstrap
    from services.sessions.adapters.memory import SessionsState
    from services.sessions.entrypoints import http
    from services.sessions.service_layer.unit_of_work import InMemorySessionsUnitOfWork

    app = bootstrap.build()
    app.dependency_overrides[http.unit_of_work] = lambda: InMemorySessionsUnitOfWork(SessionsState())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s/sessions/v1") as c:
        response = await c.get("/pairs/pair-1")
        assert problem(response, 401)["detail"] == "a bearer token is required"
        assert response.headers["www-authenticate"] == "Bearer"
        refused = await c.get("/pairs/pair-1/sessions", headers=token("nobody-role"))
        assert refused.status_code in (401, 403) and refused.headers["content-type"] == "application/problem+json"


async def test_a_body_over_the_limit_is_413_before_it_is_read(client):
    body = problem(
        await client.post(
            "/echo", content=b'{"name": "' + b"x" * 5000 + b'"}', headers={"content-type": "application/json"}
        ),
        413,
    )
    assert "2000" in body["detail"]


async def test_a_chunked_body_over_the_limit_is_413(client):
    async def chunks():
        for _ in range(10):
            yield b"x" * 500

    response = await client.post("/echo", content=chunks(), headers={"content-type": "application/json"})
    problem(response, 413)


async def test_a_body_within_the_limit_passes(client):
    response = await client.post("/echo", json={"name": "ok"})
    assert response.status_code == 200 and response.json() == {"name": "ok"}


async def test_requests_past_the_in_flight_limit_are_503_at_once_and_probes_still_answer():
    app = create_app(SPEC, ServiceSettings(max_requests_in_flight=2))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    HELD.clear()
    async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
        busy = [asyncio.create_task(client.get("/probe/v1/held")) for _ in range(2)]
        for _ in busy:  # both are inside the app, waiting
            await asyncio.wait_for(ARRIVED.get(), 10)
        refused = await asyncio.wait_for(client.get("/probe/v1/held"), 10)  # answered at once, not queued
        body = problem(refused, 503)
        assert refused.headers["retry-after"] == "1" and body["type"].endswith("/at-capacity")
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/metrics")).status_code == 200
        HELD.set()
        assert [r.status_code for r in await asyncio.gather(*busy)] == [200, 200]
        assert (await client.get("/probe/v1/held")).status_code == 200  # room again
        metrics = (await client.get("/metrics")).text
    assert 'status="503"' in metrics  # refused requests are counted with the others
