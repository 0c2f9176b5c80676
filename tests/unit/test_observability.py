"""Correlation and causation ids, trace context, JSON logs, HTTP metrics and the OpenAPI security scheme, on a
small app wired like a service's (shared.http.create_app) and on the services' own apps, without servers."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY

from services.registry import SERVICES as SPECS
from shared import observability
from shared.auth import Admin, issue_token
from shared.envelope import Envelope
from shared.events import ParticipantWithdrawn
from shared.eventstore import InMemoryEventStore
from shared.http import create_app
from shared.lifecycle import configure_logging
from shared.observability import caused_by, correlation_scope
from shared.service import ServiceSettings, ServiceSpec

PREFIX = "/obstest/v1"
ROUTE = f"{PREFIX}/programs/{{program_id}}/withdrawals"
ADMIN = {"Authorization": f"Bearer {issue_token('admin-1', ['program_admin'])}"}
log = logging.getLogger("tests.observability")


def withdrawn(participant_id: str = "pt-1") -> ParticipantWithdrawn:
    return ParticipantWithdrawn(program_id="p1", participant_id=participant_id, reason="moved on")


def build_app(store: InMemoryEventStore) -> FastAPI:
    router = APIRouter()

    @router.post("/programs/{program_id}/withdrawals", status_code=201)
    async def withdraw(program_id: str, _admin: Admin) -> dict[str, list[str]]:
        result = await store.append(program_id, None, [withdrawn()])
        log.info("withdrawal recorded")
        return {"event_ids": list(result.event_ids)}

    # The runtime is never started (no `with TestClient`): no Kafka, no PostgreSQL.
    spec = ServiceSpec(name="obstest", title="Observability test", settings=ServiceSettings, routers=[router])
    return create_app(spec)


@pytest.fixture
def store() -> InMemoryEventStore:
    return InMemoryEventStore()


@pytest.fixture
def client(store) -> TestClient:
    return TestClient(build_app(store))


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    observability.configure_tracing("obstest", exporter=exporter)
    yield exporter
    observability.disable_tracing()


@pytest.fixture
def log_lines(monkeypatch, capsys):
    """Configure logging as a service does (format from the environment); return a reader of its lines."""
    root = logging.getLogger()
    level = root.level

    def configure(log_format: str) -> None:
        monkeypatch.setenv("TANDEM_LOG_FORMAT", log_format)
        configure_logging()  # its handler writes to this test's captured stderr

    yield configure, lambda: capsys.readouterr().err.splitlines()
    for handler in [h for h in root.handlers if h.get_name() == "tandem"]:
        root.removeHandler(handler)
    root.setLevel(level)


# ------------------------------------------------------------------------------------- correlation and causation


def test_a_request_without_a_correlation_id_gets_a_new_one_echoed_and_on_its_events(client, store):
    response = client.post(f"{PREFIX}/programs/p1/withdrawals", headers=ADMIN)
    assert response.status_code == 201
    correlation_id = response.headers["X-Correlation-Id"]
    assert uuid.UUID(correlation_id)
    (stored,) = store.events
    assert stored.metadata["correlation_id"] == correlation_id
    assert stored.metadata["causation_id"] == correlation_id  # caused by the request itself


def test_a_well_formed_incoming_correlation_id_is_kept(client, store):
    response = client.post(f"{PREFIX}/programs/p1/withdrawals", headers={**ADMIN, "X-Correlation-Id": "gw-7f3a.91"})
    assert response.headers["X-Correlation-Id"] == "gw-7f3a.91"
    assert (store.events[0].metadata["correlation_id"], store.events[0].metadata["causation_id"]) == (
        "gw-7f3a.91",
        "gw-7f3a.91",
    )


@pytest.mark.parametrize("offered", ["someone@example.org", "two words", "x" * 129, "-leading-dash"])
def test_a_malformed_or_unbounded_incoming_id_is_replaced_not_recorded(client, store, offered):
    response = client.post(f"{PREFIX}/programs/p1/withdrawals", headers={**ADMIN, "X-Correlation-Id": offered})
    assert uuid.UUID(response.headers["X-Correlation-Id"])
    assert store.events[0].metadata["correlation_id"] == response.headers["X-Correlation-Id"]


def test_every_answer_carries_a_correlation_id_even_a_refusal(client):
    response = client.post(f"{PREFIX}/programs/p1/withdrawals", headers={"X-Correlation-Id": "req-401"})
    assert response.status_code == 401 and response.headers["X-Correlation-Id"] == "req-401"


def upstream(event_id: str, correlation_id: str | None, traceparent: str | None = None) -> Envelope:
    return Envelope(
        event_id=event_id,
        type=withdrawn().type_name,
        source="/tandem/enrolment",
        subject="pt-1",
        stream_version=1,
        time=datetime.now(UTC),
        data=withdrawn().model_dump(mode="json"),
        correlation_id=correlation_id,
        causation_id="whatever-caused-upstream",
        traceparent=traceparent,
    )


async def test_events_appended_while_handling_an_upstream_event_are_caused_by_it(store):
    with caused_by(upstream("e-upstream", "corr-1")):
        await store.append("pair-1", None, [withdrawn()])
    metadata = store.events[0].metadata
    assert (metadata["correlation_id"], metadata["causation_id"]) == ("corr-1", "e-upstream")


async def test_an_upstream_event_without_a_correlation_id_starts_its_own(store):
    with caused_by(upstream("e-old", None)):
        await store.append("pair-1", None, [withdrawn()])
    metadata = store.events[0].metadata
    assert (metadata["correlation_id"], metadata["causation_id"]) == ("e-old", "e-old")


async def test_ids_the_caller_passes_win_over_the_scope_and_no_scope_means_none(store):
    with correlation_scope("req-1", "req-1"):
        await store.append("s1", None, [withdrawn()], correlation_id="mine", causation_id="cmd-1")
    await store.append("s1", None, [withdrawn()])
    first, second = (e.metadata for e in store.events)
    assert (first["correlation_id"], first["causation_id"]) == ("mine", "cmd-1")
    assert (second["correlation_id"], second["causation_id"]) == (None, None)
    assert "traceparent" not in second  # tracing is off: nothing is added


async def test_scopes_nest_and_unwind(store):
    with correlation_scope("req-1", "req-1"):
        with caused_by(upstream("e-1", "corr-up")):
            await store.append("s1", None, [withdrawn()])
        await store.append("s1", None, [withdrawn()])
    assert observability.current_cause() is None
    assert [e.metadata["causation_id"] for e in store.events] == ["e-1", "req-1"]


# ------------------------------------------------------------------------------------------------ trace context

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_trace_context_travels_on_kafka_as_the_cloudevents_tracing_extension():
    envelope = Envelope(**{**upstream("e-1", "c-1", TRACEPARENT).__dict__, "tracestate": "vendor=1"})
    headers = dict(envelope.kafka_headers())
    assert headers["ce_traceparent"] == TRACEPARENT.encode() and headers["ce_tracestate"] == b"vendor=1"
    back = Envelope.from_kafka(envelope.kafka_headers(), envelope.kafka_value())
    assert (back.traceparent, back.tracestate) == (TRACEPARENT, "vendor=1")
    assert back.extra_headers == {}
    untraced = dict(upstream("e-2", "c-1").kafka_headers())
    assert "ce_traceparent" not in untraced


async def test_a_stored_events_trace_context_reaches_its_envelope(store):
    with caused_by(upstream("e-1", "c-1")):
        await store.append("s1", None, [withdrawn()])
    assert store.events[0].envelope("/tandem/test").traceparent is None
    stored = store.events[0]
    traced = type(stored)(**{**stored.__dict__, "metadata": {**stored.metadata, "traceparent": TRACEPARENT}})
    assert traced.envelope("/tandem/test").traceparent == TRACEPARENT


async def test_a_consumers_span_continues_the_trace_of_the_request_that_appended_the_event(spans, store):
    client = TestClient(build_app(store))  # built with tracing on: HTTP server spans
    response = client.post(f"{PREFIX}/programs/p1/withdrawals", headers=ADMIN)
    (stored,) = store.events
    request_trace = stored.metadata["traceparent"].split("-")[1]
    server = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert [f"{s.context.trace_id:032x}" for s in server] == [request_trace]
    assert response.headers["X-Correlation-Id"] == stored.metadata["correlation_id"]

    producer_span_id = int(stored.metadata["traceparent"].split("-")[2], 16)
    with caused_by(stored.envelope("/tandem/obstest")):
        await store.append("pair-1", None, [withdrawn()])
    consumer = [s for s in spans.get_finished_spans() if s.kind == SpanKind.CONSUMER]
    assert len(consumer) == 1 and consumer[0].parent is not None
    assert (consumer[0].parent.trace_id, consumer[0].parent.span_id) == (server[0].context.trace_id, producer_span_id)
    assert consumer[0].attributes["cloudevents.event_id"] == stored.event_id
    reaction = store.events[1].metadata
    assert reaction["traceparent"].split("-")[1] == request_trace
    assert (reaction["correlation_id"], reaction["causation_id"]) == (
        stored.metadata["correlation_id"],
        stored.event_id,
    )


def test_tracing_is_off_unless_configured(monkeypatch):
    monkeypatch.delenv("TANDEM_OTEL_EXPORTER", raising=False)
    assert observability.configure_tracing("obstest") is False
    assert not observability.tracing_enabled()


# ------------------------------------------------------------------------------------------------------- logging


def test_json_log_lines_carry_the_requests_correlation_id(client, log_lines):
    configure, lines = log_lines
    configure("json")
    response = client.post(f"{PREFIX}/programs/p1/withdrawals", headers={**ADMIN, "X-Correlation-Id": "req-9"})
    records = [json.loads(line) for line in lines()]  # every line is one JSON object
    (line,) = [r for r in records if r["message"] == "withdrawal recorded"]
    assert response.status_code == 201
    assert line["correlation_id"] == "req-9" and line["level"] == "INFO" and line["logger"] == log.name
    assert datetime.fromisoformat(line["time"]).tzinfo is not None
    assert "trace_id" not in line  # tracing is off


def test_json_log_lines_carry_the_trace_id_when_tracing_is_on(spans, store, log_lines):
    configure, lines = log_lines
    configure("json")
    TestClient(build_app(store)).post(f"{PREFIX}/programs/p1/withdrawals", headers=ADMIN)
    (line,) = [r for r in map(json.loads, lines()) if r["message"] == "withdrawal recorded"]
    assert line["trace_id"] == store.events[0].metadata["traceparent"].split("-")[1]


def test_text_log_lines_are_for_people_and_unknown_formats_are_refused(log_lines, monkeypatch):
    configure, lines = log_lines
    configure("text")
    log.warning("plain %s", "words")
    assert lines()[-1].endswith("WARNING tests.observability: plain words")
    with pytest.raises(ValueError, match="TANDEM_LOG_FORMAT"):
        configure("yaml")


# ------------------------------------------------------------------------------------------------------- metrics


def requests_counted(route: str, status: str, method: str = "POST") -> float:
    labels = {"method": method, "route": route, "status": status}
    return REGISTRY.get_sample_value("tandem_http_requests_total", labels) or 0.0


def test_requests_are_counted_and_timed_by_route_template_never_by_raw_path(client):
    before, before_unmatched = requests_counted(ROUTE, "201"), requests_counted("unmatched", "404", "GET")
    timed_before = REGISTRY.get_sample_value(
        "tandem_http_request_duration_seconds_count", {"method": "POST", "route": ROUTE, "status": "201"}
    )
    for program in ("p-1", "p-2", "p-3"):
        client.post(f"{PREFIX}/programs/{program}/withdrawals", headers=ADMIN)
    client.post(f"{PREFIX}/programs/p-4/withdrawals")  # refused: counted under its status
    client.get(f"{PREFIX}/no/such/thing-5")
    before_odd = requests_counted("unmatched", "404", "_OTHER")
    client.request("BREW", f"{PREFIX}/no/such/pot")  # any method name a client makes up shares one label

    assert requests_counted(ROUTE, "201") - before == 3
    assert requests_counted(ROUTE, "401") >= 1
    assert requests_counted("unmatched", "404", "GET") - before_unmatched == 1
    assert requests_counted("unmatched", "404", "_OTHER") - before_odd == 1
    timed = REGISTRY.get_sample_value(
        "tandem_http_request_duration_seconds_count", {"method": "POST", "route": ROUTE, "status": "201"}
    )
    assert (timed or 0.0) - (timed_before or 0.0) == 3
    exposition = client.get("/metrics").text
    assert f'route="{ROUTE}"' in exposition
    assert not [line for line in exposition.splitlines() if "tandem_http" in line and ("p-1" in line or "-5" in line)]


# ------------------------------------------------------------------------------------------------------- openapi


@pytest.mark.parametrize("service", ["enrolment", "matching", "sessions", "insights"])
def test_openapi_declares_bearer_jwt_on_every_endpoint(service):
    app = create_app(next(spec for spec in SPECS if spec.name == service))  # never started
    spec = TestClient(app).get(f"/{service}/v1/openapi.json").json()
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A JWT from the identity provider.",
    }
    operations = [(path, method, op) for path, ops in spec["paths"].items() for method, op in ops.items()]
    assert operations
    # The one public operation: anyone holding a certificate checks its verification code (issue #16).
    public = {("/enrolment/v1/certificates/verify/{code}", "get")} if service == "enrolment" else set()
    assert {(path, method) for path, method, op in operations if op.get("security") != [{"bearer": []}]} == public


def test_refusals_keep_their_messages_and_challenge(client):
    for headers in ({}, {"Authorization": "Basic YWRtaW46YWRtaW4="}, {"Authorization": "Bearer"}):
        response = client.post(f"{PREFIX}/programs/p1/withdrawals", headers=headers)
        assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == "a bearer token is required"
    garbage = client.post(f"{PREFIX}/programs/p1/withdrawals", headers={"Authorization": "Bearer not-a-jwt"})
    assert garbage.status_code == 401 and garbage.json()["detail"].startswith("invalid token:")
