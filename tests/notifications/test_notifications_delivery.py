"""Delivery without servers (issue #17): routing by audience, program destinations and personal preferences; the
Slack, Teams and signed-webhook payloads; the signature as docs/webhooks.md tells receivers to check it; quiet
hours across time zones and midnight; daily digests; unsubscribe links and their tokens."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage

import pytest

from services.notifications.adapters import webhooks
from services.notifications.adapters.delivery import ChannelDelivery
from services.notifications.adapters.messages import Rendered, Sender
from services.notifications.adapters.unsubscribe import UnsubscribeLinks
from services.notifications.domain import model, preferences
from services.notifications.domain.channels import ChannelsChange, ProgramChannels, mask
from services.notifications.domain.preferences import Batch, Defer, Preferences, Send, Suppress
from services.notifications.service_layer import handlers
from services.notifications.service_layer.unit_of_work import InMemoryNotificationsUnitOfWork
from shared.contacts import ContactDetails
from shared.errors import Invalid
from shared.events import NotificationFailed, NotificationSent, NotificationSuppressed, PairFormed

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PAIR = PairFormed(
    program_id="prog-1",
    pair_id="pair-1",
    round_id="round-1",
    mentor_id="p-mentor",
    mentee_id="p-mentee",
    score=4.5,
    breakdown={"skills_to_mentee": 3.0},
)
MENTOR = ContactDetails(participant_id="p-mentor", display_name="Ada", email="ada@example.com", time_zone="UTC")
MENTEE = ContactDetails(participant_id="p-mentee", display_name="Bo", email="bo@example.com", time_zone="UTC")
PROGRAM = model.ProgramFacts("prog-1", "Digital leaders", cadence_days=14, duration_weeks=12)
RETRIES = handlers.Retries(max_attempts=3, retry_after=timedelta(minutes=1))
SENDER = Sender("Tandem <t@tandem.test>", "tandem.test")
LINKS = UnsubscribeLinks("k" * 40, "https://tandem.test/notifications/v1")
SECRET = "whsec_test-secret"
CHANNELS = ProgramChannels(
    "prog-1",
    admin_emails=("hr-team@example.com", "mentoring@example.com"),
    slack_url="https://hooks.slack.test/T/B/x",
    teams_url="https://teams.test/webhook/y",
    webhook_url="https://hr.example.com/tandem",
    webhook_secret=SECRET,
)


class RecordingMailer:
    def __init__(self):
        self.sent: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        self.sent.append(message)


class RecordingPoster(webhooks.Poster):
    def __init__(self, failures: int = 0):
        self.posts: list[tuple[str, bytes, dict[str, str]]] = []
        self.failures = failures

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        self.posts.append((url, body, headers))
        if self.failures:
            self.failures -= 1
            raise webhooks.WebhookRefused(500)


def world(channels: ProgramChannels | None = CHANNELS) -> InMemoryNotificationsUnitOfWork:
    uow = InMemoryNotificationsUnitOfWork()
    uow.state.contacts.update({MENTOR.participant_id: MENTOR, MENTEE.participant_id: MENTEE})
    uow.state.programs[PROGRAM.program_id] = PROGRAM
    if channels:
        uow.state.channels[channels.program_id] = channels
    return uow


def delivery(mailer: RecordingMailer, poster: RecordingPoster, admin_mailbox: str = "") -> ChannelDelivery:
    return ChannelDelivery(mailer, SENDER, admin_mailbox, poster=poster, links=LINKS)


class AdminDelivery(ChannelDelivery):
    """Routing of admin notifications, whatever their rule's words (the rules and their templates are tested with
    the rules)."""

    def _render(self, notification, facts, now) -> Rendered:
        return Rendered(subject="A pair is at risk", text="Have a look.", html="<p>Have a look.</p>")


def admin_delivery(mailer: RecordingMailer, poster: RecordingPoster, admin_mailbox: str = "") -> ChannelDelivery:
    return AdminDelivery(mailer, SENDER, admin_mailbox, poster=poster, links=LINKS)


def record(uow: InMemoryNotificationsUnitOfWork, *notifications: model.Notification) -> None:
    uow.state.notifications.update({n.notification_id: n for n in notifications})


async def events(uow: InMemoryNotificationsUnitOfWork, event_type: type) -> list:
    found = await uow.store.read_after(0)
    return [event_type.model_validate(s.data) for s in found if s.type == event_type.type_name]


def escalation(at: datetime = NOW) -> model.Notification:
    return model.Notification(
        notification_id=model.notification_id("cause-9", "at-risk-escalation", None),
        rule="at-risk-escalation",
        cause_event_id="cause-9",
        participant_id=None,
        program_id="prog-1",
        channel="email",
        next_attempt_at=at,
        audience="program-admins",
    )


# Routing


async def test_a_participant_who_chose_the_webhook_gets_a_signed_post_naming_them_and_the_event_says_webhook():
    uow, mailer, poster = world(), RecordingMailer(), RecordingPoster()
    uow.state.preferences["p-mentor"] = Preferences("p-mentor", channel="webhook")
    await handlers.introduce(uow, PAIR, "event-1", NOW)
    assert await handlers.send_due(uow, delivery(mailer, poster), NOW, RETRIES, 10) == 2
    (url, raw, headers), mentee_mail = poster.posts[0], mailer.sent[0]
    assert url == CHANNELS.webhook_url and mentee_mail["To"] == "Bo <bo@example.com>"
    body = json.loads(raw)
    mentor_intro = model.notification_id("event-1", "introduction", "p-mentor")
    assert headers["Idempotency-Key"] == body["notification_id"] == mentor_intro
    assert body["recipient"] == {"name": "Ada", "email": "ada@example.com"}
    assert (body["rule"], body["audience"], body["program_id"], body["participant_id"]) == (
        "introduction",
        "participant",
        "prog-1",
        "p-mentor",
    )
    assert "Bo" in body["subject"] and body["text"]
    assert webhooks.verify(SECRET, headers["Tandem-Timestamp"], headers["Tandem-Signature"], raw, NOW.timestamp())
    sent = {e.participant_id: e.channel for e in await events(uow, NotificationSent)}
    assert sent == {"p-mentor": "webhook", "p-mentee": "email"}
    assert uow.state.notifications[mentor_intro].channel == "webhook"


async def test_a_chat_channel_the_program_has_not_configured_falls_back_to_e_mail():
    uow, mailer, poster = world(replace(CHANNELS, slack_url=None)), RecordingMailer(), RecordingPoster()
    uow.state.preferences["p-mentor"] = Preferences("p-mentor", channel="slack")
    uow.state.preferences["p-mentee"] = Preferences("p-mentee", channel="teams")
    await handlers.introduce(uow, PAIR, "event-1", NOW)
    await handlers.send_due(uow, delivery(mailer, poster), NOW, RETRIES, 10)
    assert [m["To"] for m in mailer.sent] == ["Ada <ada@example.com>"]
    ((url, raw, _),) = poster.posts
    assert url == CHANNELS.teams_url and "For Bo:" in raw.decode()


async def test_admin_notifications_go_to_every_configured_destination_and_fall_back_to_the_mailbox():
    uow, mailer, poster = world(), RecordingMailer(), RecordingPoster()
    record(uow, escalation())
    await handlers.send_due(uow, admin_delivery(mailer, poster, "fallback@example.com"), NOW, RETRIES, 10)
    (message,) = mailer.sent
    assert "hr-team@example.com" in message["To"] and "mentoring@example.com" in message["To"]
    assert "fallback@" not in message["To"] and "List-Unsubscribe" not in message
    assert sorted(url for url, _, _ in poster.posts) == sorted([CHANNELS.slack_url, CHANNELS.teams_url])
    assert [e.channel for e in await events(uow, NotificationSent)] == ["email"]

    bare, mailer, poster = world(channels=None), RecordingMailer(), RecordingPoster()
    record(bare, escalation())
    await handlers.send_due(bare, admin_delivery(mailer, poster, "fallback@example.com"), NOW, RETRIES, 10)
    assert [m["To"] for m in mailer.sent] == ["Digital leaders admins <fallback@example.com>"] and not poster.posts

    chat_only = world(ProgramChannels("prog-1", slack_url="https://hooks.slack.test/only"))
    mailer, poster = RecordingMailer(), RecordingPoster()
    record(chat_only, escalation())
    await handlers.send_due(chat_only, admin_delivery(mailer, poster, "fallback@example.com"), NOW, RETRIES, 10)
    assert not mailer.sent and [url for url, _, _ in poster.posts] == ["https://hooks.slack.test/only"]
    assert [e.channel for e in await events(chat_only, NotificationSent)] == ["slack"]


async def test_no_admin_destination_at_all_is_a_failed_attempt():
    uow, mailer, poster = world(channels=None), RecordingMailer(), RecordingPoster()
    record(uow, escalation())
    await handlers.send_due(uow, admin_delivery(mailer, poster), NOW, RETRIES, 10)
    (failed,) = await events(uow, NotificationFailed)
    assert failed.attempts == 1 and uow.state.notifications[escalation().notification_id].last_error == "NoDestination"


async def test_a_receiver_answering_500_fails_the_attempt_by_class_and_the_retry_carries_the_same_key():
    uow, mailer, poster = world(), RecordingMailer(), RecordingPoster(failures=1)
    uow.state.preferences["p-mentor"] = Preferences("p-mentor", channel="webhook")
    await handlers.introduce(uow, PAIR, "event-1", NOW)
    await handlers.send_due(uow, delivery(mailer, poster), NOW, RETRIES, 10)
    intro = uow.state.notifications[model.notification_id("event-1", "introduction", "p-mentor")]
    assert (intro.status, intro.attempts, intro.last_error) == ("pending", 1, "WebhookRefused 500")
    await handlers.send_due(uow, delivery(mailer, poster), NOW + timedelta(minutes=1), RETRIES, 10)
    keys = [h["Idempotency-Key"] for _, _, h in poster.posts]
    assert keys == [intro.notification_id, intro.notification_id]
    assert uow.state.notifications[intro.notification_id].status == "sent"
    (failed,) = await events(uow, NotificationFailed)
    assert failed.channel == "webhook" and not failed.dead_lettered


# Payloads and signatures


def test_slack_and_teams_payloads_have_their_documented_shapes():
    r = Rendered(subject="Meet your Tandem partner, Bo", text="Hello Ada", html="<p>Hello</p>")
    slack = webhooks.slack(r, MENTOR)
    assert slack["text"] == "For Ada: Meet your Tandem partner, Bo"
    assert [b["type"] for b in slack["blocks"]] == ["header", "section"]
    assert slack["blocks"][1]["text"] == {"type": "mrkdwn", "text": "Hello Ada"}
    teams = webhooks.teams(r, None)
    (attachment,) = teams["attachments"]
    assert teams["type"] == "message" and attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and [b["text"] for b in card["body"]] == [r.subject, r.text]


def test_a_signature_verifies_and_a_tampered_body_an_old_timestamp_or_another_secret_do_not():
    raw = b'{"notification_id":"n-1","text":"hello"}'
    headers = webhooks.headers(escalation(), NOW, SECRET, raw)
    ts, sig = headers["Tandem-Timestamp"], headers["Tandem-Signature"]
    assert ts == str(int(NOW.timestamp())) and sig.startswith("v1=") and len(sig) == 3 + 64
    assert webhooks.verify(SECRET, ts, sig, raw, NOW.timestamp() + 299)
    assert not webhooks.verify(SECRET, ts, sig, raw.replace(b"hello", b"hellO"), NOW.timestamp())
    assert not webhooks.verify(SECRET, ts, sig, raw, NOW.timestamp() + 301)  # replayed later than the tolerance
    assert not webhooks.verify("whsec_other", ts, sig, raw, NOW.timestamp())
    assert not webhooks.verify(SECRET, str(int(ts) + 1), sig, raw, NOW.timestamp())  # the timestamp is signed
    # The scheme in docs/webhooks.md, written out independently of the adapter:
    expected = hmac.new(SECRET.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
    assert sig == f"v1={expected}"


def test_channels_urls_need_https_except_locally_and_a_webhook_gets_a_secret_once():
    before = ProgramChannels("prog-1")
    with pytest.raises(Invalid) as refused:
        before.changed(**ChannelsChange("prog-1", slack_url="http://hooks.slack.test/x").values())
    assert refused.value.field == "slack_url"
    change = ChannelsChange("prog-1", webhook_url="http://127.0.0.1:9000/hook")
    after, secret = before.changed(**change.values())
    assert secret and after.webhook_secret == secret
    same, none = after.changed(**change.values())
    assert none is None and same.webhook_secret == secret  # kept until rotated
    rotated, new = same.changed(**replace(change, rotate_secret=True).values())
    assert new and new != secret and rotated.webhook_secret == new
    assert mask("https://hooks.slack.test/T000/B000/abcdefgh") == "https://hooks.slack.test/…efgh"
    assert after.configured() == ["webhook"]


# Quiet hours and digests


def quiet(start: time, end: time, **more) -> Preferences:
    return Preferences("p", quiet_start=start, quiet_end=end, **more)


@pytest.mark.parametrize(
    ("zone", "now_utc", "expected"),
    [
        # Auckland (UTC+13 in November): 09:00 UTC is 22:00 local, quiet until 07:00 local next day = 18:00 UTC.
        ("Pacific/Auckland", datetime(2026, 11, 2, 9, 0, tzinfo=UTC), datetime(2026, 11, 2, 18, 0, tzinfo=UTC)),
        # Los Angeles (UTC-8): 09:00 UTC is 01:00 local, after midnight: quiet until 07:00 local today = 15:00 UTC.
        ("America/Los_Angeles", datetime(2026, 11, 2, 9, 0, tzinfo=UTC), datetime(2026, 11, 2, 15, 0, tzinfo=UTC)),
        # Berlin (UTC+1): 09:00 UTC is 10:00 local: not quiet.
        ("Europe/Berlin", datetime(2026, 11, 2, 9, 0, tzinfo=UTC), None),
        # The night clocks go back in Berlin: 23:00 CEST, quiet until 07:00 CET, nine hours later (06:00 UTC).
        ("Europe/Berlin", datetime(2026, 10, 24, 21, 0, tzinfo=UTC), datetime(2026, 10, 25, 6, 0, tzinfo=UTC)),
        # Exactly at the end: not quiet any more (the interval is half-open).
        ("UTC", datetime(2026, 11, 2, 7, 0, tzinfo=UTC), None),
        ("UTC", datetime(2026, 11, 2, 22, 0, tzinfo=UTC), datetime(2026, 11, 3, 7, 0, tzinfo=UTC)),
    ],
)
def test_quiet_hours_across_midnight_in_the_persons_time_zone(zone, now_utc, expected):
    until = preferences.quiet_until(quiet(time(22), time(7)), preferences.zone(zone), now_utc)
    assert until == expected


def test_quiet_hours_within_a_day_and_none_when_start_equals_end():
    lunch = quiet(time(12), time(13))
    tz = preferences.zone("Europe/Berlin")
    assert preferences.quiet_until(lunch, tz, datetime(2026, 11, 2, 11, 30, tzinfo=UTC)) == datetime(
        2026, 11, 2, 12, 0, tzinfo=UTC
    )
    assert preferences.quiet_until(lunch, tz, datetime(2026, 11, 2, 12, 0, tzinfo=UTC)) is None
    assert preferences.quiet_until(quiet(time(9), time(9)), tz, NOW) is None
    assert preferences.zone("Not/AZone").key == "UTC"


def test_hold_decides_send_defer_batch_or_suppress():
    tz = preferences.zone("UTC")
    assert preferences.hold("feedback-prompt", None, tz, NOW, 8) == Send()
    assert preferences.hold("feedback-prompt", Preferences("p", unsubscribed=True), tz, NOW, 8) == Suppress()
    assert preferences.hold("introduction", Preferences("p", unsubscribed=True), tz, NOW, 8) == Suppress()
    assert preferences.hold("feedback-prompt", quiet(time(8), time(10)), tz, NOW, 8) == Defer(
        datetime(2026, 11, 2, 10, tzinfo=UTC)
    )
    digest = Preferences("p", delivery="daily-digest")
    # 09:00 is past today's 08:00 digest: tomorrow's. The introduction is never batched (it carries the invitation).
    assert preferences.hold("feedback-prompt", digest, tz, NOW, 8) == Batch(
        datetime(2026, 11, 3, 8, tzinfo=UTC), NOW.date() + timedelta(days=1)
    )
    assert preferences.hold("feedback-prompt", digest, tz, NOW, 17) == Batch(
        datetime(2026, 11, 2, 17, tzinfo=UTC), NOW.date()
    )
    assert preferences.hold("introduction", digest, tz, NOW, 8) == Send()


async def test_a_notification_due_in_quiet_hours_waits_for_their_end_without_an_attempt():
    uow, mailer, poster = world(), RecordingMailer(), RecordingPoster()
    uow.state.contacts["p-mentor"] = MENTOR.model_copy(update={"time_zone": "Pacific/Auckland"})  # 09:00 UTC: 22:00
    uow.state.preferences["p-mentor"] = Preferences("p-mentor", quiet_start=time(21), quiet_end=time(7))
    await handlers.introduce(uow, PAIR, "event-1", NOW)
    await handlers.send_due(uow, delivery(mailer, poster), NOW, RETRIES, 10)
    intro = uow.state.notifications[model.notification_id("event-1", "introduction", "p-mentor")]
    end = datetime(2026, 11, 2, 18, tzinfo=UTC)  # 07:00 in Auckland
    assert (intro.status, intro.attempts, intro.next_attempt_at) == ("pending", 0, end)
    assert [m["To"] for m in mailer.sent] == ["Bo <bo@example.com>"]
    assert [e.participant_id for e in await events(uow, NotificationFailed)] == []
    await handlers.send_due(uow, delivery(mailer, poster), datetime(2026, 11, 2, 18, tzinfo=UTC), RETRIES, 10)
    assert [m["To"] for m in mailer.sent][-1] == "Ada <ada@example.com>"


async def test_a_digest_person_gets_the_days_notifications_in_one_message_at_the_digest_hour():
    uow, mailer, poster = world(), RecordingMailer(), RecordingPoster()
    uow.state.contacts["p-mentor"] = MENTOR.model_copy(update={"time_zone": "America/New_York"})  # UTC-5 in November
    uow.state.preferences["p-mentor"] = Preferences("p-mentor", delivery="daily-digest")
    pair = model.PairMembers("pair-1", "prog-1", "p-mentor", "p-mentee")
    morning = datetime(2026, 11, 2, 6, tzinfo=UTC)  # 01:00 in New York: today's 08:00 digest (13:00 UTC)
    for cause in ("s-1", "s-2"):
        record(uow, *model.feedback_prompts(cause_event_id=cause, pair=pair, held_on=morning.date(), now=morning))
    await handlers.send_due(uow, delivery(mailer, poster), morning, RETRIES, 10)
    assert sorted(m["To"] for m in mailer.sent) == ["Bo <bo@example.com>"] * 2  # the mentee wants them at once
    digested = [n for n in uow.state.notifications.values() if n.status == "digested"]
    (digest_id,) = {n.digest_id for n in digested}
    assert len(digested) == 2
    digest = uow.state.notifications[digest_id]
    assert (digest.rule, digest.participant_id, digest.next_attempt_at) == (
        "daily-digest",
        "p-mentor",
        datetime(2026, 11, 2, 13, tzinfo=UTC),
    )
    digest_hour = datetime(2026, 11, 2, 13, tzinfo=UTC)
    assert await handlers.send_due(uow, delivery(mailer, poster), digest_hour - timedelta(minutes=1), RETRIES, 10) == 0
    await handlers.send_due(uow, delivery(mailer, poster), digest_hour, RETRIES, 10)
    message = mailer.sent[-1]
    assert message["To"] == "Ada <ada@example.com>" and message["Subject"].endswith(": 2 updates")
    text = message.get_body(("plain",)).get_content()
    assert text.count("How did your session with Bo go?") == 2
    sent = await events(uow, NotificationSent)
    assert [e.rule for e in sent if e.participant_id == "p-mentor"] == ["daily-digest"]


# Unsubscribe


def test_an_unsubscribe_token_names_its_participant_and_a_forged_or_altered_one_names_nobody():
    token = LINKS.token("p-mentor")
    assert LINKS.participant(token) == "p-mentor"
    assert UnsubscribeLinks("o" * 40, LINKS.public_url).participant(token) is None
    head, body, sig = token.split(".")
    assert LINKS.participant(f"{head}.{body}.{sig[:-2]}AA") is None
    assert LINKS.participant("not-a-token") is None
    assert LINKS.url("p-mentor").startswith("https://tandem.test/notifications/v1/unsubscribe?token=")


async def test_participant_e_mail_carries_one_click_unsubscribe_headers_and_footer_links():
    uow, mailer, poster = world(), RecordingMailer(), RecordingPoster()
    await handlers.introduce(uow, PAIR, "event-1", NOW)
    await handlers.send_due(uow, delivery(mailer, poster), NOW, RETRIES, 10)
    for message in mailer.sent:
        participant = "p-mentor" if "ada@" in message["To"] else "p-mentee"
        link = LINKS.url(participant)
        assert message["List-Unsubscribe"] == f"<{link}>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert link in message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert link.replace("&", "&amp;") in html and html.index("unsubscribe") < html.index("</body>")
        assert any(p.get_content_type() == "text/calendar" for p in message.walk())


async def test_an_unsubscribed_person_is_sent_nothing_and_auditors_see_why():
    uow, mailer, poster = world(), RecordingMailer(), RecordingPoster()
    await handlers.unsubscribe(uow, "p-mentor")
    await handlers.unsubscribe(uow, "p-mentor")  # a second click changes nothing
    await handlers.introduce(uow, PAIR, "event-1", NOW)
    await handlers.send_due(uow, delivery(mailer, poster), NOW, RETRIES, 10)
    assert [m["To"] for m in mailer.sent] == ["Bo <bo@example.com>"]
    (suppressed,) = await events(uow, NotificationSuppressed)
    assert (suppressed.participant_id, suppressed.rule) == ("p-mentor", "introduction")
    assert suppressed.reason == "unsubscribed"
    assert uow.state.notifications[suppressed.notification_id].status == "suppressed"
    assert await handlers.send_due(uow, delivery(mailer, poster), NOW + timedelta(days=3), RETRIES, 10) == 0
