"""schemathesis against each of the four services as a real process over PostgreSQL and Kafka (issue #13): what the
in-memory layer cannot show (a value PostgreSQL rejects, insights' SQL read models) must not be a 5xx either, and
every response is one the OpenAPI document lists, with its schema."""

from __future__ import annotations

import pytest
import schemathesis

from tests.support.conformance import exercise
from tests.support.services import ServiceProcess, service_env, token


@pytest.mark.parametrize("service", ["enrolment", "matching", "sessions", "insights"])
def test_no_server_error_and_every_response_as_documented(service, child_env):
    process = ServiceProcess(service, service_env(child_env)).start()
    try:
        schema = schemathesis.openapi.from_url(f"{process.url}/openapi.json")
        report = exercise(schema, service, token("program_admin"), base_url=process.root)
    finally:
        assert process.stop() == 0, f"{service} stops cleanly after the run"
    assert report.requests > 0
    assert not report.server_errors and not report.violations, report.summary()
