"""A composition root's providers reach the routes without FastAPI's dependency_overrides, and on the event loop
(issue #18): while any override is set FastAPI re-derives every sub-dependency's signature on every request, and a
plain `def` dependency costs a thread-pool hop."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

from services.enrolment import bootstrap as enrolment
from services.enrolment.entrypoints import http as enrolment_http
from shared.http import create_app, provided


async def unit_of_work(request: Request) -> str:
    return provided(request, unit_of_work)


async def clock(request: Request) -> str:
    return provided(request, clock, default=lambda: "wall clock")


def app_with_route(threads: dict[str, int]) -> FastAPI:
    app = FastAPI()

    @app.get("/")
    async def route(uow: Annotated[str, Depends(unit_of_work)], now: Annotated[str, Depends(clock)]) -> dict[str, str]:
        threads["route"] = threading.get_ident()
        return {"uow": uow, "clock": now}

    return app


def test_a_bound_provider_runs_on_the_event_loops_thread_and_an_unbound_placeholder_takes_its_default():
    threads: dict[str, int] = {}
    app = app_with_route(threads)

    def provider() -> str:
        threads["provider"] = threading.get_ident()
        return "bound"

    app.state.bindings = {unit_of_work: provider}
    with TestClient(app) as client:
        assert client.get("/").json() == {"uow": "bound", "clock": "wall clock"}
    assert threads["provider"] == threads["route"]


def test_a_tests_override_still_replaces_the_placeholder():
    app = app_with_route({})
    app.state.bindings = {unit_of_work: lambda: "bound"}
    app.dependency_overrides[unit_of_work] = lambda: "in memory"
    with TestClient(app) as client:
        assert client.get("/").json()["uow"] == "in memory"


def test_a_services_app_binds_its_providers_without_any_dependency_override():
    app = create_app(enrolment.SPEC)
    assert app.dependency_overrides == {}
    assert set(app.state.bindings) == {enrolment_http.unit_of_work, enrolment_http.pseudonym_key}
