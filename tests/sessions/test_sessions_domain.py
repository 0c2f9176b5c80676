from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.sessions.domain.commands import GiveFeedback, LogSession
from services.sessions.domain.model import Pair, SessionRecord, give_feedback, log_session
from shared.errors import Conflict, Forbidden

FORMED = datetime(2026, 3, 1, 9, tzinfo=UTC)
PAIR = Pair("pair-1", "prg", "p-mentor", "p-mentee", formed_at=FORMED)
NOW = datetime(2026, 5, 1, tzinfo=UTC)


def command(**overrides) -> LogSession:
    return LogSession(**{"held_on": date(2026, 4, 30), "minutes": 30, "learning_direction": "both", **overrides})


def test_a_dissolved_pair_cannot_log_a_session():
    with pytest.raises(Conflict):
        log_session(Pair("pair-1", "prg", "a", "b", status="dissolved"), None, command(), "a", NOW)


def test_repeated_topics_are_recorded_once_in_their_first_order():
    assert log_session(PAIR, None, command(topics=["ai", "tiktok", "ai", ""]), "p-mentor", NOW).topics == (
        "ai",
        "tiktok",
    )


def feedback(member: str = "p-mentor", *, last: datetime | None = None, now: datetime = NOW):
    command = GiveFeedback(rating=5, would_continue=True)
    return give_feedback(PAIR, command, member, cadence_days=14, last_given_at=last, now=now)


def test_the_side_of_feedback_follows_from_the_member():
    assert feedback("p-mentor").side == "mentor" and feedback("p-mentee").side == "mentee"


def test_a_non_member_cannot_give_feedback():
    with pytest.raises(Forbidden):
        feedback("p-other")


def test_a_member_gives_one_feedback_per_cadence_period_of_the_pair():
    # The pair started on FORMED; periods of 14 days: [Mar 1, Mar 15), [Mar 15, Mar 29), ...
    assert feedback(last=None, now=FORMED)
    assert feedback(last=FORMED, now=FORMED + timedelta(days=14))
    assert feedback(last=FORMED + timedelta(days=13), now=FORMED + timedelta(days=14))
    with pytest.raises(Conflict, match="next is due on 2026-03-15"):
        feedback(last=FORMED, now=FORMED + timedelta(days=13))
    with pytest.raises(Conflict, match="next is due on 2026-03-29"):
        feedback(last=FORMED + timedelta(days=14), now=FORMED + timedelta(days=27))


def test_minutes_must_be_positive():
    with pytest.raises(ValidationError):
        command(minutes=0)


def test_a_session_two_days_ahead_is_refused_naming_held_on():
    with pytest.raises(ValidationError) as error:
        command(held_on=datetime.now(UTC).date() + timedelta(days=2))
    assert error.value.errors()[0]["loc"] == ("held_on",)


def test_tomorrow_is_accepted_for_members_whose_today_is_already_tomorrow_in_utc():
    assert command(held_on=datetime.now(UTC).date() + timedelta(days=1)).held_on


def test_a_topic_is_a_short_phrase():
    with pytest.raises(ValidationError):
        command(topics=["x" * 101])


def test_a_rating_is_between_one_and_five():
    for rating in (0, 6):
        with pytest.raises(ValidationError):
            GiveFeedback(rating=rating, would_continue=True)


def test_members_are_the_mentor_and_the_mentee():
    assert PAIR.has_member("p-mentor") and PAIR.has_member("p-mentee") and not PAIR.has_member("p-other")


def test_sessions_and_feedback_of_a_pair_share_its_stream():
    assert PAIR.stream_id == "pair-sessions-pair-1"


def test_a_kept_session_is_what_was_published_but_its_program_plus_its_private_notes():
    held = log_session(PAIR, None, command(topics=["ai"]), "p-mentor", NOW)
    kept = SessionRecord.of(held, "private")
    assert kept.notes == "private" and kept.topics == ("ai",) and not hasattr(kept, "program_id")
    assert (kept.session_id, kept.held_on, kept.logged_at) == (held.session_id, held.held_on, held.logged_at)
