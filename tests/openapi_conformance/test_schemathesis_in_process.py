"""schemathesis against the OpenAPI documents of enrolment, matching and sessions, in-process over their in-memory
units of work (no servers; issue #13): no 5xx, and every response is one the document lists, with its schema.
The same run against real processes over PostgreSQL, insights included, is test_schemathesis_processes.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis

from services.enrolment import bootstrap as enrolment
from services.enrolment.config import EnrolmentSettings
from services.enrolment.entrypoints import http as enrolment_http
from services.enrolment.service_layer.unit_of_work import EnrolmentState, InMemoryEnrolmentUnitOfWork
from services.matching import bootstrap as matching
from services.matching.entrypoints import http as matching_http
from services.matching.service_layer.unit_of_work import InMemoryMatchingUnitOfWork, MatchingState
from services.sessions import bootstrap as sessions
from services.sessions.adapters.memory import SessionsState
from services.sessions.config import SessionsSettings
from services.sessions.entrypoints import http as sessions_http
from services.sessions.service_layer.unit_of_work import InMemorySessionsUnitOfWork
from shared.eventstore import InMemoryEventStore
from tests.support.conformance import exercise
from tests.support.services import token


def without_lifespan(app: Any) -> Callable:
    """The app with its lifespan refused (schemathesis would start it: the runtime's database and broker); an
    app that rejects the lifespan scope before reading a message is served without one, as servers do."""

    async def asgi(scope, receive, send):
        if scope["type"] == "lifespan":
            raise RuntimeError("served over the in-memory unit of work: no runtime to start")
        await app(scope, receive, send)

    return asgi


def enrolment_app():
    state, store = EnrolmentState(), InMemoryEventStore()
    app = enrolment.build(EnrolmentSettings(pseudonym_key="in-process-pseudonym-key-of-32-bytes"))
    app.dependency_overrides[enrolment_http.unit_of_work] = lambda: InMemoryEnrolmentUnitOfWork(state, store)
    return app


def matching_app():
    state, store = MatchingState(), InMemoryEventStore()
    app = matching.build()
    app.dependency_overrides[matching_http.unit_of_work] = lambda: InMemoryMatchingUnitOfWork(state, store)
    return app


def sessions_app():
    state, store = SessionsState(), InMemoryEventStore()
    app = sessions.build(SessionsSettings())
    app.dependency_overrides[sessions_http.unit_of_work] = lambda: InMemorySessionsUnitOfWork(state, store)
    return app


APPS = {"enrolment": enrolment_app, "matching": matching_app, "sessions": sessions_app}
# Half the examples of the run against real processes (test_schemathesis_processes.py, 30 per operation and mode):
# this one belongs to the fast layer, and the same operations get the full count over PostgreSQL.
EXAMPLES = 15


@pytest.mark.parametrize("service", APPS)
def test_no_server_error_and_every_response_as_documented(service):
    app = APPS[service]()
    schema = schemathesis.openapi.from_asgi(f"/{service}/v1/openapi.json", without_lifespan(app))
    report = exercise(schema, service, token("program_admin"), max_examples=EXAMPLES)
    assert report.requests > 0
    assert not report.server_errors and not report.violations, report.summary()
