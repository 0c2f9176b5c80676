"""HTTP write load (issue #18, item 4): enrolment as a real process, enrolments POSTed at fixed rates.

Open-loop: request i is due at start + i/rate whatever happened to earlier ones, and its latency counts from when it
was due, so a slow server cannot slow the generator down and hide its own queue (coordinated omission). Each
request is a different person enrolling themselves (their own token, made before the clock starts). Lag: from an
event's recording time (`ce_time`) to its record being read from enrolment's topic, i.e. through the relay; the
read models behind Kafka add their own projection lag (bench/eventlog.py measures projection throughput).
Rates: TANDEM_BENCH_RATES (default 100,300,500) for TANDEM_BENCH_SECONDS each (default 10).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import time
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer

from bench.report import merge_section, print_table
from shared.envelope import Envelope
from shared.settings import DatabaseSettings, KafkaSettings
from shared.topics import create_topics, events_topic, platform_topics
from tests.support.services import ServiceProcess, as_person, service_env, token

RATES = [int(r) for r in os.environ.get("TANDEM_BENCH_RATES", "100,300,500").split(",")]
SECONDS = float(os.environ.get("TANDEM_BENCH_SECONDS", "10"))


def profile(employee_id: str) -> dict:
    return {
        "employee_id": employee_id,
        "display_name": f"Person {employee_id}",
        "email": f"{employee_id.lower()}@example.com",
        "role": "mentee",
        "grade": 2,
        "birth_year": 1990,
        "department": "Sales",
        "languages": ["en"],
        "reporting_chain": ["M1"],
        "skills_offered": ["x"],
        "goals": "lead",
        "consent": True,
    }


async def run() -> None:
    run_id = "h" + uuid.uuid4().hex[:8]
    kafka = KafkaSettings(topic_prefix=run_id)
    admin_dsn = DatabaseSettings().database_url
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f"CREATE DATABASE {run_id}")
    dsn = admin_dsn.rsplit("/", 1)[0] + f"/{run_id}"
    await create_topics(kafka, platform_topics(run_id))
    env = service_env(
        {**os.environ, "PYTHONPATH": os.getcwd()},
        DATABASE_URL=dsn,
        TANDEM_TOPIC_PREFIX=run_id,
        KAFKA_BOOTSTRAP_SERVERS=kafka.kafka_bootstrap_servers,
        TANDEM_LOG_LEVEL="WARNING",
    )
    service = ServiceProcess("enrolment", env, log_path=f"/tmp/{run_id}-enrolment.log")
    await asyncio.to_thread(service.start, 120)
    try:
        rows = await _measure(service, kafka, events_topic("enrolment", run_id))
    finally:
        with contextlib.suppress(subprocess.TimeoutExpired):  # a drain slower than the grace period: killed
            service.stop()
        await admin.execute(f"DROP DATABASE IF EXISTS {run_id} WITH (FORCE)")
        await admin.close()
    print_table(f"Enrolment HTTP writes, open loop, {SECONDS:g} s per rate", rows)
    merge_section("http_writes", {"seconds_per_rate": SECONDS, "rows": rows})


async def _measure(service: ServiceProcess, kafka: KafkaSettings, topic: str) -> list[dict]:
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
        launched = await client.post(
            "/programs", json={"title": "Load", "focus_areas": ["ai"]}, headers=token("program_admin")
        )
        launched.raise_for_status()
        program = launched.json()["program"]["program_id"]
    rows = []
    for rate in RATES:
        people = [f"R{rate}-{i}" for i in range(int(rate * SECONDS))]
        requests = [(profile(p), as_person(p)) for p in people]  # tokens signed before the clock starts
        limits = httpx.Limits(max_connections=512, max_keepalive_connections=512)
        async with httpx.AsyncClient(base_url=service.url, limits=limits, timeout=30) as client:
            rows.append(await _at_rate(client, program, rate, requests, kafka, topic))
    return rows


async def _at_rate(
    client: httpx.AsyncClient, program: str, rate: int, requests: list, kafka: KafkaSettings, topic: str
) -> dict:
    count = len(requests)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=kafka.kafka_bootstrap_servers, auto_offset_reset="latest")
    await consumer.start()
    await consumer.seek_to_end()
    lags: list[float] = []
    done = asyncio.Event()

    async def follow() -> None:
        while not done.is_set() or len(lags) < statuses.get(201, 0):
            batch = await consumer.getmany(timeout_ms=200)
            now = datetime.now(UTC)
            for records in batch.values():
                for r in records:
                    sent = Envelope.from_kafka(r.headers, r.value).time
                    lags.append((now - sent).total_seconds() * 1000)
            if done.is_set() and not batch:
                break

    async def one(due: float, body: dict, headers: dict) -> None:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        try:
            response = await client.post(f"/programs/{program}/participants", json=body, headers=headers)
            status = response.status_code
        except httpx.TransportError:
            status = 0  # counted as an error, like any answer but 201
        latencies.append((time.perf_counter() - due) * 1000)
        statuses[status] = statuses.get(status, 0) + 1

    follower = asyncio.create_task(follow())
    start = time.perf_counter() + 0.5
    await asyncio.gather(*(one(start + i / rate, b, h) for i, (b, h) in enumerate(requests)))
    elapsed = time.perf_counter() - start
    done.set()
    await asyncio.wait_for(follower, 120)
    await consumer.stop()
    q = statistics.quantiles(latencies, n=100)
    lq = statistics.quantiles(lags, n=100) if len(lags) > 1 else [float("nan")] * 99
    return {
        "rate (req/s)": rate,
        "achieved (req/s)": round(count / elapsed),
        "ok": statuses.get(201, 0),
        "errors": count - statuses.get(201, 0),
        "p50 ms": round(statistics.median(latencies), 1),
        "p99 ms": round(q[98], 1),
        "lag p50 ms": round(lq[49], 1),
        "lag p99 ms": round(lq[98], 1),
    }
