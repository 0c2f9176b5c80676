"""Readiness is the database only: a service whose Kafka is unreachable still takes writes and stays in rotation,
while /status says what its background work lacks."""

from __future__ import annotations

import httpx
import pytest

from tests.support.kafka_log import wait_until
from tests.support.services import ServiceProcess, free_port, service_env, token

AUDITOR, ADMIN = token("auditor"), token("program_admin")


@pytest.fixture
def no_kafka_env(child_env):
    """This test's service alone points at a closed port; the shared broker is left alone."""
    return {**service_env(child_env), "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}"}


async def get(url: str, **options) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.get(url, **options)


async def status(service: ServiceProcess) -> dict:
    response = await get(f"{service.url}/status", headers=AUDITOR)
    assert response.status_code == 200, response.text
    return response.json()


async def test_without_kafka_enrolment_takes_writes_stays_ready_and_reports_the_relay_failing(no_kafka_env):
    service = ServiceProcess("enrolment", {**no_kafka_env, "TANDEM_SCHEMA_NAME": "enrolment_no_kafka"}).start()
    try:
        body = {"title": "Digital leaders", "cadence_days": 14, "duration_weeks": 26}
        async with httpx.AsyncClient(timeout=10) as client:
            created = await client.post(f"{service.url}/programs", json=body, headers=ADMIN)
        assert created.status_code == 201, created.text

        async def relay_failed():
            return (await status(service))["tasks"]["relay"]["last_error"]

        error = await wait_until(relay_failed, 30, 0.2, "the relay to report Kafka unreachable")
        assert error["class"] in {"KafkaConnectionError", "KafkaTimeoutError"} and error["at"]
        report = await status(service)
        assert report["relay"]["backlog"] >= 1 and report["relay"]["parked"] == 0
        assert report["tasks"]["relay"]["restarts"] >= 1
        ready = await get(f"{service.root}/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["database"] == "ok" and "relay" in " ".join(ready.json().get("warnings", []))
        assert (await get(f"{service.root}/healthz")).status_code == 200
    finally:
        assert service.stop() == 0


async def test_without_kafka_a_projection_reports_its_error_and_unknown_lag_while_ready(no_kafka_env):
    service = ServiceProcess("sessions", {**no_kafka_env, "TANDEM_SCHEMA_NAME": "sessions_no_kafka"}).start()
    try:

        async def projection_failed():
            return (await status(service))["tasks"]["projection pairs"]["last_error"]

        await wait_until(projection_failed, 30, 0.2, "the projection to report Kafka unreachable")
        pairs = (await status(service))["projections"]["pairs"]
        assert pairs["lag"] is None and pairs["lag_error"]
        assert (await get(f"{service.root}/readyz")).status_code == 200
    finally:
        assert service.stop() == 0


async def test_with_kafka_status_shows_lag_from_stored_offsets_and_each_task_succeeding(child_env):
    env = {**service_env(child_env), "TANDEM_SCHEMA_NAME": "sessions_status"}
    service = ServiceProcess("sessions", env).start()
    try:

        async def caught_up():
            report = await status(service)
            tasks = report["tasks"]
            return (
                report["projections"]["pairs"]["lag"] == 0
                and tasks["relay"]["last_success"]
                and tasks["projection pairs"]["last_success"]
            )

        try:
            await wait_until(caught_up, 60, 0.3, "the relay and the pairs projection to succeed")
        except AssertionError as error:
            raise AssertionError(f"{error}: {(await status(service))}") from None
        report = await status(service)
        assert report["relay"] == {"topic": report["relay"]["topic"], "backlog": 0, "parked": 0}
        assert report["projections"]["pairs"]["dead_letters"] == {}
        metrics = (await get(f"{service.root}/metrics")).text
        for name in ("tandem_projection_lag_records", "tandem_relay_backlog_events", "tandem_task_up"):
            assert name in metrics
    finally:
        assert service.stop() == 0
