"""What a service process knows about its own background work, kept apart from the HTTP and Kafka plumbing so the
computations are plain functions (tests/unit/test_health.py).

- `TaskHealth`: one per supervised task (the relay, each projection): its state, last success, last error (class and
  time only: an error's text may quote data) and restarts, mirrored into Prometheus metrics.
- `Backoff`: the supervisor's pause between restarts; it doubles while runs keep failing fast and starts again at the
  minimum after a run that went well for a while, so a task that failed once a day does not wait 30 s forever.
- `projection_lag`: records after a projection's stored offsets, from the topics' end offsets.
- `quiet_kafka_client_logs`: aiokafka logs an error per reconnect attempt (about ten a second while a broker is
  down); each distinct message passes at most once a minute, with the number suppressed since.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from shared.metrics import TASK_FAILURES, TASK_LAST_SUCCESS, TASK_RESTARTS, TASK_UP

log = logging.getLogger(__name__)
TaskState = Literal["starting", "running", "backing off", "stopped"]


@dataclass
class Backoff:
    initial_s: float = 1.0
    maximum_s: float = 30.0
    healthy_after_s: float = 60.0  # a run at least this long counts as having gone well
    pause_s: float = field(init=False)

    def __post_init__(self) -> None:
        self.pause_s = self.initial_s

    def after_failure(self, ran_for_s: float) -> float:
        """The pause before the next start, given how long the failed run lasted."""
        if ran_for_s >= self.healthy_after_s:
            self.pause_s = self.initial_s
        pause = self.pause_s
        self.pause_s = min(self.pause_s * 2, self.maximum_s)
        return pause


@dataclass
class TaskHealth:
    service: str
    task: str
    state: TaskState = "starting"
    last_success: datetime | None = None
    last_error_class: str | None = None
    last_error_at: datetime | None = None
    restarts: int = 0
    failing: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        TASK_UP.labels(self.service, self.task).set(0)

    def running(self) -> None:
        self.state = "running"
        TASK_UP.labels(self.service, self.task).set(1)

    def succeeded(self) -> None:
        """A round of work went through (a batch published or applied, or an idle poll that reached its servers)."""
        self.last_success = datetime.now(UTC)
        self.state = "running"
        if self.failing:  # one line per state change, however many retries it took
            self.failing = False
            log.info("%s: %s recovered", self.service, self.task)
        TASK_UP.labels(self.service, self.task).set(1)
        TASK_LAST_SUCCESS.labels(self.service, self.task).set(self.last_success.timestamp())

    def failed(self, error: BaseException) -> None:
        self.last_error_class = type(error).__name__
        self.last_error_at = datetime.now(UTC)
        self.restarts += 1
        self.state = "backing off"
        self.failing = True
        TASK_UP.labels(self.service, self.task).set(0)
        TASK_RESTARTS.labels(self.service, self.task).inc()
        TASK_FAILURES.labels(self.service, self.task, self.last_error_class).inc()

    def stopped(self) -> None:
        self.state = "stopped"
        TASK_UP.labels(self.service, self.task).set(0)

    def as_dict(self) -> dict[str, object]:
        return {
            "state": self.state,
            "last_success": _iso(self.last_success),
            "last_error": None
            if self.last_error_class is None
            else {"class": self.last_error_class, "at": _iso(self.last_error_at)},
            "restarts": self.restarts,
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


Partition = tuple[str, int]


def projection_lag(stored: Mapping[Partition, int], ends: Mapping[Partition, int]) -> int:
    """Records after the stored offsets on every partition of the topics read; a partition never applied counts from
    offset 0 (the runner starts there). A stored offset past the end (a recreated topic) counts as 0, not negative."""
    return sum(max(0, end - stored.get(tp, 0)) for tp, end in ends.items())


class RateLimitedLogs(logging.Filter):
    """Lets each distinct message (logger and format string) through at most once per `interval_s`."""

    def __init__(self, interval_s: float = 60.0, clock=time.monotonic):
        super().__init__()
        self.interval_s, self.clock = interval_s, clock
        self._last: dict[tuple[str, str], float] = {}
        self._suppressed: dict[tuple[str, str], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval_s:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return False
        self._last[key] = now
        suppressed = self._suppressed.pop(key, 0)
        if suppressed:
            record.msg = f"{record.msg} (and {suppressed} more like it in the last {self.interval_s:.0f}s)"
        return True


_KAFKA_FILTER = RateLimitedLogs()


def quiet_kafka_client_logs() -> None:
    """Filters sit on loggers, not inherited by children, so the filter goes on every aiokafka logger that exists
    (aiokafka makes them at import). Idempotent."""
    import aiokafka.consumer.fetcher
    import aiokafka.producer.sender  # noqa: F401

    names = [n for n in logging.Logger.manager.loggerDict if n == "aiokafka" or n.startswith("aiokafka.")]
    for name in names:
        logger = logging.getLogger(name)
        if _KAFKA_FILTER not in logger.filters:
            logger.addFilter(_KAFKA_FILTER)
