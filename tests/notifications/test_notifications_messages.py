"""The e-mail a notification becomes: text and HTML parts from the templates, the introduction's iCalendar
invitation with the program's cadence as its RRULE, a Message-ID that a retried send repeats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import icalendar

from services.notifications.adapters.calendar import cadence_rule
from services.notifications.adapters.messages import Facts, Sender, compose, reasons
from services.notifications.domain import model
from shared.contacts import ContactDetails

FORMED = datetime(2026, 11, 2, 16, 30, tzinfo=UTC)
SENDER = Sender("Tandem <tandem@tandem.test>", "tandem.test")
MENTOR = ContactDetails(participant_id="p-m", display_name="Ada <b>", email="ada@example.com", time_zone="Europe/Paris")
MENTEE = ContactDetails(participant_id="p-n", display_name="Bo", email="bo@example.com", time_zone="America/New_York")
PROGRAM = model.ProgramFacts("prog-1", "Digital leaders", cadence_days=14, duration_weeks=12)


def introductions() -> list[model.Notification]:
    return model.introductions(
        cause_event_id="event-1",
        program_id="prog-1",
        pair_id="pair-1",
        mentor_id="p-m",
        mentee_id="p-n",
        breakdown={"skills_to_mentee": 3.0, "cross_department": 1.0, "time_zone_overlap": 0.0},
        formed_at=FORMED,
    )


def parts(message) -> dict[str, str]:
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    return {part.get_content_type(): part.get_content() for part in parsed.walk() if not part.is_multipart()}


def test_an_introduction_names_the_partner_and_why_in_text_and_escaped_html():
    to_mentee = introductions()[1]
    message = compose(to_mentee, Facts(PROGRAM, MENTEE, MENTOR), FORMED, sender=SENDER)
    assert message["To"] == "Bo <bo@example.com>"
    assert message["Subject"] == "Meet your Tandem partner, Ada <b>"
    body = parts(message)
    assert set(body) == {"text/plain", "text/html", "text/calendar"}
    assert "You and Ada <b> are now a pair in Digital leaders: you are the mentee." in body["text/plain"]
    assert "the mentor has skills the mentee wants to learn" in body["text/plain"]
    assert "your working hours overlap" not in body["text/plain"]  # a criterion that counted nothing
    assert "<strong>Ada &lt;b&gt;</strong>" in body["text/html"]
    assert 'href="mailto:ada@example.com"' in body["text/html"]


def test_the_message_id_is_the_notification_id_so_a_retry_repeats_it():
    notification = introductions()[0]
    first = compose(notification, Facts(PROGRAM, MENTOR, MENTEE), FORMED, sender=SENDER)
    retried = compose(notification, Facts(PROGRAM, MENTOR, MENTEE), FORMED + timedelta(hours=1), sender=SENDER)
    assert first["Message-ID"] == retried["Message-ID"] == f"<{notification.notification_id}@tandem.test>"


def test_the_invitation_recurs_at_the_programs_cadence_for_its_duration_at_one_instant_for_both():
    calendars = [
        icalendar.Calendar.from_ical(
            parts(compose(n, Facts(PROGRAM, me, partner), FORMED, sender=SENDER))["text/calendar"]
        )
        for n, me, partner in zip(introductions(), (MENTOR, MENTEE), (MENTEE, MENTOR), strict=True)
    ]
    events = [next(iter(c.walk("VEVENT"))) for c in calendars]
    for calendar, event in zip(calendars, events, strict=True):
        assert calendar["METHOD"] == "REQUEST"
        assert dict(event["RRULE"]) == {"FREQ": ["WEEKLY"], "INTERVAL": [2], "COUNT": [6]}
        assert event["UID"] == "pair-pair-1@tandem.test"
        attendees = sorted(str(a) for a in event.get("ATTENDEE"))
        assert attendees == ["mailto:ada@example.com", "mailto:bo@example.com"]
        assert [c["TZID"] for c in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]
    starts = [e.decoded("DTSTART") for e in events]
    assert starts[0] == starts[1]  # the mentor's 10:00, a week after the pair formed, for both
    assert starts[0].isoformat() == "2026-11-09T10:00:00+01:00"
    assert events[0].decoded("DTEND") - starts[0] == timedelta(minutes=45)


def test_a_cadence_of_days_that_is_not_whole_weeks_recurs_daily():
    assert cadence_rule(10, 12) == {"FREQ": "DAILY", "INTERVAL": 10, "COUNT": 8}
    assert cadence_rule(7, 1) == {"FREQ": "WEEKLY", "INTERVAL": 1, "COUNT": 1}
    assert cadence_rule(30, 2) == {"FREQ": "DAILY", "INTERVAL": 30, "COUNT": 1}  # at least the first meeting


def test_reasons_are_the_strongest_criteria_first():
    assert reasons({"cross_department": 1.0, "skills_to_mentor": 2.0, "program_focus": 1.5, "generation_gap": 0.2}) == [
        "the mentee can teach skills the mentor wants",
        "you share the program's focus areas",
        "you work in different departments, so each sees another part of the company",
    ]


def test_a_feedback_prompt_has_text_and_html_and_no_invitation():
    pair = model.PairMembers("pair-1", "prog-1", "p-m", "p-n")
    prompt = model.feedback_prompts(cause_event_id="e-s", pair=pair, held_on=FORMED.date(), now=FORMED)[0]
    message = compose(prompt, Facts(PROGRAM, MENTOR, MENTEE), FORMED, sender=SENDER)
    body = parts(message)
    assert set(body) == {"text/plain", "text/html"}
    assert "A session with Bo on 2026-11-02 was logged in Digital leaders" in body["text/plain"]
    assert message["Subject"] == "How did your session with Bo go?"
