"""Each service's AsyncAPI document is generated from its declared spec and the event contracts, served at
`<prefix>/asyncapi.json` and printed by `tandem asyncapi`: what it says is what the service really does."""

import pytest
from typer.testing import CliRunner

from services.cli import app
from services.registry import SERVICES as SPECS
from shared.asyncapi import document
from shared.events import EVENT_TYPES

SERVICES = {spec.name: spec for spec in SPECS}


def channels(service: str) -> dict:
    return document(SERVICES[service])["channels"]


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_documents_exactly_what_it_publishes_and_consumes(service):
    spec = SERVICES[service]
    published = {name.removeprefix("publish ") for name in channels(service) if name.startswith("publish ")}
    consumed = {name.split(" consumes ")[1] for name in channels(service) if " consumes " in name}
    assert published == {event.type_name for event in spec.publishes}
    assert consumed == {event.type_name for p in spec.projections for event in p.consumes()}


def test_every_event_type_is_published_by_exactly_one_service():
    publishers = {t: [s for s in SERVICES if f"publish {t}" in channels(s)] for t in EVENT_TYPES}
    assert all(len(services) == 1 for services in publishers.values()), publishers


def test_matching_documents_that_it_consumes_enrolments():
    assert "pool consumes tandem.enrolment.participant-withdrawn.v1" in channels("matching")


def test_the_command_prints_the_document_the_service_serves(tmp_path):
    import json

    result = CliRunner().invoke(app, ["asyncapi", "--service", "sessions"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == json.loads(json.dumps(document(SERVICES["sessions"]), sort_keys=True))
