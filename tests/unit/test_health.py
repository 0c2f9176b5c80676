"""Server-free: the supervisor's back-off, status computations, parking decisions, readiness without Kafka."""

from __future__ import annotations

import asyncio
import logging

import asyncpg
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotEnoughReplicasError,
    RequestTimedOutError,
)

from shared.health import Backoff, RateLimitedLogs, TaskHealth, projection_lag
from shared.parked import describe, unpublishable
from shared.projection import _not_the_records_fault


def test_the_back_off_doubles_while_runs_fail_fast_up_to_its_maximum():
    backoff = Backoff(initial_s=1, maximum_s=8, healthy_after_s=60)
    assert [backoff.after_failure(ran_for_s=0.5) for _ in range(6)] == [1, 2, 4, 8, 8, 8]


def test_the_back_off_starts_again_after_a_run_that_went_well_for_a_while():
    backoff = Backoff(initial_s=1, maximum_s=30, healthy_after_s=60)
    for _ in range(6):
        backoff.after_failure(ran_for_s=1)
    assert backoff.after_failure(ran_for_s=61) == 1
    assert backoff.after_failure(ran_for_s=1) == 2


def test_task_health_reports_state_last_success_last_error_class_and_restarts():
    health = TaskHealth("svc", "relay")
    assert health.as_dict() == {"state": "starting", "last_success": None, "last_error": None, "restarts": 0}
    health.running()
    health.succeeded()
    health.failed(KafkaConnectionError("Unable to bootstrap from [('127.0.0.1', 1)] for p-123"))
    status = health.as_dict()
    assert status["state"] == "backing off" and status["restarts"] == 1 and status["last_success"]
    assert status["last_error"]["class"] == "KafkaConnectionError"
    assert "p-123" not in str(status), "an error's text may quote data: only its class is reported"


def test_projection_lag_counts_records_after_the_stored_offsets_on_every_partition():
    ends = {("t", 0): 10, ("t", 1): 5, ("t", 2): 7}
    stored = {("t", 0): 4, ("t", 1): 5, ("t", 2): 9}  # partition 2's topic was recreated: never negative
    assert projection_lag(stored, ends) == 6
    assert projection_lag({}, ends) == 22, "a partition never applied counts from offset 0"
    assert projection_lag(stored, {}) == 0


def test_only_errors_about_the_record_itself_park_it():
    assert unpublishable(MessageSizeTooLargeError("The message is 2000000 bytes when serialized"))
    assert unpublishable(UnicodeEncodeError("utf-8", "x", 0, 1, "surrogates not allowed"))
    for waiting in (KafkaConnectionError(), KafkaTimeoutError(), NotEnoughReplicasError(), RequestTimedOutError()):
        assert not unpublishable(waiting), f"{type(waiting).__name__} means Kafka is away or busy: wait, never park"
    assert describe(ValueError("Jane Doe <jane@example.com>")) == "ValueError while encoding the record"


def test_a_projection_dead_letters_data_errors_but_retries_when_postgresql_is_away():
    assert not _not_the_records_fault(asyncpg.exceptions.CharacterNotInRepertoireError("invalid byte sequence 0x00"))
    assert not _not_the_records_fault(asyncpg.exceptions.NumericValueOutOfRangeError("integer out of range"))
    assert not _not_the_records_fault(asyncpg.exceptions._base.DataError("value out of int32 range"))
    assert not _not_the_records_fault(ValueError("a rule refused it"))
    assert _not_the_records_fault(ConnectionResetError())
    assert _not_the_records_fault(asyncpg.exceptions.DeadlockDetectedError("deadlock"))
    assert _not_the_records_fault(asyncpg.exceptions.AdminShutdownError("terminating"))
    assert _not_the_records_fault(asyncpg.exceptions.ConnectionDoesNotExistError("closed"))


def test_repeated_client_log_lines_pass_once_a_minute_with_a_count_of_the_rest():
    now = [0.0]
    limit = RateLimitedLogs(interval_s=60, clock=lambda: now[0])

    def record(msg: str) -> logging.LogRecord:
        return logging.LogRecord("aiokafka.conn", logging.ERROR, __file__, 1, msg, None, None)

    passed = []
    for second in range(120):
        for _ in range(10):  # ten reconnect errors a second while the broker is down
            now[0] = float(second)
            r = record("Unable connect to %s")
            if limit.filter(r):
                passed.append(r.getMessage())
    assert len(passed) == 2
    assert passed[1].endswith("(and 599 more like it in the last 60s)")
    assert limit.filter(record("another message"))


async def test_the_supervisor_counts_restarts_and_resets_its_back_off(monkeypatch):
    from services.enrolment.bootstrap import SPEC
    from shared import runtime as runtime_module

    runtime = runtime_module.ServiceRuntime(SPEC, SPEC.settings())
    failures = []

    async def flaky(stop: asyncio.Event) -> None:
        failures.append(1)
        if len(failures) >= 3:
            stop.set()
        raise KafkaConnectionError("broker away")

    pauses = []
    monkeypatch.setattr(runtime_module.Backoff, "after_failure", lambda self, ran_for_s: pauses.append(ran_for_s) or 0)
    health = TaskHealth("enrolment", "flaky")
    runtime._supervise(health, flaky)
    await asyncio.wait_for(runtime.tasks["flaky"], 5)
    assert health.restarts == 3 and health.last_error_class == "KafkaConnectionError"
    assert health.state == "stopped" and len(pauses) == 3


async def test_status_needs_an_admin_or_auditor_and_reports_each_task():
    import httpx

    from services.enrolment import bootstrap
    from services.enrolment.config import EnrolmentSettings
    from tests.support.services import token

    app = bootstrap.build(EnrolmentSettings(pseudonym_key="in-process-pseudonym-key"))
    runtime = app.state.runtime
    health = TaskHealth("enrolment", "relay")
    health.failed(KafkaConnectionError("broker away"))
    runtime.health["relay"] = health
    transport = httpx.ASGITransport(app=app)  # no lifespan: no database, so the relay's numbers say why they lack
    async with httpx.AsyncClient(transport=transport, base_url="http://enrolment.test") as client:
        assert (await client.get("/enrolment/v1/status")).status_code == 401
        assert (await client.get("/enrolment/v1/status", headers=token("participant", "p-1"))).status_code == 403
        response = await client.get("/enrolment/v1/status", headers=token("auditor"))
    assert response.status_code == 200
    body = response.json()
    assert body["tasks"]["relay"]["last_error"]["class"] == "KafkaConnectionError"
    assert body["tasks"]["relay"]["restarts"] == 1
    assert body["relay"]["backlog"] is None and body["relay"]["error"]
