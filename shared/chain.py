"""Tamper evidence: each stream's events form a SHA-256 hash chain.

hash(n) = sha256(hash(n-1) | canonical(event n)), where the canonical form covers the stream id, version,
event id, type, body and recording time. The chain is stored with every event in the event store and travels
on every Kafka record (`ce_hash`, `ce_prevhash`), so `tandem verify` can check each copy on its own and the
two copies against each other. What that can and cannot detect is written in docs/auditing.md.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def canonical(stream_id: str, version: int, event_id: str, type_: str, data: dict[str, Any], time: datetime) -> bytes:
    return json.dumps(
        {
            "stream_id": stream_id,
            "version": version,
            "event_id": str(event_id),
            "type": type_,
            "data": data,
            "time": time.astimezone(UTC).isoformat(timespec="microseconds"),
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def versionless(stream_id: str, event_id: str, type_: str, data: dict[str, Any], time: datetime) -> bytes:
    """`canonical(...)` up to its version: the version is the last key (sort order), so canonical =
    versionless + str(version) + "}". Lets the event store finish the hash in SQL once it knows the version."""
    return canonical(stream_id, 0, event_id, type_, data, time)[: -len(b"0}")]


def link(
    prev_hash: str, stream_id: str, version: int, event_id: str, type_: str, data: dict[str, Any], time: datetime
) -> str:
    return hashlib.sha256(
        prev_hash.encode() + b"|" + canonical(stream_id, version, event_id, type_, data, time)
    ).hexdigest()
