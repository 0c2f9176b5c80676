"""Issue #15 item 1 in enrolment, in-process over the in-memory unit of work: a program's admins edit its settings
(each change one ProgramSettingsChanged with the whole settings, within the bounds of a launch, targets only over
metrics insights computes) and close it (once); a new consent wording is a new version while consents given keep
theirs; a closed program takes no edits, opt-ins nor invitations."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from shared.auth import AuthSettings, issue_token
from shared.events import DEFAULT_WEIGHTS, ProgramSettingsChanged
from shared.metrics_catalogue import METRICS
from tests.support.bodies import invalid_fields as fields
from tests.support.enrolment_app import InProcessEnrolment, roster_entry

KEY = "program-lifecycle-pseudonym-key-32-bytes"
AUTH = AuthSettings(pseudonym_key=KEY)
WORDING = "I take part, and my partner sees my name."
NEW_WORDING = "I take part; my partner sees my name and my department."


def bearer(subject: str, roles: list[str], **claims) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(subject, roles, settings=AUTH, **claims)}"}


ADMIN = bearer("hr", ["program_admin"], groups=["hr-programs"])
OTHER_ADMIN = bearer("bu", ["program_admin"], groups=["digital-bu-admins"])
SPONSOR = bearer("exec", ["executive_sponsor"], groups=["executive-sponsors"])


def signed_in(employee_id: str) -> dict[str, str]:
    return bearer("person", ["participant"], employee_id=employee_id)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def enrolment() -> InProcessEnrolment:
    return InProcessEnrolment(KEY, [roster_entry("E1"), roster_entry("E2")])


@pytest.fixture
async def client(enrolment: InProcessEnrolment):
    async with enrolment.client() as client:
        yield client


@pytest.fixture
async def program_id(client) -> str:
    body = {
        "title": "Digital leaders",
        "consent_text": WORDING,
        "admin_groups": ["hr-programs"],
        "targets": {"pairs_formed": 10},
        "acceptance_mode": "both",
        "proposal_ttl_hours": 48,
    }
    response = await client.post("/programs", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()["program"]["program_id"]


async def patch(client, program_id: str, body: dict, headers: dict = ADMIN) -> httpx.Response:
    return await client.patch(f"/programs/{program_id}", json=body, headers=headers)


async def opt_in(client, program_id: str, employee_id: str, wording: str) -> httpx.Response:
    body = {"consent_sha256": sha(wording), "role": "mentee"}
    return await client.post(f"/programs/{program_id}/enrolments", json=body, headers=signed_in(employee_id))


# ------------------------------------------------------------------------------------------------------ launch


async def test_a_launch_records_the_acceptance_mode_and_the_proposal_lifetime(client, enrolment, program_id):
    program = (await client.get(f"/programs/{program_id}", headers=ADMIN)).json()
    assert (program["acceptance_mode"], program["proposal_ttl_hours"]) == ("both", 48)
    assert (program["settings_version"], program["consent_version"], program["closed_at"]) == (1, 1, None)
    [launched] = enrolment.store.events
    assert (launched.data["acceptance_mode"], launched.data["proposal_ttl_hours"]) == ("both", 48)


async def test_a_launch_defaults_to_pairs_starting_at_once_and_a_week_to_answer(client):
    response = await client.post("/programs", json={"title": "Plain"}, headers=ADMIN)
    assert (response.json()["program"]["acceptance_mode"], response.json()["program"]["proposal_ttl_hours"]) == (
        "immediate",
        168,
    )


@pytest.mark.parametrize(
    "field, value",
    [
        ("targets", {"pairs_formd": 10}),
        ("matching_weights", {"skills_to_mentee": 1e308}),
        ("acceptance_mode", "whenever"),
        ("proposal_ttl_hours", 0),
        ("proposal_ttl_hours", 2161),
        ("proposal_ttl_hours", True),
    ],
)
async def test_a_launch_out_of_bounds_is_422_naming_the_field(client, enrolment, field, value):
    response = await client.post("/programs", json={"title": "ok", field: value}, headers=ADMIN)
    assert fields(response) == [field]
    assert enrolment.store.events == []


async def test_an_unknown_target_lists_the_metrics_insights_computes(client):
    response = await client.post("/programs", json={"title": "ok", "targets": {"happiness": 5}}, headers=ADMIN)
    assert fields(response) == ["targets"]
    message = response.json()["errors"][0]["msg"]
    assert all(metric in message for metric in METRICS)


# -------------------------------------------------------------------------------------------------------- edit


async def test_an_edit_publishes_the_whole_settings_once_with_the_next_settings_version(client, enrolment, program_id):
    response = await patch(client, program_id, {"matching_weights": {"cross_department": 9}, "cadence_days": 7})
    assert response.status_code == 200, response.text
    program = response.json()["program"]
    assert program["matching_weights"] == {**DEFAULT_WEIGHTS, "cross_department": 9}  # the others keep theirs
    assert (program["cadence_days"], program["settings_version"], program["consent_version"]) == (7, 2, 1)
    assert response.json()["event_log"]["stream_version"] == 2
    assert enrolment.types() == ["program-launched", "program-settings-changed"]
    changed = ProgramSettingsChanged.model_validate(enrolment.store.events[-1].data)
    assert (changed.title, changed.acceptance_mode, changed.targets) == (
        "Digital leaders",
        "both",
        {"pairs_formed": 10},
    )
    assert (changed.cadence_days, changed.settings_version, changed.consent_version) == (7, 2, 1)
    assert (await client.get(f"/programs/{program_id}", headers=ADMIN)).json() == program


async def test_each_edit_raises_the_settings_version(client, enrolment, program_id):
    await patch(client, program_id, {"acceptance_mode": "one_side"})
    response = await patch(client, program_id, {"proposal_ttl_hours": 2160, "targets": {"match_rate": 0.8}})
    program = response.json()["program"]
    assert (program["settings_version"], program["acceptance_mode"], program["proposal_ttl_hours"]) == (
        3,
        "one_side",
        2160,
    )
    assert program["targets"] == {"match_rate": 0.8}  # targets are replaced as a whole: pairs_formed is gone
    assert enrolment.types().count("program-settings-changed") == 2


async def test_an_edit_changing_nothing_publishes_nothing(client, enrolment, program_id):
    response = await patch(client, program_id, {"title": "Digital leaders", "acceptance_mode": "both"})
    assert response.status_code == 200
    assert (response.json()["event_log"], response.json()["program"]["settings_version"]) == (None, 1)
    assert enrolment.types() == ["program-launched"]


@pytest.mark.parametrize(
    "field, value",
    [
        ("matching_weights", {"skills_to_mentee": 1e308}),  # the issue's case: every later round was a 500
        ("matching_weights", {"skills_to_mentee": -1}),
        ("matching_weights", {"charisma": 1}),
        ("targets", {"happiness": 5}),
        ("targets", {"pairs_formed": 1e10}),
        ("title", ""),
        ("title", None),
        ("cadence_days", 0),
        ("duration_weeks", 261),
        ("proposal_ttl_hours", 2161),
        ("acceptance_mode", "never"),
        ("consent_text", ""),
        ("on_reporting_conflict", "ignore"),
        ("settings_version", 7),
    ],
)
async def test_an_edit_out_of_bounds_is_422_naming_the_field_and_changes_nothing(
    client, enrolment, program_id, field, value
):
    before = enrolment.state.programs[program_id]
    assert fields(await patch(client, program_id, {field: value})) == [field]
    assert enrolment.state.programs[program_id] == before and enrolment.types() == ["program-launched"]


async def test_a_weight_of_1e400_is_422_not_infinity(client, enrolment, program_id):
    body = b'{"matching_weights": {"skills_to_mentee": 1e400}}'
    response = await client.patch(
        f"/programs/{program_id}", content=body, headers={**ADMIN, "content-type": "application/json"}
    )
    assert fields(response) == ["matching_weights"] and enrolment.types() == ["program-launched"]


async def test_only_the_programs_admins_edit_it(client, enrolment, program_id):
    for headers in (OTHER_ADMIN, SPONSOR, signed_in("E1")):
        assert (await patch(client, program_id, {"cadence_days": 3}, headers)).status_code == 403
    assert (await patch(client, "prg-unknown", {"cadence_days": 3})).status_code == 404
    assert enrolment.types() == ["program-launched"]


async def test_handing_a_program_to_other_groups_moves_who_runs_it(client, program_id):
    assert (await patch(client, program_id, {"admin_groups": ["digital-bu-admins"]})).status_code == 200
    assert (await patch(client, program_id, {"cadence_days": 3})).status_code == 403
    assert (await patch(client, program_id, {"cadence_days": 3}, OTHER_ADMIN)).status_code == 200


# ----------------------------------------------------------------------------------------------------- consent


async def test_a_new_wording_is_a_new_consent_version_and_consents_given_keep_theirs(client, program_id):
    assert (await opt_in(client, program_id, "E1", WORDING)).status_code == 201
    response = await patch(client, program_id, {"consent_text": NEW_WORDING})
    assert (response.json()["program"]["settings_version"], response.json()["program"]["consent_version"]) == (2, 2)

    wording = (await client.get(f"/programs/{program_id}/consent", headers=signed_in("E2"))).json()
    assert (wording["version"], wording["text"], wording["sha256"]) == (2, NEW_WORDING, sha(NEW_WORDING))
    stale = await opt_in(client, program_id, "E2", WORDING)
    assert fields(stale) == ["consent_sha256"]
    given = await opt_in(client, program_id, "E2", NEW_WORDING)
    assert given.status_code == 201 and given.json()["consent"]["version"] == 2

    first = (await client.get("/me", headers=signed_in("E1"))).json()["enrolments"][0]["consent"]
    assert (first["version"], first["sha256"]) == (1, sha(WORDING))


async def test_an_edit_that_keeps_the_wording_keeps_the_consent_version(client, program_id):
    response = await patch(client, program_id, {"consent_text": WORDING, "title": "Renamed"})
    assert (response.json()["program"]["settings_version"], response.json()["program"]["consent_version"]) == (2, 1)


# ------------------------------------------------------------------------------------------------------- close


async def test_closing_publishes_program_closed_once(client, enrolment, program_id):
    first = await client.post(f"/programs/{program_id}/close", headers=ADMIN)
    assert first.status_code == 200 and first.json()["program"]["closed_at"] is not None
    second = await client.post(f"/programs/{program_id}/close", headers=ADMIN)
    assert second.status_code == 200 and second.json()["event_log"] is None
    assert second.json()["program"]["closed_at"] == first.json()["program"]["closed_at"]
    assert enrolment.types() == ["program-launched", "program-closed"]
    [closed] = [e for e in enrolment.store.events if e.type.endswith("program-closed.v1")]
    assert closed.data["program_id"] == program_id
    shown = (await client.get(f"/programs/{program_id}", headers=ADMIN)).json()
    assert shown["closed_at"] == first.json()["program"]["closed_at"]


async def test_only_the_programs_admins_close_it(client, enrolment, program_id):
    for headers in (OTHER_ADMIN, SPONSOR, signed_in("E1")):
        assert (await client.post(f"/programs/{program_id}/close", headers=headers)).status_code == 403
    assert (await client.post("/programs/prg-unknown/close", headers=ADMIN)).status_code == 404
    assert enrolment.types() == ["program-launched"]


async def test_a_closed_program_takes_no_edit_opt_in_nor_invitation(client, enrolment, program_id):
    assert (await opt_in(client, program_id, "E1", WORDING)).status_code == 201
    await client.post(f"/programs/{program_id}/close", headers=ADMIN)
    events = list(enrolment.store.events)

    assert (await patch(client, program_id, {"cadence_days": 3})).status_code == 409
    assert (await opt_in(client, program_id, "E2", WORDING)).status_code == 409
    invited = await client.post(f"/programs/{program_id}/invitations", json={"employee_ids": ["E2"]}, headers=ADMIN)
    assert invited.status_code == 409
    assert enrolment.store.events == events

    # Those enrolled stay in it, and may still leave.
    [enrolled] = (await client.get("/me", headers=signed_in("E1"))).json()["enrolments"]
    participant_id = enrolled["participant_id"]  # the person's id in this program (ADR 0011)
    withdrawn = await client.post(
        f"/programs/{program_id}/participants/{participant_id}/consent/withdraw", headers=signed_in("E1")
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["participant"]["status"] == "withdrawn"


async def test_the_program_list_shows_versions_and_closing(client, program_id):
    await client.post(f"/programs/{program_id}/close", headers=ADMIN)
    [listed] = (await client.get("/programs", headers=ADMIN)).json()
    assert (listed["program_id"], listed["settings_version"]) == (program_id, 1)
    assert listed["closed_at"] is not None
