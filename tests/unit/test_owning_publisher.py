"""Consumers accept an event type only from its owning publisher (its contract's `Event.service`): the source and,
on the platform's topics, the topic. The check that shared/projection.py's runner applies to every record."""

import pytest

from shared.events import PairFormed, ParticipantWithdrawn
from shared.projection import ForeignPublisher, refuse_foreign_publisher
from shared.topics import events_topic
from tests.support.kafka_log import envelope_of

FORMED = PairFormed(
    program_id="prg-1", pair_id="pair-1", round_id="r1", mentor_id="p-a", mentee_id="p-b", score=1.0, breakdown={}
)
PREFIX = "tandem"


def test_the_owner_on_its_own_topic_is_accepted():
    refuse_foreign_publisher(envelope_of(FORMED, "pair-1"), FORMED, events_topic("matching", PREFIX), PREFIX)


@pytest.mark.parametrize("source", ["/tandem/enrolment", "/tandem/sessions", "/evil"])
def test_another_source_is_refused(source):
    envelope = envelope_of(FORMED, "pair-1", source=source)
    with pytest.raises(ForeignPublisher, match="published by matching"):
        refuse_foreign_publisher(envelope, FORMED, events_topic("matching", PREFIX), PREFIX)


def test_the_owners_source_on_another_services_topic_is_refused():
    with pytest.raises(ForeignPublisher, match=r"belongs on tandem\.matching\.events"):
        refuse_foreign_publisher(envelope_of(FORMED, "pair-1"), FORMED, events_topic("enrolment", PREFIX), PREFIX)


def test_a_topic_outside_the_platforms_is_left_to_whoever_subscribed_to_it():
    withdrawn = ParticipantWithdrawn(program_id="p1", participant_id="p-a", reason="")
    refuse_foreign_publisher(envelope_of(withdrawn, "s"), withdrawn, "tandem.replayed-for-a-test", PREFIX)
