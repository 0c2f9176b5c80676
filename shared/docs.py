"""Documentation generated from the declared services, so it cannot drift from the code: the table of topics,
event types, publishers and consumers that `tandem docs` prints (docs/subscribers.md points readers to it)."""

from __future__ import annotations

from collections.abc import Sequence

from shared.events import EVENT_TYPES
from shared.service import ServiceSpec
from shared.topics import events_topic


def subscribers_table(specs: Sequence[ServiceSpec]) -> str:
    consumers: dict[str, list[str]] = {}
    for spec in specs:
        for projection in spec.projections:
            for event in projection.consumes():
                consumers.setdefault(event.type_name, []).append(f"{spec.name} ({projection.name})")
    rows = ["| topic | event | type | consumed inside Tandem by |", "|---|---|---|---|"]
    for type_name, event in sorted(EVENT_TYPES.items(), key=lambda item: (item[1].service, item[0])):
        readers = ", ".join(consumers.get(type_name, [])) or "—"
        rows.append(f"| `{events_topic(event.service)}` | {event.__name__} | `{type_name}` | {readers} |")
    return "\n".join(rows)
