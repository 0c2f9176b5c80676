"""Time for rules that run on a clock (proposal expiry, a pair's end, reminders): one source per process that
tests can move, so nothing waits for a cadence to pass.

`Clock.now()` is what every scheduled rule asks; the runtime holds one (`ServiceRuntime.clock`). A service declares
its `Schedule`s in its spec: the runtime runs each every `TANDEM_SCHEDULE_INTERVAL_S` seconds with the clock's
time, and a schedule must be idempotent (it decides from state and the time given, so running it twice, or on two
replicas, changes nothing the second time). With `TANDEM_DEVELOPMENT=true` only, `POST <prefix>/dev/clock` moves
the process's clock forward and runs the schedules at once (tests, the demo); production clocks never move.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


class Clock:
    """The wall clock, moved forward by `offset` (zero outside development)."""

    def __init__(self, offset: timedelta = timedelta(0)):
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, by: timedelta) -> datetime:
        if by < timedelta(0):
            raise ValueError("a clock only moves forward")
        self.offset += by
        return self.now()


@dataclass(frozen=True)
class Schedule:
    """A rule run on the clock: `run(now)` does what is due at `now` and says how many things it did."""

    name: str
    run: Callable[[datetime], Awaitable[int]]
