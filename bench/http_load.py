"""HTTP write load (issue #18, item 4): enrolment as a real process, enrolments POSTed at fixed rates.

The load comes from vegeta (deploy/tools/vegeta.sh), compiled Go: a Python client spends about as much CPU per
request as the service it measures, on the same two cores, and the first version of this bench measured mostly
itself. Open loop: vegeta keeps the rate whatever the answers, adding workers when all are busy, so a slow server
cannot slow the generator down and hide its own queue (coordinated omission). Each request is a different person
enrolling themselves (their own token, made before the clock starts). Lag: from an event's recording time
(`ce_time`) to its record being read from enrolment's topic, i.e. through the relay; the read models behind Kafka
add their own projection lag (bench/eventlog.py measures projection throughput).
Rates: TANDEM_BENCH_RATES (default 100,300,500) for TANDEM_BENCH_SECONDS each (default 10).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import csv
import json
import os
import statistics
import subprocess
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer

from bench.report import merge_section, print_table
from shared.envelope import Envelope
from shared.events import ParticipantEnrolled
from shared.settings import DatabaseSettings, KafkaSettings
from shared.topics import create_topics, events_topic, platform_topics
from tests.support.services import ServiceProcess, as_person, service_env, token

RATES = [int(r) for r in os.environ.get("TANDEM_BENCH_RATES", "100,300,500").split(",")]
SECONDS = float(os.environ.get("TANDEM_BENCH_SECONDS", "10"))
REQUEST_TIMEOUT_S = 10  # an answer later than this counts as an error; bounds each rate's run
LAG_WAIT_S = 60  # for the relay to publish what was acknowledged
WARM_UP_RATE, WARM_UP_S = 100, 3.0


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
    vegeta = await _vegeta()
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
        launched = await client.post(
            "/programs", json={"title": "Load", "focus_areas": ["ai"]}, headers=token("program_admin")
        )
        launched.raise_for_status()
        program = launched.json()["program"]["program_id"]
    url = f"{service.url}/programs/{program}/participants"
    # Not measured: a fresh process opens its pool's connections and prepares its statements on first use. Without
    # this, the first second of the first rate held its p99 (285-374 ms, against at most 30-230 ms in later seconds).
    await _attack(vegeta, url, "warm-up", WARM_UP_RATE, WARM_UP_S)
    rows = []
    for rate in RATES:
        rows.append(await _at_rate(vegeta, url, rate, kafka, topic))
    return rows


async def _attack(vegeta: str, url: str, label: str, rate: int, seconds: float) -> dict:
    """Send `rate` enrolments/s for `seconds`, open loop. Returns vegeta's JSON report, with `answers` added: one
    (status, latency in ms) per request, so latency can be given for the enrolments that were made. Each request
    is a different person enrolling themselves, their token signed before the clock starts."""
    people = [f"{label}-{rate}-{i}" for i in range(int(rate * seconds))]
    with tempfile.TemporaryDirectory() as work:
        targets, results = Path(work, "targets.jsonl"), Path(work, "results.bin")
        await asyncio.to_thread(targets.write_bytes, b"".join(_target(url, profile(p), as_person(p)) for p in people))
        # Vegeta adds workers when all are busy, so a slow server cannot slow the generator down and hide its own
        # queue (coordinated omission). Each target is sent exactly once.
        attack = await asyncio.create_subprocess_shell(
            f"{vegeta} attack -format=json -targets={targets} -rate={rate}/1s -duration={seconds}s"
            f" -timeout={REQUEST_TIMEOUT_S}s > {results} && {vegeta} report -type=json {results}"
            f" && {vegeta} encode --to csv {results}",
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await attack.communicate()
    report_line, *answers = out.decode().splitlines()
    report = json.loads(report_line)
    # CSV columns: timestamp, status code, latency (ns), ...
    report["answers"] = [(int(row[1]), int(row[2]) / 1e6) for row in csv.reader(answers)]
    return report


async def _vegeta() -> str:
    built = await asyncio.create_subprocess_exec("deploy/tools/vegeta.sh", stdout=asyncio.subprocess.PIPE)
    path, _ = await built.communicate()
    if built.returncode:
        raise RuntimeError("deploy/tools/vegeta.sh could not build the load generator")
    return path.decode().strip()


def _target(url: str, body: dict, headers: dict) -> bytes:
    """One request in vegeta's JSON target format (body base64, each header a list of values)."""
    target = {
        "method": "POST",
        "url": url,
        "body": base64.b64encode(json.dumps(body).encode()).decode(),
        "header": {"Content-Type": ["application/json"], **{k: [v] for k, v in headers.items()}},
    }
    return json.dumps(target).encode() + b"\n"


async def _at_rate(vegeta: str, url: str, rate: int, kafka: KafkaSettings, topic: str) -> dict:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=kafka.kafka_bootstrap_servers, auto_offset_reset="latest")
    await consumer.start()
    await consumer.seek_to_end()
    lags: list[float] = []
    attacked = asyncio.Event()
    enrolled = int(rate * SECONDS)

    async def follow() -> None:
        while not attacked.is_set() or len(lags) < enrolled:
            batch = await consumer.getmany(timeout_ms=200)
            now = datetime.now(UTC)
            for records in batch.values():
                for r in records:
                    envelope = Envelope.from_kafka(r.headers, r.value)
                    # An enrolment also records its consent; the warm-up's enrolments are not this rate's.
                    if envelope.type == ParticipantEnrolled.type_name and envelope.time >= started:
                        lags.append((now - envelope.time).total_seconds() * 1000)

    started = datetime.now(UTC)
    follower = asyncio.create_task(follow())
    report = await _attack(vegeta, url, "R", rate, SECONDS)
    statuses = report.get("status_codes") or {}
    enrolled = statuses.get("201", 0)
    attacked.set()
    with contextlib.suppress(TimeoutError):  # events the relay has not published by then count as missing lag
        await asyncio.wait_for(follower, LAG_WAIT_S)
    await consumer.stop()
    made = sorted(ms for status, ms in report["answers"] if status == 201)
    q = statistics.quantiles(made, n=100) if len(made) > 1 else [float("nan")] * 99
    lq = statistics.quantiles(lags, n=100) if len(lags) > 1 else [float("nan")] * 99
    return {
        "rate (req/s)": rate,
        "sent (req/s)": round(report["rate"]),
        "achieved (201/s)": round(report["throughput"]),
        "ok": enrolled,
        "at capacity (503)": statuses.get("503", 0),
        "other errors": report["requests"] - enrolled - statuses.get("503", 0),
        "p50 ms (201)": round(q[49], 1),
        "p99 ms (201)": round(q[98], 1),
        "lag p50 ms": round(lq[49], 1),
        "lag p99 ms": round(lq[98], 1),
        "lag seen": len(lags),
    }
