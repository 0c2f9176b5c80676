"""The iCalendar invitation an introduction carries (RFC 5545, with the `icalendar` library): a recurring meeting
whose RRULE is the program's cadence, for as long as the program's pairs run."""

from __future__ import annotations

from datetime import datetime, timedelta

from icalendar import Calendar, Event, vCalAddress, vText


def cadence_rule(cadence_days: int, duration_weeks: int) -> dict[str, object]:
    """Every `cadence_days` (in weeks when it is a whole number of them), as many times as fit the pair's term."""
    count = max(1, (duration_weeks * 7) // cadence_days)
    if cadence_days % 7 == 0:
        return {"FREQ": "WEEKLY", "INTERVAL": cadence_days // 7, "COUNT": count}
    return {"FREQ": "DAILY", "INTERVAL": cadence_days, "COUNT": count}


def invitation(
    *,
    uid: str,
    summary: str,
    description: str,
    organizer: str,
    attendees: list[tuple[str, str]],
    start: datetime,
    minutes: int,
    cadence_days: int,
    duration_weeks: int,
    stamp: datetime,
) -> bytes:
    """A METHOD:REQUEST calendar with one recurring event. `start` carries its time zone (zoneinfo): the
    VTIMEZONE it needs is added, so every client shows the same instant. `attendees`: (name, address)."""
    calendar = Calendar()
    calendar.add("prodid", "-//Tandem//notifications//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=minutes))
    event.add("summary", summary)
    event.add("description", description)
    event.add("rrule", cadence_rule(cadence_days, duration_weeks))
    event["organizer"] = vCalAddress(f"mailto:{organizer}")
    for name, address in attendees:
        attendee = vCalAddress(f"mailto:{address}")
        attendee.params["cn"] = vText(name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["rsvp"] = vText("TRUE")
        event.add("attendee", attendee, encode=False)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
