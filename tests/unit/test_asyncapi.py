import json

import pytest

from services.registry import SERVICES as SPECS
from shared.asyncapi import DOCS, document
from shared.events import EVENT_TYPES

SERVICES = [spec.name for spec in SPECS]


def generated(service: str) -> dict:
    return document(next(spec for spec in SPECS if spec.name == service))


@pytest.mark.parametrize("service", SERVICES)
def test_the_committed_asyncapi_document_is_what_the_service_generates(service):
    committed = json.loads((DOCS / f"{service}.json").read_text())
    assert committed == json.loads(json.dumps(generated(service), sort_keys=True))


def test_every_event_type_is_published_by_exactly_one_service():
    publishers = {
        t: [s for s in SERVICES if f"publish {t}" in json.loads((DOCS / f"{s}.json").read_text())["channels"]]
        for t in EVENT_TYPES
    }
    assert all(len(services) == 1 for services in publishers.values()), publishers


def test_matching_documents_that_it_consumes_enrolments():
    channels = json.loads((DOCS / "matching.json").read_text())["channels"]
    assert "pool consumes tandem.enrolment.participant-withdrawn.v1" in channels
