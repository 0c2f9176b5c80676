"""The FastAPI app every service builds: its routers under its prefix, probes, metrics, errors as problem documents
(shared/problems.py) and a request body limit."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared import collector, problems
from shared.auth import Admin, AdminOrAuditor, AuthSettings, UnsafeSecret, auth_keys, refuse_unsafe_secrets
from shared.eventstore import AppendResult
from shared.keys import master_keys
from shared.observability import CORRELATION_HEADER, instrument
from shared.openapi_responses import document_error_responses
from shared.runtime import ServiceRuntime
from shared.service import ServiceSettings, ServiceSpec

T = TypeVar("T")


class EventLogPosition(BaseModel):
    """Where a command's events landed, so a client can wait for a read model to catch up."""

    stream_id: str
    stream_version: int
    position: int

    @classmethod
    def of(cls, result: AppendResult) -> EventLogPosition:
        return cls(stream_id=result.stream_id, stream_version=result.version, position=result.last_position)


def provided(request: Request, placeholder: Callable[..., Awaitable[T]], default: Callable[[], T] | None = None) -> T:
    """What the composition root bound to `placeholder` (`ServiceSpec.bindings`, kept on the app by create_app), for
    the placeholder to return: `async def unit_of_work(request: Request) -> Uow: return provided(request,
    unit_of_work)`. Not FastAPI's dependency_overrides: while any override is set, FastAPI re-derives every
    sub-dependency's signature on every request (10 % of a service's CPU, issue #18); overrides stay for tests.
    The placeholder is async, so it runs on the event loop (a plain `def` costs a thread-pool hop per request)."""
    bindings: dict[Callable[..., Any], Callable[[], Any]] = getattr(request.app.state, "bindings", {})
    provider = bindings.get(placeholder, default)
    if provider is None:
        raise NotImplementedError(f"{placeholder.__qualname__} is bound by the composition root")
    return provider()  # type: ignore[no-any-return]


def create_app(spec: ServiceSpec, settings: ServiceSettings | None = None) -> FastAPI:
    """The service's app: its routers under its prefix, its bindings to the runtime's connections, probes."""
    runtime = ServiceRuntime(spec, settings or spec.settings())
    prefix = spec.prefix

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        yield
        await runtime.stop()

    app = FastAPI(
        title=spec.title,
        lifespan=lifespan,
        docs_url=f"{prefix}/docs",
        openapi_url=f"{prefix}/openapi.json",
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.auth = AuthSettings()
    for router in spec.routers:
        app.include_router(router, prefix=prefix)
    document_error_responses(app)
    app.state.bindings = spec.bindings(runtime)
    if spec.static_files is not None:
        app.mount(f"{prefix}/static", StaticFiles(directory=spec.static_files), name="static")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        checks = await runtime.readiness()
        return JSONResponse(checks, status_code=200 if checks["ready"] else 503)

    @app.get(f"{prefix}/status", tags=["operations"])
    async def status(_caller: AdminOrAuditor) -> dict[str, object]:
        """Background work: per task state, last success, last error, restarts; relay backlog and parked events;
        projection lag, dead letters and unknown types (see shared/runtime.py)."""
        return await runtime.status()

    @app.get(f"{prefix}/asyncapi.json", include_in_schema=False)
    async def asyncapi() -> JSONResponse:
        from shared.asyncapi import document

        return JSONResponse(document(spec))

    if app.state.auth.development:
        app.include_router(development_clock(runtime), prefix=prefix)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    problems.install(app)
    app.add_middleware(problems.InFlightLimit, limit=runtime.settings.max_requests_in_flight)
    instrument(app, runtime.service)
    allow_browser_pages(app, CorsSettings())
    # Added last, so outermost of the service's middleware: a bug anywhere inside is a problem document too.
    app.add_middleware(problems.Problems, max_body_bytes=runtime.settings.max_body_bytes)
    return app


# ------------------------------------------------------------------------------------------- development clock


class ClockAdvance(BaseModel):
    seconds: float = Field(gt=0, le=10 * 366 * 86400, description="How far to move the clock forward.")


class ClockMoved(BaseModel):
    now: datetime
    done: dict[str, int] = Field(description="Per scheduled rule, how many things it did at the new time.")


def development_clock(runtime: ServiceRuntime) -> APIRouter:
    """`POST <prefix>/dev/clock`: moves this process's clock forward and runs its scheduled rules at once. Only
    with TANDEM_DEVELOPMENT=true (tests, the demo): the route does not exist in production."""
    router = APIRouter(tags=["development"])

    @router.post("/dev/clock", response_model=ClockMoved)
    async def advance_clock(body: ClockAdvance, _caller: Admin) -> ClockMoved:
        runtime.clock.advance(timedelta(seconds=body.seconds))
        done = await runtime.run_schedules()
        return ClockMoved(now=runtime.clock.now(), done=done)

    return router


# ------------------------------------------------------------------------------------------------ browser pages

LOCAL_ORIGINS = ",".join(f"http://{host}:{port}" for host in ("127.0.0.1", "localhost") for port in range(8001, 8005))


class CorsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TANDEM_", extra="ignore")

    cors_origins: str = Field(
        LOCAL_ORIGINS,
        description="Comma-separated origins whose pages may call this API from a browser (the web pages insights "
        "serves); empty: none. Default: the four local services on 127.0.0.1 and localhost.",
    )

    @property
    def origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]


def allow_browser_pages(app: FastAPI, settings: CorsSettings) -> None:
    """CORS for pages served by another Tandem service. Tokens travel in the Authorization header, never in
    cookies, so no credentials are allowed and a foreign page cannot act with a user's rights."""
    if settings.origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.origins,
            allow_methods=["GET", "POST", "PUT"],  # PUT: the participant page writes a pair's agreement
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", CORRELATION_HEADER],
            expose_headers=["Content-Disposition", CORRELATION_HEADER],
            max_age=600,
        )


def serve(app: FastAPI) -> None:
    """Run a service until SIGTERM; uvicorn then stops accepting requests and the lifespan drains the rest."""
    import uvicorn

    from shared.lifecycle import configure_logging

    class DrainingServer(uvicorn.Server):
        def handle_exit(self, sig, frame) -> None:
            super().handle_exit(sig, frame)
            # uvicorn re-raises the signal after shutting down, so the exit code would read "killed";
            # after a complete drain we exit 0, which lets operators tell a clean stop from a kill.
            self._captured_signals.clear()

    configure_logging()
    settings = app.state.runtime.settings
    auth: AuthSettings = app.state.auth
    try:
        refuse_unsafe_secrets(auth.development, {**auth_keys(auth), **master_keys(), **settings.secret_keys()})
    except UnsafeSecret as error:
        logging.getLogger("tandem").error("refusing to start: %s", error)
        raise SystemExit(2) from None
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s),
        log_config=None,
    )
    collector.freeze_startup_objects()  # the imports and the app: its full collections were the requests' p99
    DrainingServer(config).run()
