"""Enrolment's app in-process over the in-memory unit of work, with HR's roster already holding some people: the
harness of the server-free tests of opt-in, program lifecycle, training and recognition."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

import httpx

from services.enrolment import bootstrap
from services.enrolment.config import EnrolmentSettings
from services.enrolment.domain.roster import RosterEntry
from services.enrolment.entrypoints import http
from services.enrolment.service_layer.unit_of_work import EnrolmentState, InMemoryEnrolmentUnitOfWork
from shared.auth import AuthSettings
from shared.eventstore import InMemoryEventStore


def roster_entry(employee_id: str, **overrides) -> RosterEntry:
    """A colleague in Finance, grade 7, under M1 (all overridable)."""
    fields = {
        "employee_id": employee_id,
        "display_name": f"Name of {employee_id}",
        "email": f"{employee_id.lower()}@corp.example",
        "department": "Finance",
        "grade": 7,
        "manager_id": "M1",
        "languages": ("en",),
        "time_zone": "Europe/Paris",
        "reporting_chain": ("M1",),
        **overrides,
    }
    return RosterEntry(**fields)


class InProcessEnrolment:
    def __init__(self, pseudonym_key: str, roster: Iterable[RosterEntry] = ()):
        self.state, self.store = EnrolmentState(), InMemoryEventStore()
        self.app = bootstrap.build(EnrolmentSettings(pseudonym_key=pseudonym_key))
        self.app.state.auth = AuthSettings(pseudonym_key=pseudonym_key)
        self.app.dependency_overrides[http.unit_of_work] = lambda: InMemoryEnrolmentUnitOfWork(self.state, self.store)
        for entry in roster:
            self.state.roster[entry.employee_id] = entry

    def types(self) -> list[str]:
        """The short type (e.g. `consent-given`) of every event appended, in order."""
        return [e.type.split(".")[2] for e in self.store.events]

    def events(self, kind: str) -> list[dict]:
        return [e.data for e in self.store.events if e.type.split(".")[2] == kind]

    @asynccontextmanager
    async def client(self) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://e/enrolment/v1") as client:
            yield client
