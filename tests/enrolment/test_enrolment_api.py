"""Enrolment over HTTP, as a real process on the real Kafka and PostgreSQL: what crosses the process or the
broker. The API's rules (422s, 404/409/403, idempotency, paging) are tested in-process in test_enrolment_http.py,
and the PostgreSQL tables behind them in test_enrolment_uow_postgres.py."""

import httpx
import pytest

from shared.envelope import Envelope
from shared.topics import events_topic
from tests.support.bodies import person
from tests.support.kafka_log import KafkaLog, wait_until
from tests.support.services import as_person, eventually, running, service_env, token

ADMIN = token("program_admin")


@pytest.fixture(scope="module")
def enrolment(child_env_module):
    yield from running("enrolment", service_env(child_env_module))


def program(client: httpx.Client, url: str, **overrides) -> dict:
    body = {"title": "Digital leaders", "cadence_days": 14, "duration_weeks": 26, **overrides}
    response = client.post(f"{url}/programs", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()["program"]


def test_enrolment_publishes_a_pseudonymous_event(enrolment, kafka):
    with httpx.Client() as client:
        p = program(client, enrolment.url)
        response = client.post(
            f"{enrolment.url}/programs/{p['program_id']}/participants",
            json=person("E100", reporting_chain=["E1"]),
            headers=as_person("E100"),
        )
    assert response.status_code == 201, response.text
    participant_id = response.json()["participant"]["participant_id"]
    assert response.json()["event_log"]["stream_version"] == 2  # ParticipantEnrolled, ConsentGiven

    async def published():
        async with KafkaLog(kafka.kafka_bootstrap_servers) as log:
            records = await log.records(events_topic("enrolment", kafka.topic_prefix))
        return [
            Envelope.from_kafka(r.headers, r.value)
            for r in records
            if dict(r.headers)["ce_subject"].decode().endswith(participant_id)
            and dict(r.headers)["ce_type"].decode().endswith("participant-enrolled.v1")
        ]

    import asyncio

    [envelope] = asyncio.run(wait_until(published, 30, 0.2, "ParticipantEnrolled on Kafka"))
    body = str(envelope.data)
    assert envelope.type == "tandem.enrolment.participant-enrolled.v1"
    assert "E100" not in body and "example.com" not in body and "Person" not in body
    assert envelope.data["reporting_chain"] != ["E1"]


def test_erasure_leaves_the_name_and_email_nowhere_in_postgres_or_kafka(enrolment, kafka, dsn):
    import asyncio

    from tests.support.personal_data import records_containing, tables_containing

    name, email = "Zebulon Quartermaine", "zebulon.quartermaine@example.org"
    with httpx.Client() as client:
        p = program(client, enrolment.url)
        url = f"{enrolment.url}/programs/{p['program_id']}/participants"
        body = person("EMP-QZ-900", display_name=name, email=email)
        created = client.post(url, json=body, headers=as_person("EMP-QZ-900")).json()
        participant_id = created["participant"]["participant_id"]
        erased = client.post(f"{url}/{participant_id}/erase", headers=ADMIN)
        again = client.post(f"{url}/{participant_id}/erase", headers=ADMIN)
    assert erased.status_code == 200 and erased.json()["participant"]["status"] == "erased"
    assert again.json()["event_log"] is None
    details = (name, email, "EMP-QZ-900")  # an id with non-hex letters: hashes in the log cannot contain it
    assert asyncio.run(tables_containing(dsn, *details)) == []
    # The contacts relay publishes the tombstone just after the erasure commits (docs/adr/0008).
    eventually(
        lambda: asyncio.run(records_containing(kafka.kafka_bootstrap_servers, kafka.topic_prefix, *details)) == [],
        30,
        "no Kafka record to hold the erased person's details",
    )
