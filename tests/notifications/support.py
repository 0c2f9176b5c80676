"""What the notifications server tests share: enrolment, matching and notifications as processes, and a program's
notifications counted by status in the run's shared table."""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg

from tests.support.services import ServiceProcess, service_env


def running_with_notifications(child_env: dict[str, str], **notifications_env: str) -> Iterator[dict]:
    """`yield from` it in a fixture: the three processes, notifications with `notifications_env` added (its SMTP
    port, a short schedule interval...); each must stop cleanly on SIGTERM."""
    env = service_env(child_env)
    running = {
        "enrolment": ServiceProcess("enrolment", env).start(),
        "matching": ServiceProcess("matching", env).start(),
        "notifications": ServiceProcess("notifications", {**env, **notifications_env}).start(),
    }
    yield running
    assert [s.stop() for s in running.values()] == [0, 0, 0], "every service stops cleanly on SIGTERM"


async def notification_counts(dsn: str, program_id: str) -> dict[str, int]:
    """This program's notifications by status (the run's other tests share the table)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT status, count(*) AS n FROM notifications.notifications WHERE program_id = $1 GROUP BY status",
            program_id,
        )
        return {r["status"]: r["n"] for r in rows}
    finally:
        await conn.close()
