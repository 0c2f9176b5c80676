"""Prometheus metrics of the shared runtime; each service exposes them on /metrics."""

from prometheus_client import Counter, Gauge

RELAY_PUBLISHED = Counter(
    "tandem_relay_events_published_total", "Events the relay published and Kafka acknowledged", ["topic"]
)
RELAY_LAST_POSITION = Gauge(
    "tandem_relay_last_position", "Event-store position up to which everything is in Kafka", ["topic"]
)
PROJECTION_APPLIED = Counter("tandem_projection_events_applied_total", "Events applied to a read model", ["projection"])
PROJECTION_DUPLICATES = Counter(
    "tandem_projection_duplicates_skipped_total", "Redelivered events ignored by event id", ["projection"]
)
PROJECTION_DEAD_LETTERS = Counter(
    "tandem_projection_dead_letters_total",
    "Records that could not be parsed and went to the dead-letter topic",
    ["projection"],
)
