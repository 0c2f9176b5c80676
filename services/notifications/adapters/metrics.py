"""Notifications' Prometheus metrics (on /metrics with the runtime's): the outbox by status, refreshed from the
`notifications` table after each run of the sender. Read from the table, not counted in process, so every replica
reports the same figures and a restart loses nothing. Labels are statuses only: never a person or an address."""

from __future__ import annotations

import asyncpg
from prometheus_client import Gauge

NOTIFICATIONS = Gauge(
    "tandem_notifications", "Notifications recorded, by status: pending, sent, dead (dead-lettered)", ["status"]
)
FAILED_ATTEMPTS = Gauge(
    "tandem_notification_failed_attempts",
    "Delivery attempts that failed, over every notification (a dead letter's included; re-queued ones restart at 0)",
)

STATUSES = ("pending", "sent", "dead")


async def refresh(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT status, count(*) AS n,
                      sum(CASE WHEN status = 'sent' THEN attempts - 1 ELSE attempts END) AS failed
               FROM notifications GROUP BY status"""
        )
    by_status = {r["status"]: r for r in rows}
    for status in STATUSES:
        NOTIFICATIONS.labels(status).set(by_status[status]["n"] if status in by_status else 0)
    FAILED_ATTEMPTS.set(sum(r["failed"] or 0 for r in rows))
