"""A service, declared: everything the platform needs to run, document, migrate and replay it, in one value.

Each service's `bootstrap.py` declares its `SPEC`; `services/registry.py` lists them, and the CLI, the platform
script, AsyncAPI generation, topics and the subscriber docs iterate over that list. Nothing is found by module
name at run time, and `shared/` never imports a service: it is handed the specs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from pydantic import Field

from shared import eventstore
from shared.db import migration_files
from shared.events import EVENT_TYPES, Event
from shared.projection import TRACKING_MIGRATIONS, Policy, Projection
from shared.settings import DatabaseSettings, KafkaSettings

if TYPE_CHECKING:
    import typer

    from shared.clock import Schedule
    from shared.health import TaskHealth
    from shared.runtime import ServiceRuntime


class ServiceSettings(KafkaSettings, DatabaseSettings):
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    schema_name: str | None = Field(None, description="PostgreSQL schema; defaults to the service's name.")
    status_interval_s: float = Field(15.0, description="How often the backlog, parked and lag gauges are refreshed.")
    shutdown_grace_s: float = Field(20.0, description="How long SIGTERM waits for work in flight.")
    max_body_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest request body accepted (TANDEM_MAX_BODY_BYTES); larger is a 413."
    )
    max_requests_in_flight: int = Field(
        100,
        ge=1,
        description="Requests served at once (TANDEM_MAX_REQUESTS_IN_FLIGHT); the next is a 503 with Retry-After, "
        "so a replica past its capacity keeps serving what it can instead of queueing without bound.",
    )
    schedule_interval_s: float = Field(
        30.0, gt=0, description="How often the service's scheduled rules (shared/clock.py) run."
    )

    def secret_keys(self) -> dict[str, tuple[str, str]]:
        """The service's own keys, checked at start-up (setting name -> (value, public development value)):
        see shared.auth.refuse_unsafe_secrets."""
        return {}


@dataclass(frozen=True)
class Worker:
    """A long-running task of the service besides the relay and projections (e.g. enrolment's contacts relay):
    the runtime supervises `run(stop, health)`, restarting it with back-off; the worker marks `health` succeeded
    after each round of work, so `status` and the task metrics show it like the relay's."""

    name: str
    run: Callable[[asyncio.Event, TaskHealth], Awaitable[None]]


# What a composition root binds once the runtime's connections exist: FastAPI dependency -> provider.
Bindings = Mapping[Callable[..., Any], Callable[..., Any]]


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    title: str
    settings: type[ServiceSettings]
    routers: Sequence[APIRouter]
    migrations: Sequence[Path] = ()  # the service's own tables; projections bring theirs
    projections: Sequence[Projection] = ()
    policies: Callable[[ServiceRuntime], Sequence[Policy]] = lambda _runtime: ()
    bindings: Callable[[ServiceRuntime], Bindings] = lambda _runtime: {}
    schedules: Callable[[ServiceRuntime], Sequence[Schedule]] = lambda _runtime: ()  # rules run on the clock
    workers: Callable[[ServiceRuntime], Sequence[Worker]] = lambda _runtime: ()  # supervised loops of its own
    static_files: Path | None = None  # served under <prefix>/static
    commands: typer.Typer | None = field(default=None)  # extra `tandem` commands (e.g. insights' `report`)

    @property
    def prefix(self) -> str:
        return f"/{self.name}/v1"

    @property
    def default_port(self) -> int:
        return self.settings.model_fields["http_port"].default

    @property
    def publishes(self) -> list[type[Event]]:
        """The event types whose contract names this service as publisher (shared/events.py)."""
        return [cls for cls in EVENT_TYPES.values() if cls.service == self.name]

    def migration_files(self) -> list[Path]:
        """Event store, the service's own tables, projections' tracking and tables, in that order."""
        folders = [eventstore.MIGRATIONS, *self.migrations, TRACKING_MIGRATIONS]
        return migration_files(*folders, *(p.migrations for p in self.projections if p.migrations))

    def schema(self, settings: ServiceSettings) -> str:
        return settings.schema_name or self.name
