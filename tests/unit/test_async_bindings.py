"""A composition root's providers run on the event loop, not in FastAPI's thread pool (issue #18)."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from shared.http import on_the_loop


def unit_of_work() -> str:
    raise NotImplementedError("bound by the composition root")


def test_a_plain_provider_runs_on_the_event_loops_thread():
    app = FastAPI()
    threads: dict[str, int] = {}

    def provider() -> str:
        threads["provider"] = threading.get_ident()
        return "bound"

    @app.get("/")
    async def route(uow: Annotated[str, Depends(unit_of_work)]) -> dict[str, str]:
        threads["route"] = threading.get_ident()
        return {"uow": uow}

    app.dependency_overrides[unit_of_work] = on_the_loop(provider)
    with TestClient(app) as client:
        assert client.get("/").json() == {"uow": "bound"}
    assert threads["provider"] == threads["route"]


def test_async_and_generator_providers_are_left_as_they_are():
    async def coroutine() -> int:
        return 1

    def generator():
        yield 1

    assert on_the_loop(coroutine) is coroutine and on_the_loop(generator) is generator
