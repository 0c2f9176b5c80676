"""What runs inside every service process besides HTTP: its connections, the event store and its relay, the
projections that build the service's read models and the policies that react to other services' events. One
object, started and stopped by the app's lifespan; CLI commands open the same connections without the workers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from shared import eventstore
from shared.connections import Connections
from shared.db import migrate
from shared.projection import ProjectionRunner
from shared.relay import Relay
from shared.service import ServiceSettings, ServiceSpec
from shared.topics import events_topic

log = logging.getLogger(__name__)


class ServiceRuntime:
    def __init__(self, spec: ServiceSpec, settings: ServiceSettings):
        self.spec, self.settings = spec, settings
        self.service = spec.name
        self.schema = spec.schema(settings)
        self.topic = events_topic(spec.name, settings.topic_prefix)
        self.connections = Connections(settings.database_url, settings, self.schema)
        self.stop_event = asyncio.Event()
        self.tasks: dict[str, asyncio.Task] = {}
        self.runners: list[ProjectionRunner] = []
        self.store: eventstore.PostgresEventStore

    @property
    def pool(self):
        return self.connections.pool

    @asynccontextmanager
    async def opened(self) -> AsyncIterator[ServiceRuntime]:
        """The connections and the event store, for a command that needs no workers (migrate, replay)."""
        async with self.connections:
            self.store = eventstore.PostgresEventStore(
                self.connections.pool, self.schema, max_event_bytes=self.settings.kafka_max_request_size
            )
            yield self

    async def migrate_schema(self) -> list[str]:
        """Bring the service's schema up to date. Runs once per start (under an advisory lock, so replicas may start
        together) and, before an upgrade, from the Helm hook Job through `tandem migrate`."""
        return await migrate(self.connections.pool, self.schema, self.spec.migration_files())

    async def start(self) -> None:
        await self.connections.__aenter__()
        self.store = eventstore.PostgresEventStore(
            self.connections.pool, self.schema, max_event_bytes=self.settings.kafka_max_request_size
        )
        await self.migrate_schema()
        if self.spec.publishes:
            relay = Relay(
                self.store,
                self.settings.database_url,
                self.topic,
                await self.connections.producer(),
                source=f"/tandem/{self.service}",
            )
            self._supervise("relay", relay.run)
        policies = list(self.spec.policies(self))
        for projection in self.spec.projections:
            runner = ProjectionRunner(
                projection,
                self.connections,
                policies=[p for p in policies if p.projection == projection.name],
                group_id=f"{self.settings.topic_prefix}.{self.service}.{projection.name}",
            )
            self.runners.append(runner)
            self._supervise(f"projection {projection.name}", runner.run)
        log.info("%s: started (schema %s, topic %s)", self.service, self.schema, self.topic)

    async def stop(self) -> None:
        """Stop taking work, let relay and projections finish the batch in flight, then close."""
        self.stop_event.set()
        if self.tasks:
            _, pending = await asyncio.wait(self.tasks.values(), timeout=self.settings.shutdown_grace_s)
            for task in pending:
                log.warning("%s: %s did not stop within the grace period", self.service, task.get_name())
                task.cancel()
        await self.connections.__aexit__(None, None, None)
        log.info("%s: stopped", self.service)

    async def readiness(self) -> dict[str, object]:
        checks: dict[str, object] = {}
        try:
            await asyncio.wait_for(self.pool.fetchval("SELECT 1"), 2)
            checks["database"] = "ok"
        except Exception as error:
            checks["database"] = f"unreachable: {error}"
        checks["kafka"] = await self._kafka_check()
        for name, task in self.tasks.items():
            checks[name] = "running" if not task.done() else "stopped"
        for runner in self.runners:
            lag = runner.lag()
            ok = lag <= self.settings.ready_max_lag
            checks[f"lag {runner.projection.name}"] = lag if ok else f"{lag} (more than {self.settings.ready_max_lag})"
        checks["ready"] = all(v in ("ok", "running", "not used") or isinstance(v, int) for v in checks.values())
        return checks

    async def _kafka_check(self) -> str:
        if not (self.spec.publishes or self.runners):
            return "not used"
        try:
            producer = await asyncio.wait_for(self.connections.producer(), 3)
            await asyncio.wait_for(producer.client.fetch_all_metadata(), 3)
            return "ok"
        except Exception as error:
            return f"unreachable: {error}"

    def _supervise(self, name: str, work: Callable[[asyncio.Event], Awaitable[None]]) -> None:
        """Run `work` until stop; if it fails, log why and start it again with a growing pause."""

        async def loop() -> None:
            pause = 1.0
            while not self.stop_event.is_set():
                try:
                    await work(self.stop_event)
                except Exception:
                    log.exception("%s: %s failed; restarting in %.0fs", self.service, name, pause)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.stop_event.wait(), pause)
                    pause = min(pause * 2, 30.0)

        self.tasks[name] = asyncio.create_task(loop(), name=name)
