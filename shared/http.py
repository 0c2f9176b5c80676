"""The FastAPI app every service builds: its routers under its prefix, probes, metrics, error mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from shared.auth import AuthSettings
from shared.errors import Conflict, Forbidden, NotFound
from shared.eventstore import AppendResult, ConcurrencyError
from shared.runtime import ServiceRuntime


class EventLogPosition(BaseModel):
    """Where a command's events landed, so a client can wait for a read model to catch up."""

    stream_id: str
    stream_version: int
    position: int

    @classmethod
    def of(cls, result: AppendResult) -> EventLogPosition:
        return cls(stream_id=result.stream_id, stream_version=result.version, position=result.last_position)


def create_app(runtime: ServiceRuntime, prefix: str, routers: list[APIRouter], title: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        yield
        await runtime.stop()

    app = FastAPI(
        title=title,
        lifespan=lifespan,
        docs_url=f"{prefix}/docs",
        openapi_url=f"{prefix}/openapi.json",
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.auth = AuthSettings()
    for router in routers:
        app.include_router(router, prefix=prefix)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        checks = await runtime.readiness()
        return JSONResponse(checks, status_code=200 if checks["ready"] else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    for error, code in ((NotFound, 404), (Conflict, 409), (ConcurrencyError, 409), (Forbidden, 403)):
        app.add_exception_handler(error, _reply(code))
    return app


def _reply(status_code: int):
    async def handler(_request: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=status_code)

    return handler
