"""The words of the rules of issue #17: every rule a program has renders a subject, a text and an escaped HTML
part; the admins' messages name no one."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.notifications.adapters.messages import SUBJECTS, Facts, Sender, render
from services.notifications.domain import model, rules
from services.notifications.domain.rules import PairState, Proposal, Snapshot
from shared.contacts import ContactDetails
from shared.events import NotificationSettings

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SENDER = Sender("Tandem <tandem@tandem.test>", "tandem.test")
ADA = ContactDetails(participant_id="p-m", display_name="Ada <b>", email="ada@example.com", time_zone="UTC")
BO = ContactDetails(participant_id="p-n", display_name="Bo & Co", email="bo@example.com", time_zone="UTC")
PROGRAM = model.ProgramFacts("prog-1", "Leaders <2027>", cadence_days=14, duration_weeks=12)
PAIR = PairState("pair-1", "prog-1", "p-m", "p-n", formed_at=NOW - timedelta(days=60))
MEMBERS = model.PairMembers("pair-1", "prog-1", "p-m", "p-n")


def participant_notifications() -> dict[str, model.Notification]:
    """One notification of each participant rule, to Ada (partner Bo where the rule names one)."""
    later = NOW + timedelta(days=3)
    found = [
        *rules.proposals(
            cause_event_id="e", pair=MEMBERS, breakdown={"skills_to_mentee": 3.0}, expires_at=later, now=NOW
        ),
        *rules.acceptance_reminders(
            Proposal("pair-1", "prog-1", "p-m", "p-n", NOW - timedelta(days=3), later), PROGRAM, NOW
        ),
        *rules.agreement_reminders(PAIR, PROGRAM, NOW),
        *rules.sessions_due(PAIR, PROGRAM, NOW),
        *rules.nudges(PAIR, PROGRAM, NOW),
        *rules.program_ended(cause_event_id="e", program_id="prog-1", pairs=[PAIR], now=NOW),
        *rules.completions(cause_event_id="e", pair=MEMBERS, completed_on=date(2027, 1, 25), now=NOW),
    ]
    return {n.rule: n for n in found if n.participant_id == "p-m"}


def test_every_rule_of_a_program_has_a_subject_and_templates():
    programs = {f.replace("_", "-") for f in NotificationSettings.model_fields}
    assert programs <= set(SUBJECTS)
    assert (
        set(participant_notifications()) | {"introduction", "feedback-prompt", "at-risk-escalation", "admin-digest"}
        == programs
    )


@pytest.mark.parametrize("rule", sorted(participant_notifications()))
def test_a_participants_message_is_addressed_to_them_and_escaped_in_html(rule):
    notification = participant_notifications()[rule]
    partner = BO if "partner_id" in notification.context else None
    rendered = render(notification, Facts(PROGRAM, ADA, partner), NOW, sender=SENDER)
    assert rendered.text.startswith("Hello Ada <b>,")
    assert "Hello Ada &lt;b&gt;," in rendered.html and "<b>," not in rendered.html
    assert "Leaders &lt;2027&gt;" in rendered.html or "Leaders <2027>" in rendered.subject
    if partner:
        assert "Bo & Co" in rendered.text and "Bo &amp; Co" in rendered.html
    assert rendered.calendar is None


def test_the_completion_says_where_the_certificate_is():
    rendered = render(participant_notifications()["completion"], Facts(PROGRAM, ADA, BO), NOW, sender=SENDER)
    assert rendered.subject == "Your pair with Bo & Co is complete: your certificate is ready"
    assert "/enrolment/v1/me/certificates" in rendered.text and "2027-01-25" in rendered.text


def test_the_session_due_reminder_gives_the_cadence_and_the_due_date():
    rendered = render(participant_notifications()["session-due"], Facts(PROGRAM, ADA, BO), NOW, sender=SENDER)
    assert rendered.subject == "A session with Bo & Co is due"
    assert (
        "every 14 days" in rendered.text and f"due on {(PAIR.formed_at + timedelta(days=14)).date()}" in rendered.text
    )


def test_the_admins_escalation_and_digest_name_no_one():
    nudge_ids = rules.nudge_ids(PAIR, PROGRAM, NOW)
    nudged = {
        i: n for n in rules.nudges(PAIR, PROGRAM, NOW - timedelta(days=8)) for i in nudge_ids if n.notification_id == i
    }
    [escalation] = rules.escalations(PAIR, PROGRAM, NOW, nudged)
    [digest] = rules.admin_digest(PROGRAM, Snapshot({"prog-1": PROGRAM}, [PAIR]), NOW)
    for notification in (escalation, digest):
        rendered = render(notification, Facts(PROGRAM, None), NOW, sender=SENDER)
        assert "Leaders &lt;2027&gt;" in rendered.html
        for words in (rendered.subject, rendered.text, rendered.html):
            assert "Ada" not in words and "Bo &" not in words and "p-m" not in words
    escalated = render(escalation, Facts(PROGRAM, None), NOW, sender=SENDER)
    assert escalated.subject == "A pair in Leaders <2027> needs attention" and "pair-1" in escalated.text
    summary = render(digest, Facts(PROGRAM, None), NOW, sender=SENDER).text
    assert "at risk: 1" in summary and "new pairs (last 7 days): 0" in summary
