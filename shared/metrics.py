"""Prometheus metrics of the shared runtime; each service exposes them on /metrics.

Labels name topics, projections, tasks and error classes only: never an event's content or a person."""

from prometheus_client import Counter, Gauge

RELAY_PUBLISHED = Counter(
    "tandem_relay_events_published_total", "Events the relay published and Kafka acknowledged", ["topic"]
)
RELAY_LAST_POSITION = Gauge(
    "tandem_relay_last_position", "Event-store position up to which everything is in Kafka", ["topic"]
)
RELAY_BACKLOG = Gauge(
    "tandem_relay_backlog_events", "Stored events after the relay's cursor (not yet published)", ["topic"]
)
RELAY_PARKED = Gauge(
    "tandem_relay_parked_events",
    "Events the relay could not publish and set aside (plus later events of their streams held behind them)",
    ["topic"],
)
PROJECTION_APPLIED = Counter("tandem_projection_events_applied_total", "Events applied to a read model", ["projection"])
PROJECTION_DUPLICATES = Counter(
    "tandem_projection_duplicates_skipped_total", "Redelivered events ignored by event id", ["projection"]
)
PROJECTION_DEAD_LETTERS = Counter(
    "tandem_projection_dead_letters_total",
    "Records sent to the dead-letter topic: reason parse (not a valid Tandem event) or apply (the read model or a "
    "policy refused it)",
    ["projection", "reason"],
)
PROJECTION_UNKNOWN_TYPES = Counter(
    "tandem_projection_unknown_types_total",
    "Records skipped because their ce_type names no event contract this version knows",
    ["projection", "topic"],
)
PROJECTION_LAG = Gauge(
    "tandem_projection_lag_records",
    "Records on the projection's topics after its stored offsets (end offsets minus projection_offsets)",
    ["projection"],
)
TASK_UP = Gauge(
    "tandem_task_up", "1 while a background task (relay, projection) runs, 0 while it backs off", ["service", "task"]
)
TASK_RESTARTS = Counter(
    "tandem_task_restarts_total", "Times a background task failed and was restarted", ["service", "task"]
)
TASK_FAILURES = Counter(
    "tandem_task_failures_total", "Background task failures by error class", ["service", "task", "error"]
)
TASK_LAST_SUCCESS = Gauge(
    "tandem_task_last_success_timestamp_seconds",
    "Unix time of a background task's last successful round (a batch, or an idle poll)",
    ["service", "task"],
)
