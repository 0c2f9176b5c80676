"""The data inventory (issue #19 item 6): every event field and every column is classified, the generated
document is current, and a new unclassified field is caught."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from privacy import inventory
from shared.events import Event


def test_every_event_field_and_every_column_has_a_known_class():
    classification = inventory.Classification.load()
    places = inventory.event_fields() + inventory.columns()
    assert len(places) > 500  # the migrations really were read
    assert inventory.unclassified(classification, places) == []


def test_the_generated_document_is_current():
    classification = inventory.Classification.load()
    expected = inventory.document(classification, inventory.event_fields(), inventory.columns())
    assert inventory.DOCUMENT.read_text() == expected, "run python -m privacy.inventory"


def test_the_places_that_hold_names_and_addresses_are_classified_personal():
    classification = inventory.Classification.load()
    personal = {
        f"{p.owner}.{p.container}.{p.name}"
        for p in inventory.columns()
        if classification.of(p) is not None and classification.of(p).cls == "personal"  # type: ignore[union-attr]
    }
    assert {
        "enrolment.participants.email",
        "enrolment.participants.employee_id",
        "notifications.contacts.email",
    } <= personal


def test_a_new_event_field_or_column_without_a_classification_is_reported(tmp_path: Path):
    class ShoeSizeRecorded(Event):
        service = "enrolment"
        type_name = "tandem.enrolment.shoe-size-recorded.v1"
        participant_id: str
        shoe_size: int = Field(ge=1)

    (tmp_path / "services" / "enrolment").mkdir(parents=True)
    (tmp_path / "services" / "enrolment" / "009_shoes.sql").write_text(
        "CREATE TABLE shoes (participant_id text PRIMARY KEY, shoe_size integer NOT NULL);\n"
        "ALTER TABLE shoes ADD COLUMN favourite_colour text;\n"
    )
    original_root = inventory.ROOT
    inventory.ROOT = tmp_path  # _owner names schemas relative to the repository root
    try:
        tables = inventory.columns([tmp_path / "services"])
    finally:
        inventory.ROOT = original_root
    fields = [
        inventory.Place("event", "enrolment", ShoeSizeRecorded.__name__, f) for f in ShoeSizeRecorded.model_fields
    ]
    missing = inventory.unclassified(inventory.Classification.load(), fields + tables)
    assert sorted(p.name for p in missing) == ["favourite_colour", "shoe_size", "shoe_size"]
