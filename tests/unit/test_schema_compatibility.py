import copy
import json

import pytest

from shared.envelope import Envelope
from shared.events import UPCASTERS, ParticipantWithdrawn
from shared.schemas import SCHEMA_DIR, check_all, compatibility_problems, current_schema, publish
from tests.support.kafka_log import withdrawal

PUBLISHED = current_schema(ParticipantWithdrawn)


def test_every_current_schema_is_published_and_compatible_with_all_revisions():
    assert check_all() == {type_name: [] for type_name in check_all()}


def test_committed_schemas_are_the_ones_the_models_generate():
    for folder in SCHEMA_DIR.iterdir():
        latest = max(folder.glob("*.json"), key=lambda p: int(p.stem))
        assert json.loads(latest.read_text())["title"] == folder.name


def changed(edit) -> dict:
    schema = copy.deepcopy(PUBLISHED)
    edit(schema)
    return schema


@pytest.mark.parametrize(
    "breakage",
    [
        lambda s: (s["properties"].update(cause={"type": "string"}), s["required"].append("cause")),
        lambda s: s["properties"]["reason"].update(type="integer"),
        lambda s: (s["properties"].pop("participant_id"), s["required"].remove("participant_id")),
        lambda s: s["required"].remove("participant_id"),
    ],
    ids=["new required property", "type changed", "required property removed", "required became optional"],
)
def test_a_breaking_change_is_reported(breakage):
    assert compatibility_problems(PUBLISHED, changed(breakage))


def test_adding_an_optional_property_is_compatible():
    assert compatibility_problems(PUBLISHED, changed(lambda s: s["properties"].update(note={"type": "string"}))) == []


def test_publish_refuses_an_incompatible_change(tmp_path, monkeypatch):
    publish(tmp_path)
    folder = tmp_path / ParticipantWithdrawn.type_name
    broken = changed(lambda s: s["properties"]["reason"].update(type="integer"))
    (folder / "1.json").write_text(json.dumps(broken))
    with pytest.raises(ValueError, match="not compatible"):
        publish(tmp_path)


def test_an_old_version_read_from_the_log_comes_out_upcast(monkeypatch):
    old_type = "tandem.enrolment.participant-withdrawn.v0"
    monkeypatch.setitem(
        UPCASTERS, old_type, (ParticipantWithdrawn.type_name, lambda d: {**d, "reason": d.pop("why", "")})
    )
    old = withdrawal("p-1", 1)
    headers = [(n, old_type.encode() if n == "ce_type" else v) for n, v in old.kafka_headers()]
    body = json.dumps({"program_id": "p1", "participant_id": "p-1", "why": "moved abroad"}).encode()
    event = Envelope.from_kafka(headers, body).event()
    assert event == ParticipantWithdrawn(program_id="p1", participant_id="p-1", reason="moved abroad")


def test_readers_ignore_properties_a_newer_revision_added():
    envelope = withdrawal("p-2", 1)
    body = json.dumps({**envelope.data, "added_later": 1}).encode()
    assert Envelope.from_kafka(envelope.kafka_headers(), body).event() == envelope.event()
