"""The runtime owns connections: every Kafka client a process creates, a replay's included, carries the one set of
client options (TLS/SASL) from its settings. A replay once fell back to plaintext because it built its own."""

import asyncio

import pytest

from services.registry import SERVICES
from shared import connections
from shared.connections import Connections
from shared.projection import ProjectionRunner
from shared.runtime import ServiceRuntime
from shared.settings import KafkaSettings

SASL = {
    "TANDEM_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
    "TANDEM_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "TANDEM_KAFKA_SASL_USERNAME": "tandem-replay",
    "TANDEM_KAFKA_SASL_PASSWORD": "not-a-real-secret",
}


@pytest.fixture
def sasl_environment(monkeypatch):
    for name, value in SASL.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("spec", [s for s in SERVICES if s.projections], ids=lambda s: s.name)
async def test_a_replay_runner_consumes_with_the_services_sasl_settings(spec, sasl_environment):
    runtime = ServiceRuntime(spec, spec.settings())
    for projection in spec.projections:
        # What `tandem replay` builds: a runner into the replay schema over the runtime's connections.
        runner = ProjectionRunner(projection, runtime.connections, schema=f"{runtime.schema}_replay")
        client = runner._consumer(group_id=None)._client
        assert client._security_protocol == "SASL_PLAINTEXT"
        assert (client._sasl_mechanism, client._sasl_plain_username) == ("SCRAM-SHA-512", "tandem-replay")


def test_projections_read_the_topics_of_the_events_they_handle():
    topics = {spec.name: sorted({t for p in spec.projections for t in p.topics("tandem")}) for spec in SERVICES}
    assert topics == {
        "enrolment": ["tandem.matching.events", "tandem.sessions.events"],  # certificates: PairCompleted, SessionHeld
        "matching": ["tandem.enrolment.events", "tandem.sessions.events"],  # PairCompleted
        "sessions": ["tandem.enrolment.events", "tandem.matching.events"],  # program staff: ProgramLaunched
        "insights": ["tandem.enrolment.events", "tandem.matching.events", "tandem.sessions.events"],
        # programs, pairs, sessions held: what the introduction and feedback-prompt rules decide on
        "notifications": ["tandem.enrolment.events", "tandem.matching.events", "tandem.sessions.events"],
    }


def test_a_policy_runs_in_the_transaction_of_the_projection_it_names():
    from services.matching.entrypoints.pool_consumer import PoolProjection, WithdrawalDissolvesPairs

    assert WithdrawalDissolvesPairs.projection == PoolProjection.name
    assert WithdrawalDissolvesPairs.handles <= PoolProjection.handles


def test_the_events_table_lists_every_event_type_with_its_topic_and_consumers():
    from shared.docs import subscribers_table
    from shared.events import EVENT_TYPES

    rows = {line.split("|")[3].strip(" `"): line for line in subscribers_table(list(SERVICES)).splitlines()[2:]}
    assert set(rows) == set(EVENT_TYPES)
    assert "`tandem.matching.events`" in rows["tandem.matching.pair-formed.v1"]
    assert "sessions (pairs), insights (facts)" in rows["tandem.matching.pair-formed.v1"]


async def test_callers_asking_for_the_producer_at_once_share_one_started_producer(monkeypatch):
    created = []

    class SlowToStart:
        def __init__(self, **options):
            created.append(self)

        async def start(self):
            await asyncio.sleep(0)  # the other caller runs while this one starts

    monkeypatch.setattr(connections, "AIOKafkaProducer", SlowToStart)
    shared = Connections("postgresql://unused", KafkaSettings(), "enrolment")
    first, second = await asyncio.gather(shared.producer(), shared.producer())
    assert first is second and created == [first], "one producer, so the one stopped on exit is the only one"
