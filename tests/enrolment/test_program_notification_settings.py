"""A program's notification rules (issue #17): each on or off with its timing, set at launch and changed by the
program's PATCH (only the rules and fields given change), carried whole by ProgramLaunched and
ProgramSettingsChanged; out of bounds is a 422 naming the field."""

from __future__ import annotations

import pytest

from shared.auth import AuthSettings, issue_token
from shared.events import NotificationSettings, ProgramLaunched, ProgramSettingsChanged
from tests.support.bodies import invalid_fields
from tests.support.enrolment_app import InProcessEnrolment

KEY = "program-notifications-pseudonym-key-32b"


def fields(response) -> list[str]:
    """The field a 422 names (`notifications`) and, in its `loc`, the rule and setting within it."""
    assert invalid_fields(response) == ["notifications"]
    return [".".join(str(part) for part in e["loc"][1:]) for e in response.json()["errors"]]


ADMIN = {"Authorization": f"Bearer {issue_token('hr', ['program_admin'], settings=AuthSettings(pseudonym_key=KEY))}"}


@pytest.fixture
def enrolment() -> InProcessEnrolment:
    return InProcessEnrolment(KEY, [])


@pytest.fixture
async def client(enrolment: InProcessEnrolment):
    async with enrolment.client() as client:
        yield client


async def test_a_launch_sets_the_rules_and_leaves_the_others_at_their_defaults(client, enrolment):
    body = {
        "title": "Leaders",
        "notifications": {"session_due": {"enabled": False}, "acceptance_reminder": {"after_hours": 12}},
    }
    response = await client.post("/programs", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    shown = response.json()["program"]["notifications"]
    assert shown["session_due"] == {"enabled": False}
    assert shown["acceptance_reminder"] == {"enabled": True, "after_hours": 12}
    assert shown["at_risk_escalation"] == {"enabled": True, "after_days": 7}
    launched = ProgramLaunched.model_validate(enrolment.store.events[-1].data)
    assert launched.notifications == NotificationSettings.model_validate(shown)


async def test_a_change_changes_only_the_rules_and_fields_given(client, enrolment):
    body = {"title": "Leaders", "notifications": {"at_risk_escalation": {"after_days": 3}}}
    program_id = (await client.post("/programs", json=body, headers=ADMIN)).json()["program"]["program_id"]
    change = {
        "notifications": {"at_risk_escalation": {"enabled": False}, "admin_digest": {"weekday": 5, "hour_utc": 0}}
    }
    response = await client.patch(f"/programs/{program_id}", json=change, headers=ADMIN)
    assert response.status_code == 200, response.text
    changed = ProgramSettingsChanged.model_validate(enrolment.store.events[-1].data)
    assert changed.settings_version == 2
    assert (changed.notifications.at_risk_escalation.enabled, changed.notifications.at_risk_escalation.after_days) == (
        False,
        3,
    )
    assert changed.notifications.admin_digest.model_dump() == {"enabled": True, "weekday": 5, "hour_utc": 0}
    assert changed.notifications.session_due.enabled
    again = await client.patch(f"/programs/{program_id}", json=change, headers=ADMIN)
    assert again.json()["event_log"] is None  # nothing changed: no event


@pytest.mark.parametrize(
    "rules, field",
    [
        ({"acceptance_reminder": {"after_hours": 0}}, "notifications.acceptance_reminder.after_hours"),
        ({"acceptance_reminder": {"after_hours": 2161}}, "notifications.acceptance_reminder.after_hours"),
        ({"agreement_reminder": {"after_days": 366}}, "notifications.agreement_reminder.after_days"),
        ({"at_risk_escalation": {"after_days": "7"}}, "notifications.at_risk_escalation.after_days"),
        ({"admin_digest": {"weekday": 8}}, "notifications.admin_digest.weekday"),
        ({"admin_digest": {"hour_utc": 24}}, "notifications.admin_digest.hour_utc"),
        ({"session_due": {"enabled": "no"}}, "notifications.session_due.enabled"),
        ({"session_due": {"enabled": None}}, "notifications.session_due.enabled"),
        ({"daily_digest": {"enabled": False}}, "notifications.daily_digest"),
        ({"session_due": {"after_days": 3}}, "notifications.session_due.after_days"),
    ],
)
async def test_rules_out_of_bounds_are_a_422_naming_the_field_at_launch_and_in_a_change(
    client, enrolment, rules, field
):
    response = await client.post("/programs", json={"title": "Leaders", "notifications": rules}, headers=ADMIN)
    assert fields(response) == [field]
    program_id = (await client.post("/programs", json={"title": "Ok"}, headers=ADMIN)).json()["program"]["program_id"]
    events = len(enrolment.store.events)
    assert fields(await client.patch(f"/programs/{program_id}", json={"notifications": rules}, headers=ADMIN)) == [
        field
    ]
    assert len(enrolment.store.events) == events
