from datetime import UTC, datetime, timedelta

from shared.envelope import Envelope
from shared.events import Event, FeedbackGiven, PairFormed, ParticipantEnrolled, SessionHeld
from shared.trail import trail
from tests.support.kafka_log import envelope_of

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def envelope(event: Event, stream: str, minutes: int, event_id: str | None = None) -> Envelope:
    return envelope_of(event, stream, time=T0 + timedelta(minutes=minutes), event_id=event_id or f"{stream}-{minutes}")


def enrolled(pid: str) -> ParticipantEnrolled:
    return ParticipantEnrolled(
        program_id="prg",
        participant_id=pid,
        role="mentor",
        grade=2,
        birth_year=2000,
        department="IT",
        time_zone="UTC",
        languages=("en",),
    )


def formed(pair: str, mentor: str, mentee: str) -> PairFormed:
    return PairFormed(
        program_id="prg", pair_id=pair, round_id="r", mentor_id=mentor, mentee_id=mentee, score=1, breakdown={}
    )


LOG = [
    envelope(enrolled("p-a"), "e-a", 1),
    envelope(enrolled("p-b"), "e-b", 2),
    envelope(formed("pair-1", "p-a", "p-c"), "pair-1", 3),
    envelope(formed("pair-2", "p-b", "p-d"), "pair-2", 4),
    envelope(
        SessionHeld(
            program_id="prg",
            pair_id="pair-1",
            session_id="s1",
            held_on=T0.date(),
            minutes=30,
            learning_direction="both",
            logged_by="p-c",
            logged_at=T0,
        ),
        "ps-1",
        5,
    ),
    envelope(
        FeedbackGiven(
            program_id="prg",
            pair_id="pair-2",
            feedback_id="f",
            given_by="p-b",
            side="mentor",
            rating=4,
            would_continue=True,
        ),
        "ps-2",
        6,
    ),
]


def test_the_trail_holds_the_participants_events_and_those_of_their_pairs_in_time_order():
    assert [e.subject for e in trail(LOG, "p-a")] == ["e-a", "pair-1", "ps-1"]


def test_a_redelivered_event_appears_once():
    assert len(trail([*LOG, LOG[0]], "p-a")) == 3


def test_someone_elses_pair_is_not_in_the_trail():
    assert all(e.data.get("pair_id") != "pair-2" for e in trail(LOG, "p-a"))
