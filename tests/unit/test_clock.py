"""The clock scheduled rules ask (shared/clock.py): it only moves forward, and only a development process exposes
`POST <prefix>/dev/clock`, which moves it and runs the rules at once."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from services.insights import bootstrap
from shared.clock import Clock, Schedule
from tests.support.services import token


def test_the_clock_moves_forward_only():
    clock = Clock()
    before = clock.now()
    moved = clock.advance(timedelta(days=3))
    assert moved - before >= timedelta(days=3)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(timedelta(seconds=-1))


def app_with_a_rule(monkeypatch, development: bool):
    monkeypatch.setenv("TANDEM_DEVELOPMENT", "true" if development else "false")
    app = bootstrap.build()
    seen = []

    async def rule(now):
        seen.append(now)
        return 1

    app.state.runtime.schedules = [Schedule("rule", rule)]
    return app, seen


async def test_a_development_process_moves_its_clock_and_runs_its_rules(monkeypatch):
    app, seen = app_with_a_rule(monkeypatch, development=True)
    start = app.state.runtime.clock.now()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as client:
        reply = await client.post("/insights/v1/dev/clock", json={"seconds": 86400}, headers=token("program_admin"))
        refused = await client.post("/insights/v1/dev/clock", json={"seconds": 60}, headers=token("auditor"))
    assert reply.status_code == 200, reply.text
    assert reply.json()["done"] == {"rule": 1}
    assert len(seen) == 1 and seen[0] - start >= timedelta(days=1)
    assert refused.status_code == 403


async def test_a_production_process_has_no_clock_to_move(monkeypatch):
    app, seen = app_with_a_rule(monkeypatch, development=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as client:
        reply = await client.post("/insights/v1/dev/clock", json={"seconds": 60}, headers=token("program_admin"))
    assert reply.status_code == 404
    assert seen == []
