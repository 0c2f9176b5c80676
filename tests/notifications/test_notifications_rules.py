"""Notifications without servers: ids derived from causes, the rules, the sender's retries and dead letters, the
contacts topic's records (issue #17)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage

import pytest

from services.notifications.adapters.delivery import EmailDelivery
from services.notifications.adapters.messages import Sender
from services.notifications.domain import model
from services.notifications.entrypoints.contacts_consumer import ContactsFollower
from services.notifications.service_layer import handlers
from services.notifications.service_layer.unit_of_work import InMemoryNotificationsUnitOfWork
from shared.contacts import ContactDetails, record
from shared.events import NotificationFailed, NotificationSent, PairFormed, SessionHeld

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PAIR = PairFormed(
    program_id="prog-1",
    pair_id="pair-1",
    round_id="round-1",
    mentor_id="p-mentor",
    mentee_id="p-mentee",
    score=4.5,
    breakdown={"skills_to_mentee": 3.0, "cross_department": 1.0, "generation_gap": 0.5, "time_zone_overlap": 0.0},
)
MENTOR = ContactDetails(participant_id="p-mentor", display_name="Ada", email="ada@example.com", time_zone="UTC")
MENTEE = ContactDetails(participant_id="p-mentee", display_name="Bo", email="bo@example.com", time_zone="UTC")
PROGRAM = model.ProgramFacts("prog-1", "Digital leaders", cadence_days=14, duration_weeks=12)
RETRIES = handlers.Retries(max_attempts=3, retry_after=timedelta(minutes=1))
SENDER = Sender("Tandem <t@tandem.test>", "tandem.test")


def session(pair_id: str = "pair-1", session_id: str = "s-1") -> SessionHeld:
    return SessionHeld(
        program_id="prog-1",
        pair_id=pair_id,
        session_id=session_id,
        held_on=date(2026, 11, 1),
        minutes=45,
        learning_direction="both",
        logged_by="p-mentor",
        logged_at=NOW,
    )


async def published(uow: InMemoryNotificationsUnitOfWork, event_type: type) -> list:
    return [
        event_type.model_validate(stored.data)
        for stored in await uow.store.read_after(0)
        if stored.type == event_type.type_name
    ]


class RecordingMailer:
    def __init__(self, failures: int = 0):
        self.sent: list[EmailMessage] = []
        self.failures = failures

    async def send(self, message: EmailMessage) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionRefusedError("smtp away")
        self.sent.append(message)


def known_world() -> InMemoryNotificationsUnitOfWork:
    uow = InMemoryNotificationsUnitOfWork()
    uow.state.contacts.update({MENTOR.participant_id: MENTOR, MENTEE.participant_id: MENTEE})
    uow.state.programs[PROGRAM.program_id] = PROGRAM
    return uow


def test_a_notification_id_is_derived_from_its_cause_rule_and_recipient():
    first = model.notification_id("event-1", "introduction", "p-a")
    assert first == model.notification_id("event-1", "introduction", "p-a")
    others = {
        model.notification_id("event-2", "introduction", "p-a"),
        model.notification_id("event-1", "feedback-prompt", "p-a"),
        model.notification_id("event-1", "introduction", "p-b"),
    }
    assert first not in others and len(others) == 3


async def test_a_pair_formed_records_one_introduction_per_member_and_a_redelivery_records_nothing():
    uow = known_world()
    assert await handlers.introduce(uow, PAIR, "event-1", NOW) == 2
    assert await handlers.introduce(uow, PAIR, "event-1", NOW) == 0  # the same event again: the same ids
    notes = list(uow.state.notifications.values())
    assert {(n.participant_id, n.context["partner_id"], n.rule) for n in notes} == {
        ("p-mentor", "p-mentee", "introduction"),
        ("p-mentee", "p-mentor", "introduction"),
    }
    assert all(n.status == "pending" and n.attempts == 0 and n.next_attempt_at == NOW for n in notes)


async def test_a_session_held_prompts_both_members_and_waits_for_a_pair_not_known_yet():
    uow = known_world()
    assert await handlers.prompt_feedback(uow, session(), "event-s1", NOW) == 0  # the pair is not known yet
    assert uow.state.awaiting
    # The pair arrives: its introductions and the waiting session's prompts are recorded together.
    assert await handlers.introduce(uow, PAIR, "event-1", NOW) == 4
    uow.state.pairs["pair-1"] = model.PairMembers("pair-1", "prog-1", "p-mentor", "p-mentee")  # the read model
    assert await handlers.prompt_feedback(uow, session(), "event-s1", NOW) == 0  # redelivered: nothing new
    assert await handlers.prompt_feedback(uow, session(session_id="s-2"), "event-s2", NOW) == 2
    prompts = [n for n in uow.state.notifications.values() if n.rule == "feedback-prompt"]
    assert sorted(n.cause_event_id for n in prompts) == ["event-s1", "event-s1", "event-s2", "event-s2"]
    assert not uow.state.awaiting


async def test_due_notifications_are_sent_once_each_with_an_event_of_ids_only():
    uow, mailer = known_world(), RecordingMailer()
    await handlers.introduce(uow, PAIR, "event-1", NOW)
    assert await handlers.send_due(uow, EmailDelivery(mailer, SENDER), NOW, RETRIES, limit=10) == 2
    assert await handlers.send_due(uow, EmailDelivery(mailer, SENDER), NOW + timedelta(days=1), RETRIES, limit=10) == 0
    assert sorted(m["To"] for m in mailer.sent) == ["Ada <ada@example.com>", "Bo <bo@example.com>"]
    ids = {n.notification_id for n in uow.state.notifications.values()}
    assert {m["Message-ID"] for m in mailer.sent} == {f"<{i}@tandem.test>" for i in ids}
    events = await published(uow, NotificationSent)
    assert {e.notification_id for e in events} == ids
    for event in events:
        dumped = event.model_dump_json()
        assert "example.com" not in dumped and "Ada" not in dumped
        assert (event.rule, event.channel, event.attempts) == ("introduction", "email", 1)


async def test_a_notification_another_sender_has_claimed_is_left_to_it_and_sent_once_released():
    uow, mailer = known_world(), RecordingMailer()
    await handlers.introduce(uow, PAIR, "event-1", NOW)
    taken, other = sorted(uow.state.notifications)
    assert await uow.claims.claim(taken)  # a second replica is sending this one
    assert await handlers.send_due(uow, EmailDelivery(mailer, SENDER), NOW, RETRIES, limit=10) == 1
    assert [m["X-Tandem-Notification-Id"] for m in mailer.sent] == [other]
    assert uow.state.notifications[taken].status == "pending"
    await uow.claims.release(taken)  # it died before recording the outcome: the claim ends with it
    assert await handlers.send_due(uow, EmailDelivery(mailer, SENDER), NOW, RETRIES, limit=10) == 1
    assert [m["X-Tandem-Notification-Id"] for m in mailer.sent] == [other, taken]
    assert not uow.claims.held, "every claim a send took is released"


async def test_a_failed_send_is_retried_after_a_doubling_back_off_then_dead_lettered():
    uow, mailer = known_world(), RecordingMailer(failures=10)
    await handlers.introduce(uow, PAIR, "event-1", NOW)
    assert await handlers.send_due(uow, EmailDelivery(mailer, SENDER), NOW, RETRIES, limit=10) == 2
    first = next(iter(uow.state.notifications.values()))
    assert (first.status, first.attempts, first.next_attempt_at) == ("pending", 1, NOW + timedelta(minutes=1))
    assert first.last_error == "ConnectionRefusedError"
    assert (
        await handlers.send_due(uow, EmailDelivery(mailer, SENDER), NOW + timedelta(seconds=59), RETRIES, limit=10) == 0
    )
    assert (
        await handlers.send_due(uow, EmailDelivery(mailer, SENDER), NOW + timedelta(minutes=1), RETRIES, limit=10) == 2
    )
    again = uow.state.notifications[first.notification_id]
    assert again.next_attempt_at == NOW + timedelta(minutes=1) + timedelta(minutes=2)
    assert await handlers.send_due(uow, EmailDelivery(mailer, SENDER), NOW + timedelta(hours=1), RETRIES, limit=10) == 2
    assert {n.status for n in uow.state.notifications.values()} == {"dead"}
    assert await handlers.send_due(uow, EmailDelivery(mailer, SENDER), NOW + timedelta(days=9), RETRIES, limit=10) == 0
    failures = await published(uow, NotificationFailed)
    assert sorted((e.attempts, e.dead_lettered) for e in failures) == [
        (1, False),
        (1, False),
        (2, False),
        (2, False),
        (3, True),
        (3, True),
    ]
    assert not mailer.sent


async def test_a_notification_waits_for_its_contact_details_and_goes_out_once_they_arrive():
    uow, mailer = known_world(), RecordingMailer()
    del uow.state.contacts["p-mentee"]
    await handlers.introduce(uow, PAIR, "event-1", NOW)
    await handlers.send_due(uow, EmailDelivery(mailer, SENDER), NOW, RETRIES, limit=10)
    assert not mailer.sent
    assert {n.last_error for n in uow.state.notifications.values()} == {"NotYetDeliverable"}
    await handlers.contact_received(uow, "p-mentee", MENTEE)
    assert (
        await handlers.send_due(uow, EmailDelivery(mailer, SENDER), NOW + timedelta(minutes=1), RETRIES, limit=10) == 2
    )
    assert len(mailer.sent) == 2


async def test_the_contacts_topic_keeps_the_newest_details_and_a_tombstone_forgets_the_person():
    uow = InMemoryNotificationsUnitOfWork()
    follower = ContactsFollower(connections=None, topic="t", group_id="g", unit_of_work=lambda: uow)  # type: ignore[arg-type]
    await follower.apply(*record("p-mentee", MENTEE), "t:0@0")
    moved = MENTEE.model_copy(update={"email": "bo@new.example.com"})
    await follower.apply(*record("p-mentee", moved), "t:0@1")
    assert uow.state.contacts["p-mentee"].email == "bo@new.example.com"
    await follower.apply(b"p-other", b"not json", "t:0@2")  # skipped, not fatal
    await follower.apply(b"p-other", record("p-mentee", MENTEE)[1], "t:0@3")  # key and body disagree: skipped
    assert set(uow.state.contacts) == {"p-mentee"}
    await follower.apply(*record("p-mentee", None), "t:0@4")
    assert uow.state.contacts == {}


@pytest.mark.parametrize("event_type", [NotificationSent, NotificationFailed])
def test_notification_events_carry_ids_rule_and_channel_only(event_type):
    allowed = {
        "notification_id",
        "rule",
        "channel",
        "audience",
        "participant_id",
        "program_id",
        "cause_event_id",
        "attempts",
    }
    assert set(event_type.model_fields) - allowed <= {"dead_lettered"}
