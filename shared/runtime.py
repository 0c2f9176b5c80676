"""What runs inside every service process besides HTTP: the pool, the event store and its relay, and the
projections that build the service's read models. One object, started and stopped by the app's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaProducer
from pydantic import Field

from shared import eventstore
from shared.db import create_pool, migrate, migration_files
from shared.projection import TRACKING_MIGRATIONS, Projection, ProjectionRunner
from shared.relay import Relay, idempotent_producer
from shared.settings import DatabaseSettings, KafkaSettings
from shared.topics import dead_letter_topic, events_topic

log = logging.getLogger(__name__)


class ServiceSettings(KafkaSettings, DatabaseSettings):
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    schema_name: str | None = Field(None, description="PostgreSQL schema; defaults to the service's name.")
    ready_max_lag: int = Field(1000, description="/readyz fails while a projection is further behind.")
    shutdown_grace_s: float = Field(20.0, description="How long SIGTERM waits for work in flight.")


class ServiceRuntime:
    def __init__(
        self,
        service: str,
        settings: ServiceSettings,
        *,
        migrations: Path | None = None,
        projections: list[Projection] | None = None,
        publishes: bool = True,
    ):
        self.service, self.settings = service, settings
        self.schema = settings.schema_name or service
        self.migrations, self.projections, self.publishes = migrations, projections or [], publishes
        self.topic = events_topic(service, settings.topic_prefix)
        self.stop_event = asyncio.Event()
        self.tasks: dict[str, asyncio.Task] = {}
        self.runners: list[ProjectionRunner] = []
        self.pool: asyncpg.Pool
        self.store: eventstore.PostgresEventStore
        self.producer: AIOKafkaProducer | None = None

    async def migrate_schema(self) -> list[str]:
        """Bring the service's schema up to date: event store, own tables, projections' tracking and tables.

        Runs at start-up (under an advisory lock, so replicas may start together) and, before an upgrade, from
        the Helm hook Job through `tandem migrate`. Touches only PostgreSQL.
        """
        pool = await create_pool(self.settings.database_url, self.schema, max_size=2)
        try:
            folders = [eventstore.MIGRATIONS, *([self.migrations] if self.migrations else [])]
            folders += [TRACKING_MIGRATIONS, *(p.migrations for p in self.projections if p.migrations)]
            return await migrate(pool, self.schema, migration_files(*folders))
        finally:
            await pool.close()

    async def start(self) -> None:
        await self.migrate_schema()
        self.pool = await create_pool(self.settings.database_url, self.schema, max_size=10)
        self.store = eventstore.PostgresEventStore(self.pool, self.schema)
        if self.publishes:
            self.producer = idempotent_producer(self.settings.client_options())
            await self.producer.start()
            relay = Relay(
                self.store,
                self.settings.database_url,
                self.topic,
                self.producer,
                source=f"/tandem/{self.service}",
            )
            self._supervise("relay", relay.run)
        for projection in self.projections:
            runner = ProjectionRunner(
                projection,
                dsn=self.settings.database_url,
                schema=self.schema,
                bootstrap_servers=self.settings.kafka_bootstrap_servers,
                dead_letter_topic=dead_letter_topic(self.settings.topic_prefix),
                group_id=f"{self.settings.topic_prefix}.{self.service}.{projection.name}",
                client_options=self.settings.client_options(),
            )
            await runner.setup()
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
        for runner in self.runners:
            await runner.close()
        if self.producer:
            await self.producer.stop()
        await self.pool.close()
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
        producers = [self.producer, *(r.producer for r in self.runners)]
        producer = next((p for p in producers if p is not None), None)
        if producer is None:
            return "not used"
        try:
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
