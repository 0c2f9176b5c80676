"""Observability as operators expect it: correlation and causation ids, W3C trace context, request metrics, logs.

- **Correlation and causation.** Each HTTP request runs in a correlation scope (its `X-Correlation-Id`, or a new
  UUID), and each upstream event a projection or policy applies runs in `caused_by(envelope)`. The event stores
  read the scope when a caller passes no ids, so every event says which request or event caused it without
  threading ids through handlers: a request's events have `causation_id` = the request's id, a reaction's
  events have `causation_id` = the upstream event's id, and all share the first cause's correlation id.
- **Tracing** (OpenTelemetry, off unless `TANDEM_OTEL_EXPORTER` is `console` or `otlp`): HTTP server spans, the
  current span's `traceparent` stored with each appended event and sent on Kafka as `ce_traceparent` (the
  CloudEvents distributed-tracing extension), and a consumer span per applied event, child of the producer's.
  When off, nothing is set up and the per-event cost is one attribute check.
- **Metrics**: `tandem_http_requests_total` and `tandem_http_request_duration_seconds` by method, route template
  (never the raw path: ids in paths would make the label set unbounded) and status code.
- **Logs**: `LogContext` adds `correlation_id` and `trace_id` to every record (see shared.lifecycle).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from prometheus_client import Counter, Histogram
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from shared.envelope import Envelope

log = logging.getLogger(__name__)

CORRELATION_HEADER = "X-Correlation-Id"
# Bounded and plain: a client's id goes into events, logs and a response header. No '@' or spaces, so an
# e-mail address or a sentence is refused (and replaced by a fresh UUID) rather than recorded.
_WELL_FORMED_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


class ObservabilitySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TANDEM_", extra="ignore")

    otel_exporter: Literal["none", "console", "otlp"] = Field(
        "none", description="Where trace spans go: nowhere (tracing off), stdout, or an OTLP/HTTP collector."
    )
    otel_endpoint: str | None = Field(
        None,
        description="OTLP/HTTP traces endpoint (e.g. http://collector:4318/v1/traces); unset: the OpenTelemetry "
        "default or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT.",
    )


# ------------------------------------------------------------------------------------ correlation and causation


class Cause(NamedTuple):
    """Why the code running now runs: the correlation id it shares with its origin, and its direct cause."""

    correlation_id: str
    causation_id: str | None = None


_cause: ContextVar[Cause | None] = ContextVar("tandem_cause", default=None)


def current_cause() -> Cause | None:
    return _cause.get()


class _Scope:
    """Sets the current cause for a `with` block. A class rather than a generator-based context manager: a
    projection enters one per event, and the generator machinery cost it more than its SQL (issue #18)."""

    __slots__ = ("_token", "cause")

    def __init__(self, cause: Cause):
        self.cause = cause

    def __enter__(self) -> Cause:
        self._token = _cause.set(self.cause)
        return self.cause

    def __exit__(self, *exc_info: object) -> None:
        _cause.reset(self._token)


def correlation_scope(correlation_id: str, causation_id: str | None = None) -> AbstractContextManager[Cause]:
    """Events appended inside carry `correlation_id` and `causation_id` unless their caller passes others."""
    return _Scope(Cause(correlation_id, causation_id))


def caused_by(envelope: Envelope) -> AbstractContextManager[object]:
    """Handle an upstream event: what is appended inside is caused by it and shares its correlation id, and
    (tracing on) runs in a consumer span whose parent is the span that appended the upstream event.

    An upstream event without a correlation id (older events) starts a correlation of its own: its id.
    """
    scope = _Scope(Cause(envelope.correlation_id or envelope.event_id, envelope.event_id))
    provider = _tracing.provider
    return scope if provider is None else _consumer_span(envelope, scope, provider)


@contextmanager
def _consumer_span(envelope: Envelope, scope: _Scope, provider: TracerProvider) -> Iterator[None]:
    with scope:
        parent = _PROPAGATOR.extract(
            {k: v for k, v in (("traceparent", envelope.traceparent), ("tracestate", envelope.tracestate)) if v}
        )
        tracer = provider.get_tracer(__name__)
        with tracer.start_as_current_span(
            f"process {envelope.type}",
            context=parent,
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.message.id": envelope.event_id,
                "cloudevents.event_id": envelope.event_id,
                "cloudevents.event_type": envelope.type,
                "cloudevents.event_source": envelope.source,
            },
        ):
            yield


def event_metadata(correlation_id: str | None, causation_id: str | None) -> dict[str, Any]:
    """An appended event's metadata: the caller's ids, else the current scope's; the span's trace context."""
    cause = _cause.get()
    metadata: dict[str, Any] = {
        "correlation_id": correlation_id or (cause.correlation_id if cause else None),
        "causation_id": causation_id or (cause.causation_id if cause else None),
    }
    if _tracing.provider is not None:
        _PROPAGATOR.inject(metadata)  # adds traceparent (and tracestate) when a span is current
    return metadata


def well_formed_correlation_id(value: str | None) -> str | None:
    return value if value is not None and _WELL_FORMED_ID.fullmatch(value) else None


# ------------------------------------------------------------------------------------------------------ tracing

_PROPAGATOR = TraceContextTextMapPropagator()


@dataclass
class _Tracing:
    provider: TracerProvider | None = None


_tracing = _Tracing()


def tracing_enabled() -> bool:
    return _tracing.provider is not None


def configure_tracing(
    service_name: str, exporter: SpanExporter | None = None, settings: ObservabilitySettings | None = None
) -> bool:
    """Set up this process's tracer: with `exporter` (tests), else as TANDEM_OTEL_EXPORTER says. True when on.

    The SDK is imported only here, so a process with tracing off never loads it."""
    if exporter is None:
        settings = settings or ObservabilitySettings()
        if settings.otel_exporter == "none":
            return False
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service_name, "service.namespace": "tandem"}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        assert settings is not None
        if settings.otel_exporter == "console":
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otel_endpoint)))
    if exporter is None and not isinstance(trace.get_tracer_provider(), TracerProvider):
        # Once per process, so other libraries' instrumentation finds it. FastAPI's native telemetry would
        # then trace too, but steps aside for the instrumentation `instrument` installs (no double spans).
        # A test's exporter stays private, so turning tracing off again (disable_tracing) is complete.
        trace.set_tracer_provider(provider)
    _tracing.provider = provider
    log.info("tracing on for %s: %s", service_name, type(exporter).__name__ if exporter else settings)
    return True


def disable_tracing() -> None:
    """Back to no tracing (tests); spans still being exported are flushed first."""
    if _tracing.provider is not None:
        _tracing.provider.shutdown()
    _tracing.provider = None


# ------------------------------------------------------------------------------------------------- HTTP metrics

HTTP_REQUESTS = Counter("tandem_http_requests_total", "HTTP requests answered", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "tandem_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
UNMATCHED_ROUTE = "unmatched"  # every path no route matched shares one label value


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "QUERY"})


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/enrolment/v1/programs/{program_id}`), never the raw path.

    FastAPI keeps an included router's routes unprefixed and records the full template of the route it chose
    in its own part of the scope; without that, the route's own (unprefixed, still bounded) template."""
    chosen = scope.get("fastapi", {}).get("effective_route_context")
    route = scope.get("route")
    return (
        getattr(chosen, "path_format", None)
        or getattr(route, "path_format", None)
        or getattr(route, "path", None)
        or UNMATCHED_ROUTE
    )


def method_label(scope: Scope) -> str:
    """A client may send any method name; the label set stays bounded (OpenTelemetry says `_OTHER` too)."""
    return scope["method"] if scope["method"] in _METHODS else "_OTHER"


# ------------------------------------------------------------------------------------------ the HTTP middleware


class RequestObservability:
    """ASGI middleware: each request in a correlation scope (id echoed in the response), counted and timed.

    Plain ASGI rather than BaseHTTPMiddleware, so streamed responses (exports) are not buffered and the
    correlation scope is the one the endpoint runs in."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-correlation-id"), None)
        correlation_id = well_formed_correlation_id(incoming) or str(uuid.uuid4())
        status = 500  # unless a response starts: an exception escaping the app becomes a 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-correlation-id", correlation_id.encode())]
            await send(message)

        try:
            with correlation_scope(correlation_id, correlation_id):
                await self.app(scope, receive, send_with_id)
        finally:
            labels = (method_label(scope), route_template(scope), str(status))
            HTTP_REQUESTS.labels(*labels).inc()
            HTTP_LATENCY.labels(*labels).observe(time.perf_counter() - started)


def instrument(app: FastAPI, service_name: str) -> None:
    """Correlation ids, request metrics and (when TANDEM_OTEL_EXPORTER says so) HTTP server spans for `app`."""
    app.add_middleware(RequestObservability)
    if _tracing.provider is None:
        configure_tracing(service_name)
    if _tracing.provider is not None:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=_tracing.provider,
            excluded_urls="/healthz,/readyz,/metrics",
            exclude_spans=["receive", "send"],  # one span per request, not one per ASGI message
        )


# ------------------------------------------------------------------------------------------------------- logging


class LogContext(logging.Filter):
    """Adds `correlation_id` and `trace_id` to a record when they are set (formatters print what is there)."""

    def filter(self, record: logging.LogRecord) -> bool:
        cause = _cause.get()
        if cause is not None:
            record.correlation_id = cause.correlation_id
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            record.trace_id = trace.format_trace_id(span.trace_id)
            record.span_id = trace.format_span_id(span.span_id)
        return True
