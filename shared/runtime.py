"""What runs inside every service process besides HTTP: its connections, the event store and its relay, the
projections that build the service's read models and the policies that react to other services' events. One
object, started and stopped by the app's lifespan; CLI commands open the same connections without the workers.

Health is split the way an orchestrator needs it (ADR: issue #13): `/healthz` says the process is alive;
`readiness()` (`/readyz`) says it can serve its API, which needs its database and nothing else: the outbox takes
writes while Kafka is away, so a Kafka blip must not take every pod out of rotation. What the background work is
doing (relay backlog and parked events, projection lag, failures, restarts) is `status()` (`<prefix>/status`) and
the metrics, which alerts watch."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared import eventstore
from shared.clock import Clock, Schedule
from shared.connections import Connections
from shared.db import migrate
from shared.health import Backoff, TaskHealth, projection_lag, quiet_kafka_client_logs
from shared.logreader import partitions_of
from shared.metrics import PROJECTION_LAG, RELAY_BACKLOG, RELAY_PARKED
from shared.parked import ParkedEvents
from shared.projection import ProjectionRunner
from shared.relay import Relay
from shared.service import ServiceSettings, ServiceSpec, Worker
from shared.topics import events_topic

log = logging.getLogger(__name__)
KAFKA_TIMEOUT_S = 5.0


class ServiceRuntime:
    def __init__(self, spec: ServiceSpec, settings: ServiceSettings):
        self.spec, self.settings = spec, settings
        self.service = spec.name
        self.schema = spec.schema(settings)
        self.topic = events_topic(spec.name, settings.topic_prefix)
        self.connections = Connections(settings.database_url, settings, self.schema)
        self.stop_event = asyncio.Event()
        self.tasks: dict[str, asyncio.Task] = {}
        self.health: dict[str, TaskHealth] = {}
        self.runners: list[ProjectionRunner] = []
        self.clock = Clock()
        self.schedules: list[Schedule] = []
        self.store: eventstore.PostgresEventStore
        self._offsets_reader: AIOKafkaConsumer | None = None

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
        """Needs PostgreSQL; Kafka may be away: the relay and projections connect (and reconnect) on their own."""
        quiet_kafka_client_logs()
        await self.connections.open()
        self.store = eventstore.PostgresEventStore(
            self.connections.pool, self.schema, max_event_bytes=self.settings.kafka_max_request_size
        )
        await self.migrate_schema()
        if self.spec.publishes:
            relay_health = TaskHealth(self.service, "relay")

            async def relay(stop: asyncio.Event, health: TaskHealth = relay_health) -> None:
                producer = await self.connections.producer()  # here, not at start: Kafka may come later
                await Relay(
                    self.store,
                    self.settings.database_url,
                    self.topic,
                    producer,
                    source=f"/tandem/{self.service}",
                    health=health,
                ).run(stop)

            self._supervise(relay_health, relay)
        policies = list(self.spec.policies(self))
        for projection in self.spec.projections:
            health = TaskHealth(self.service, f"projection {projection.name}")
            runner = ProjectionRunner(
                projection,
                self.connections,
                policies=[p for p in policies if p.projection == projection.name],
                group_id=f"{self.settings.topic_prefix}.{self.service}.{projection.name}",
                health=health,
            )
            self.runners.append(runner)
            self._supervise(health, runner.run)
        for worker in self.spec.workers(self):
            self._supervise_worker(worker)
        self.schedules = list(self.spec.schedules(self))
        if self.schedules:
            self._supervise(TaskHealth(self.service, "schedules"), self._run_schedules)
        if self.tasks:
            self.tasks["status sampler"] = asyncio.create_task(self._sample_status(), name="status sampler")
        log.info("%s: started (schema %s, topic %s)", self.service, self.schema, self.topic)

    async def stop(self) -> None:
        """Stop taking work, let relay and projections finish the batch in flight, then close."""
        self.stop_event.set()
        if self.tasks:
            _, pending = await asyncio.wait(self.tasks.values(), timeout=self.settings.shutdown_grace_s)
            for task in pending:
                log.warning("%s: %s did not stop within the grace period", self.service, task.get_name())
                task.cancel()
        if self._offsets_reader is not None:
            with contextlib.suppress(Exception):
                await self._offsets_reader.stop()
        await self.connections.close()
        log.info("%s: stopped", self.service)

    # ---------------------------------------------------------------------------------------------- readiness

    async def readiness(self) -> dict[str, object]:
        """Ready = the database answers. Background trouble is reported as warnings, never as not-ready."""
        checks: dict[str, object] = {}
        warnings: list[str] = []
        try:
            await asyncio.wait_for(self.pool.fetchval("SELECT 1"), 2)
            checks["database"] = "ok"
        except Exception as error:
            checks["database"] = f"unreachable ({type(error).__name__})"
        if checks["database"] == "ok" and self.spec.publishes:
            with contextlib.suppress(Exception):
                parked = await ParkedEvents(self.pool, self.schema, self.topic).count_open()
                if parked:
                    warnings.append(f"relay: {parked} parked events (tandem parked list --service {self.service})")
        for name, health in self.health.items():
            if health.state == "backing off":
                warnings.append(f"{name}: backing off after {health.last_error_class}")
        checks["ready"] = checks["database"] == "ok"
        if warnings:
            checks["warnings"] = warnings
        return checks

    # ---------------------------------------------------------------------------------------------- status

    async def status(self) -> dict[str, object]:
        """Per task: state, last success, last error (class and time), restarts; the relay's backlog and parked
        events; each projection's lag from its stored offsets against the topics' end offsets, dead letters and
        unknown types. Also refreshes the gauges /metrics serves."""
        result: dict[str, object] = {"service": self.service, "tasks": {n: h.as_dict() for n, h in self.health.items()}}
        if self.spec.publishes:
            result["relay"] = await self._relay_status()
        if self.runners:
            ends, ends_error = await self._end_offsets()
            projections = {}
            for runner in self.runners:
                entry: dict[str, object] = {
                    "dead_letters": dict(runner.dead_letters),
                    "unknown_types": runner.unknown_types,
                }
                try:
                    stored = await runner.stored_offsets_by_partition()
                except Exception as error:
                    entry["lag"], entry["lag_error"] = None, type(error).__name__
                else:
                    if ends_error is None:
                        mine = {tp: end for tp, end in ends.items() if tp[0] in runner.topics}
                        lag = projection_lag(stored, mine)
                        entry["lag"] = lag
                        PROJECTION_LAG.labels(runner.projection.name).set(lag)
                    else:
                        entry["lag"], entry["lag_error"] = None, ends_error
                projections[runner.projection.name] = entry
            result["projections"] = projections
        return result

    async def _relay_status(self) -> dict[str, object]:
        try:
            parked = ParkedEvents(self.pool, self.schema, self.topic)
            backlog = await self.pool.fetchval(
                f"""SELECT count(*) FROM {self.schema}.events
                    WHERE (log_xid, position) > coalesce(
                        (SELECT (last_xid, last_position) FROM {self.schema}.relay_cursor WHERE topic = $1),
                        ('0'::xid8, 0::bigint))""",
                self.topic,
            )
            count = await parked.count_open()
        except Exception as error:
            return {"topic": self.topic, "backlog": None, "parked": None, "error": type(error).__name__}
        RELAY_BACKLOG.labels(self.topic).set(backlog)
        RELAY_PARKED.labels(self.topic).set(count)
        return {"topic": self.topic, "backlog": backlog, "parked": count}

    async def _end_offsets(self) -> tuple[dict[tuple[str, int], int], str | None]:
        """End offsets of every topic the projections read, from one group-less consumer kept between calls."""
        topics = sorted({t for runner in self.runners for t in runner.topics})
        try:
            if self._offsets_reader is None:
                reader = self.connections.consumer(None, enable_auto_commit=False)
                try:
                    await asyncio.wait_for(reader.start(), KAFKA_TIMEOUT_S)
                except BaseException:
                    with contextlib.suppress(Exception):
                        await reader.stop()
                    raise
                self._offsets_reader = reader
            reader = self._offsets_reader
            partitions: list[TopicPartition] = []
            for topic in topics:
                partitions += await asyncio.wait_for(partitions_of(reader, topic), KAFKA_TIMEOUT_S)
            ends = await asyncio.wait_for(reader.end_offsets(partitions), KAFKA_TIMEOUT_S)
            return {(tp.topic, tp.partition): end for tp, end in ends.items()}, None
        except Exception as error:
            if self._offsets_reader is not None:
                with contextlib.suppress(Exception):
                    await self._offsets_reader.stop()
                self._offsets_reader = None
            return {}, type(error).__name__

    async def _sample_status(self) -> None:
        """Keeps the backlog, parked and lag gauges current for scrapes and alerts."""
        while not self.stop_event.is_set():
            try:
                await self.status()
            except Exception as error:
                log.warning("%s: status sample failed (%s)", self.service, type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_event.wait(), self.settings.status_interval_s)

    # ---------------------------------------------------------------------------------------------- schedules

    async def run_schedules(self) -> dict[str, int]:
        """Each scheduled rule once, at the clock's time: how many things each did."""
        now = self.clock.now()
        done = {schedule.name: await schedule.run(now) for schedule in self.schedules}
        if any(done.values()):
            log.info("%s: scheduled rules at %s did %s", self.service, now.isoformat(), done)
        return done

    async def _run_schedules(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.run_schedules()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.schedule_interval_s)

    # ---------------------------------------------------------------------------------------------- supervision

    def _supervise_worker(self, worker: Worker) -> None:
        health = TaskHealth(self.service, worker.name)

        async def work(stop: asyncio.Event) -> None:
            await worker.run(stop, health)

        self._supervise(health, work)

    def _supervise(self, health: TaskHealth, work: Callable[[asyncio.Event], Awaitable[None]]) -> None:
        """Run `work` until stop; if it fails, record and log why (a traceback when the cause changes, then one line
        per restart) and start it again after a back-off that resets once a run has gone well for a while."""
        name = health.task
        self.health[name] = health

        async def loop() -> None:
            backoff = Backoff()
            previous: str | None = None
            while not self.stop_event.is_set():
                started = time.monotonic()
                health.running()
                try:
                    await work(self.stop_event)
                except Exception as error:
                    pause = backoff.after_failure(time.monotonic() - started)
                    health.failed(error)
                    if type(error).__name__ != previous:
                        log.exception("%s: %s failed; restarting in %.0fs", self.service, name, pause)
                    else:
                        log.warning(
                            "%s: %s failed again (%s); restarting in %.0fs",
                            self.service,
                            name,
                            type(error).__name__,
                            pause,
                        )
                    previous = type(error).__name__
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.stop_event.wait(), pause)
                else:
                    previous = None
            health.stopped()

        self.tasks[name] = asyncio.create_task(loop(), name=name)
