"""Building the CloudEvents the publishing services would write, with chosen event times, for insights' tests."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from shared.envelope import Envelope
from shared.events import Event
from shared.topics import events_topic
from tests.support.kafka_log import envelope_of


class EventLog:
    """Envelopes grouped by the topic their publisher writes to; stream versions count up per stream."""

    def __init__(self, topic_prefix: str):
        self.topic_prefix = topic_prefix
        self.by_topic: defaultdict[str, list[Envelope]] = defaultdict(list)
        self._versions: Counter[str] = Counter()

    def add(self, event: Event, stream_id: str, time: datetime) -> Envelope:
        self._versions[stream_id] += 1
        envelope = envelope_of(event, stream_id, self._versions[stream_id], time=time)
        self.by_topic[events_topic(event.service, self.topic_prefix)].append(envelope)
        return envelope
