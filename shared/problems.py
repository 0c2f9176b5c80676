"""Every error a service answers, as an RFC 9457 problem document (`application/problem+json`).

    {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "no program prg-1",
     "instance": "/enrolment/v1/programs/prg-1"}

A 422 adds `errors`, one `{loc, field, msg, type}` per bad field (FastAPI's `loc`, and `field`, its last name).
It never carries the input back: a 10 MB value would come back whole, and an e-mail address or an employee id
would travel into proxies' and clients' logs. A 503 (the database is unreachable) carries `Retry-After`. A 500
says only that something failed and which request it was: the exception is logged, scrubbed (shared/scrub.py),
never returned.

`install(app)` wires it from `shared.http.create_app`, and `BodyLimit` refuses a body over the limit with a 413
before the application reads it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.eventstore import ConcurrencyError, EventTooLarge
from shared.scrub import safe_exc_info, scrub

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
PROBLEMS = "https://tandem.example/problems/"
AT_CAPACITY_RETRY_AFTER_S = 1  # a queue that is full now drains within a second at the rates measured
RETRY_AFTER_S = 5  # long enough for a PostgreSQL restart or fail-over to be seen through, short for a client

# What says "the database cannot be reached now", as opposed to "the database refused this statement":
# refused or reset TCP connections (OSError), a pool acquire or connect that timed out, PostgreSQL starting up,
# shutting down or out of connection slots, and a connection lost in the middle of a statement.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08: connection exceptions
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
)


def problem(
    request: Request | Scope,
    status: int,
    detail: str,
    *,
    type_: str = "about:blank",
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    scope = request.scope if isinstance(request, Request) else request
    body = {
        "type": type_,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": scope.get("path", ""),
        **extensions,
    }
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def field_errors(errors: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """pydantic's errors without their `input` (nor `ctx`/`url`): where, which field, what is wrong."""
    found = []
    for error in errors:
        loc = [part if isinstance(part, int | str) else str(part) for part in error.get("loc", ())]
        names = [part for part in loc if isinstance(part, str)]
        # A dict's key or a list's index can follow the field's name: `field` is the model field, the first name
        # after where it came from (body, query, path, header).
        field = names[1] if len(names) > 1 and names[0] in ("body", "query", "path", "header", "cookie") else None
        field = field or (names[-1] if names else "")
        found.append({"loc": loc, "field": field, "msg": str(error.get("msg", ""))[:500], "type": error.get("type")})
    return found


# -------------------------------------------------------------------------------------------------- handlers


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    detail = error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
    kind = PROBLEMS + "body-too-large" if isinstance(error, BodyTooLarge) else "about:blank"
    return problem(request, error.status_code, detail, type_=kind, headers=dict(error.headers or {}))


async def _request_invalid(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = field_errors(error.errors())
    detail = "invalid " + ", ".join(dict.fromkeys(e["field"] for e in errors))
    return problem(request, 422, detail, type_=PROBLEMS + "invalid-request", errors=errors)


async def _domain_invalid(request: Request, error: Exception) -> JSONResponse:
    field = getattr(error, "field", "body")
    errors = [{"loc": ["body", field], "field": field, "msg": str(error), "type": "value_error"}]
    return problem(request, 422, str(error), type_=PROBLEMS + "invalid-request", errors=errors)


async def _event_too_large(request: Request, error: Exception) -> JSONResponse:
    return problem(request, 413, str(error), type_=PROBLEMS + "event-too-large")


async def _database_unavailable(request: Request, error: Exception) -> JSONResponse:
    log.warning("database unavailable: %s", scrub(error))
    return problem(
        request,
        503,
        "the database cannot be reached; try again shortly",
        type_=PROBLEMS + "database-unavailable",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def _status(code: int):
    async def handler(request: Request, error: Exception) -> JSONResponse:
        return problem(request, code, str(error))

    return handler


def install(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(Invalid, _domain_invalid)
    app.add_exception_handler(EventTooLarge, _event_too_large)
    for error, code in ((NotFound, 404), (Conflict, 409), (ConcurrencyError, 409), (Forbidden, 403)):
        app.add_exception_handler(error, _status(code))
    for unavailable in DATABASE_UNAVAILABLE:
        app.add_exception_handler(unavailable, _database_unavailable)


class Problems:
    """Outermost of a service's own middleware: an exception no handler took (a bug) becomes a generic 500
    problem, logged with `scrub`'s words, and is not re-raised, so the server's own "Exception in ASGI
    application" line (with the raw message) is never written. A body over `max_body_bytes` is a 413, refused
    from its Content-Length before it is read, or as soon as a chunked one passes the limit."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app, self.max_body_bytes = app, max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(scope, send)
            return
        received = 0

        async def counting(_inner: Receive = receive) -> Message:
            nonlocal received
            message = await _inner()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        try:
            await self.app(scope, counting, sending)
        except BodyTooLarge:
            if not started:
                await self._too_large(scope, send)
        except Exception as error:
            log.error("%s %s failed", scope.get("method"), scope.get("path"), exc_info=safe_exc_info(error))
            if not started:
                await problem(scope, 500, "the request failed; it has been logged")(scope, receive, send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        error = BodyTooLarge(self.max_body_bytes)
        headers = dict(error.headers or {})
        response = problem(scope, 413, error.detail, type_=PROBLEMS + "body-too-large", headers=headers)
        await response(scope, _nothing, send)


class InFlightLimit:
    """Admission control: at most `limit` requests in flight; the next one is answered at once with a 503 problem
    and `Retry-After`. Beyond its capacity a service would otherwise queue without bound: requests their clients
    have given up on are still served, every answer comes later, and throughput collapses (measured at 500
    requests/s on enrolment: 112, then 3 served per second; docs/performance.md). The probes and /metrics are
    always answered, so a busy replica is not restarted for being busy.

    Inside the request metrics' middleware, so refused requests are counted there with their 503."""

    UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            response = problem(
                scope,
                503,
                f"the service is at capacity ({self.limit} requests in flight); try again shortly",
                type_=PROBLEMS + "at-capacity",
                headers={"Retry-After": str(AT_CAPACITY_RETRY_AFTER_S)},
            )
            await response(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


class BodyTooLarge(HTTPException):
    """Raised while the body is read; an HTTPException, so FastAPI's body parsing lets it through as it is."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes", headers={"Connection": "close"})


async def _nothing() -> Message:
    return {"type": "http.disconnect"}
