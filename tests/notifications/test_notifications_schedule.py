"""The rules of issue #17 without servers: each decided from events (as the directory's runner applies them: the
policy, then the projection) or from the clock (the `remind` scan at fixed instants). Exactly one notification per
cause and recipient, nothing for a pair once it is dissolved or completed, nothing from a rule a program turned
off, and each rule's timing respected."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.insights.domain.metrics import OVERDUE_FACTOR as INSIGHTS_OVERDUE_FACTOR
from services.notifications.adapters.memory import InMemoryDirectory
from services.notifications.domain import rules
from services.notifications.domain.model import Notification, notification_id
from services.notifications.service_layer import directory, handlers
from services.notifications.service_layer import rules as use_cases
from services.notifications.service_layer.unit_of_work import InMemoryNotificationsUnitOfWork
from shared.events import (
    AgreementInForce,
    Event,
    NotificationSettings,
    PairCompleted,
    PairDissolved,
    PairFlagged,
    PairFormed,
    PairProposed,
    ProgramClosed,
    ProgramLaunched,
    ProgramSettingsChanged,
    ProposalAccepted,
    ProposalDeclined,
    SessionHeld,
)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
QUIET = {"agreement_reminder": {"enabled": False}, "admin_digest": {"enabled": False}}  # rules a test is not about


def days(n: float) -> datetime:
    return T0 + timedelta(days=n)


def launched(cadence_days: int = 14, **notifications: Any) -> ProgramLaunched:
    return ProgramLaunched(
        program_id="prog-1",
        title="Digital leaders",
        cadence_days=cadence_days,
        duration_weeks=12,
        notifications=NotificationSettings.model_validate(notifications),
    )


def formed(pair_id: str = "pair-1", mentor: str = "p-mentor", mentee: str = "p-mentee") -> PairFormed:
    return PairFormed(
        program_id="prog-1",
        pair_id=pair_id,
        round_id="round-1",
        mentor_id=mentor,
        mentee_id=mentee,
        score=4.0,
        breakdown={"skills_to_mentee": 3.0, "cross_department": 1.0},
    )


def held(on: date, pair_id: str = "pair-1", session_id: str = "s-1") -> SessionHeld:
    return SessionHeld(
        program_id="prog-1",
        pair_id=pair_id,
        session_id=session_id,
        held_on=on,
        minutes=45,
        learning_direction="both",
        logged_by="p-mentor",
        logged_at=T0,
    )


def proposed(expires_at: datetime) -> PairProposed:
    return PairProposed(
        program_id="prog-1",
        pair_id="pair-1",
        round_id="round-1",
        mentor_id="p-mentor",
        mentee_id="p-mentee",
        score=4.0,
        breakdown={"skills_to_mentee": 3.0},
        engine_version="v1",
        inputs_hash="h",
        acceptance_mode="both",
        expires_at=expires_at,
    )


class World:
    """Notifications' state in memory, fed as the directory's runner feeds it, and scanned as `remind` does."""

    def __init__(self) -> None:
        self.uow = InMemoryNotificationsUnitOfWork()
        self.directory = InMemoryDirectory(self.uow.state)
        self.applied = 0

    async def apply(self, event: Event, at: datetime, event_id: str | None = None) -> str:
        self.applied += 1
        event_id = event_id or f"event-{self.applied}"
        match event:  # the policy first, on the state before the event (shared/projection.py)
            case PairProposed():
                await use_cases.propose(self.uow, event, event_id, at)
            case PairFormed():
                await handlers.introduce(self.uow, event, event_id, at)
            case SessionHeld():
                await handlers.prompt_feedback(self.uow, event, event_id, at)
            case ProgramClosed():
                await use_cases.program_closed(self.uow, event, event_id, at)
            case PairCompleted():
                await use_cases.pair_completed(self.uow, event, event_id, at)
        if isinstance(event, tuple(directory.DIRECTORY_EVENTS)):
            await directory.apply(self.directory, event, event_id, at)
        return event_id

    async def scan(self, at: datetime) -> list[Notification]:
        """What one `remind` run recorded at `at`."""
        before = set(self.uow.state.notifications)
        await use_cases.remind(self.uow, at)
        return [n for i, n in self.uow.state.notifications.items() if i not in before]

    def of(self, rule: str) -> list[Notification]:
        return [n for n in self.uow.state.notifications.values() if n.rule == rule]


async def a_pair(world: World | None = None, cadence_days: int = 14, **notifications: Any) -> World:
    world = world or World()
    await world.apply(launched(cadence_days, **{**QUIET, **notifications}), T0 - timedelta(days=1))
    await world.apply(formed(), T0)
    return world


def recipients(notifications: list[Notification]) -> list[str | None]:
    return sorted((n.participant_id for n in notifications), key=str)


def test_at_risk_is_the_definition_insights_uses():
    assert rules.OVERDUE_FACTOR == INSIGHTS_OVERDUE_FACTOR


async def test_a_session_is_due_once_per_due_date_by_the_programs_cadence_then_the_agreed_one():
    world = await a_pair()
    assert await world.scan(days(13.6)) == []  # whole UTC days: due from 00:00 on day 14
    due = await world.scan(days(14))
    assert [n.rule for n in due] == ["session-due", "session-due"]
    assert recipients(due) == ["p-mentee", "p-mentor"]
    assert {n.cause_event_id for n in due} == {"pair-1/session-due/2026-11-16"}
    assert all(n.context["partner_id"] in ("p-mentor", "p-mentee") and n.context["due_on"] == "2026-11-16" for n in due)
    assert await world.scan(days(14.5)) == [] and await world.scan(days(20)) == []  # the same due date: no more
    # A session on day 16 under an agreement of 7 days: the next is due on day 23, once.
    await world.apply(held(days(16).date()), days(16))
    await world.apply(AgreementInForce(**_agreement(7)), days(16))
    assert await world.scan(days(22)) == []
    again = await world.scan(days(23))
    assert [n.context["due_on"] for n in again] == ["2026-11-25", "2026-11-25"]
    assert len(world.of("session-due")) == 4


def _agreement(cadence_days: int) -> dict[str, Any]:
    return {
        "program_id": "prog-1",
        "pair_id": "pair-1",
        "agreement_version": 1,
        "cadence_days": cadence_days,
        "duration_weeks": 12,
        "ends_on": date(2027, 3, 1),
    }


async def test_an_idle_pair_is_nudged_once_then_escalated_to_the_admins_once_after_the_set_time():
    world = await a_pair(at_risk_escalation={"after_days": 5})
    # Cadence 14: at risk after more than 21 whole days without a session, i.e. from day 22.
    assert [n.rule for n in await world.scan(days(21))] == ["session-due", "session-due"]
    nudges = await world.scan(days(22))
    assert [n.rule for n in nudges] == ["at-risk-nudge", "at-risk-nudge"]
    assert recipients(nudges) == ["p-mentee", "p-mentor"]
    assert all(n.context["reason"] == "no_recent_session" for n in nudges)
    assert await world.scan(days(26.9)) == []  # 5 days after the nudge not yet passed
    [escalation] = await world.scan(days(27))
    assert (escalation.rule, escalation.audience, escalation.participant_id) == (
        "at-risk-escalation",
        "program-admins",
        None,
    )
    assert escalation.notification_id == notification_id("pair-1/at-risk/2026-11-02", "at-risk-escalation", None)
    assert escalation.context == {
        "pair_id": "pair-1",
        "reason": "no_recent_session",
        "at_risk_since": "2026-11-24",
        "nudged_on": "2026-11-24",
    }
    assert await world.scan(days(40)) == [] and await world.scan(days(60)) == []
    assert len(world.of("at-risk-nudge")) == 2 and len(world.of("at-risk-escalation")) == 1


async def test_a_session_after_the_nudge_is_a_change_no_escalation_follows():
    world = await a_pair(at_risk_escalation={"after_days": 5})
    await world.scan(days(22))
    await world.apply(held(days(24).date()), days(24))
    assert [n.rule for n in await world.scan(days(30))] == []  # next due on day 38; no escalation
    assert world.of("at-risk-escalation") == []


async def test_the_escalation_waits_for_the_nudge_it_counts_from():
    world = await a_pair(at_risk_escalation={"after_days": 1})
    # The clock jumps far past the threshold: the nudges are recorded now, the escalation a day later.
    assert {n.rule for n in await world.scan(days(60))} == {"session-due", "at-risk-nudge"}
    assert await world.scan(days(60.9)) == []
    assert [n.rule for n in await world.scan(days(61))] == ["at-risk-escalation"]


async def test_with_nudges_off_the_escalation_counts_from_when_the_pair_became_at_risk():
    world = await a_pair(at_risk_nudge={"enabled": False}, at_risk_escalation={"after_days": 2})
    assert {n.rule for n in await world.scan(days(23.6))} == {"session-due"}  # at risk from 00:00, Nov 24
    assert [n.rule for n in await world.scan(days(24))] == ["at-risk-escalation"]
    assert world.of("at-risk-nudge") == []


async def test_a_flagged_pair_is_nudged_at_once_and_escalated_if_no_session_follows():
    world = await a_pair(at_risk_escalation={"after_days": 3})
    flag = await world.apply(
        PairFlagged(program_id="prog-1", pair_id="pair-1", rule="reporting_line", reason="reporting line"), days(2)
    )
    nudges = await world.scan(days(2))
    assert [(n.rule, n.context["reason"], n.cause_event_id) for n in nudges] == [
        ("at-risk-nudge", "flagged", f"pair-1/flagged/{flag}")
    ] * 2
    assert [n.rule for n in await world.scan(days(5))] == ["at-risk-escalation"]


@pytest.mark.parametrize(
    "end",
    [
        PairDissolved(program_id="prog-1", pair_id="pair-1", reason="-", reason_code="no_time"),
        PairCompleted(program_id="prog-1", pair_id="pair-1", completed_by="members", completed_on=date(2026, 11, 5)),
    ],
)
async def test_a_dissolved_or_completed_pair_gets_no_more_reminders_or_nudges(end):
    world = await a_pair(agreement_reminder={"enabled": True, "after_days": 1})
    await world.scan(days(15))  # a session due, an agreement reminder: recorded before the end
    recorded = len(world.uow.state.notifications)
    await world.apply(end, days(16))
    completions = len(world.of("completion"))
    for day in (22, 30, 45, 90, 200):
        assert await world.scan(days(day)) == []
    assert len(world.uow.state.notifications) == recorded + completions


async def test_a_rule_turned_off_records_nothing():
    world = await a_pair(
        session_due={"enabled": False},
        at_risk_nudge={"enabled": False},
        at_risk_escalation={"enabled": False},
        introduction={"enabled": False},
        feedback_prompt={"enabled": False},
    )
    await world.apply(held(days(1).date()), days(1))
    for day in (15, 30, 60, 120):
        assert await world.scan(days(day)) == []
    assert world.uow.state.notifications == {}


async def test_settings_changed_later_take_effect_and_an_older_version_arriving_late_is_ignored():
    world = await a_pair()
    change = {"program_id": "prog-1", "title": "Digital leaders", "cadence_days": 14, "duration_weeks": 12}
    off = NotificationSettings.model_validate({**QUIET, "session_due": {"enabled": False}})
    await world.apply(
        ProgramSettingsChanged(**change, notifications=off, settings_version=3, consent_version=1), days(1)
    )
    await world.apply(ProgramSettingsChanged(**change, settings_version=2, consent_version=1), days(1))
    assert await world.scan(days(15)) == []
    assert world.uow.state.programs["prog-1"].notifications.session_due.enabled is False


async def test_the_agreement_reminder_comes_after_its_days_once_and_not_once_an_agreement_is_in_force():
    world = await a_pair(agreement_reminder={"enabled": True, "after_days": 3})
    assert await world.scan(days(2.9)) == []
    reminded = await world.scan(days(3))
    assert [n.rule for n in reminded] == ["agreement-reminder"] * 2 and recipients(reminded) == ["p-mentee", "p-mentor"]
    assert await world.scan(days(4)) == []
    other = await a_pair(agreement_reminder={"enabled": True, "after_days": 3})
    await other.apply(AgreementInForce(**_agreement(14)), days(2))
    assert await other.scan(days(5)) == []


async def test_a_proposal_asks_both_members_once_and_reminds_only_who_has_not_accepted_before_it_expires():
    world = World()
    await world.apply(launched(**QUIET, acceptance_reminder={"after_hours": 24}), T0 - timedelta(days=1))
    event = proposed(expires_at=T0 + timedelta(hours=72))
    cause = await world.apply(event, T0)
    await world.apply(event, T0, event_id=cause)  # redelivered: nothing new
    asked = world.of("proposal")
    assert recipients(asked) == ["p-mentee", "p-mentor"]
    assert all(n.context["breakdown"] == {"skills_to_mentee": 3.0} and "expires_at" in n.context for n in asked)
    await world.apply(ProposalAccepted(program_id="prog-1", pair_id="pair-1", participant_id="p-mentor"), T0)
    assert await world.scan(T0 + timedelta(hours=23)) == []
    reminded = await world.scan(T0 + timedelta(hours=24))
    assert [(n.rule, n.participant_id) for n in reminded] == [("acceptance-reminder", "p-mentee")]
    assert await world.scan(T0 + timedelta(hours=48)) == []


async def test_no_acceptance_reminder_after_a_decline_or_past_the_expiry():
    world = World()
    await world.apply(launched(**QUIET, acceptance_reminder={"after_hours": 24}), T0 - timedelta(days=1))
    await world.apply(proposed(expires_at=T0 + timedelta(hours=12)), T0)
    assert await world.scan(T0 + timedelta(hours=30)) == []  # expired before the reminder was due
    declined = World()
    await declined.apply(launched(**QUIET, acceptance_reminder={"after_hours": 24}), T0 - timedelta(days=1))
    await declined.apply(proposed(expires_at=T0 + timedelta(hours=72)), T0)
    await declined.apply(ProposalDeclined(program_id="prog-1", pair_id="pair-1", participant_id="p-mentee"), T0)
    assert await declined.scan(T0 + timedelta(hours=30)) == []


async def test_a_proposal_turned_off_asks_nobody():
    world = World()
    await world.apply(launched(**QUIET, proposal={"enabled": False}), T0 - timedelta(days=1))
    await world.apply(proposed(expires_at=T0 + timedelta(hours=72)), T0)
    assert world.of("proposal") == []


async def test_the_program_ending_tells_each_member_of_an_active_pair_once():
    world = await a_pair()
    await world.apply(formed("pair-2", mentor="p-mentor", mentee="p-other"), T0)  # a mentor of two pairs
    await world.apply(formed("pair-3", mentor="p-gone", mentee="p-left"), T0)
    await world.apply(PairDissolved(program_id="prog-1", pair_id="pair-3", reason="-"), days(1))
    closed = ProgramClosed(program_id="prog-1", closed_at=days(2))
    cause = await world.apply(closed, days(2))
    await world.apply(closed, days(2), event_id=cause)
    ended = world.of("program-ended")
    assert recipients(ended) == ["p-mentee", "p-mentor", "p-other"]
    assert {n.cause_event_id for n in ended} == {cause}


async def test_a_completed_pair_hears_it_with_where_the_certificate_is():
    world = await a_pair()
    done = PairCompleted(program_id="prog-1", pair_id="pair-1", completed_by="schedule", completed_on=date(2027, 1, 25))
    await world.apply(done, days(84))
    completed = world.of("completion")
    assert recipients(completed) == ["p-mentee", "p-mentor"]
    assert all(n.context["certificates_path"] == "/enrolment/v1/me/certificates" for n in completed)
    assert all(n.context["completed_on"] == "2027-01-25" for n in completed)


async def test_the_admin_digest_goes_weekly_on_its_day_and_hour_with_counts_only():
    world = World()
    await world.apply(
        launched(agreement_reminder={"enabled": False}, admin_digest={"weekday": 3, "hour_utc": 7}),
        T0 - timedelta(days=30),
    )
    await world.apply(formed("pair-old", "p-a", "p-b"), T0 - timedelta(days=30))  # at risk by now
    await world.apply(formed("pair-1"), T0 - timedelta(days=2))  # new
    await world.apply(formed("pair-due", "p-c", "p-d"), T0 - timedelta(days=16))  # a session due: stalled
    await world.apply(formed("pair-done", "p-e", "p-f"), T0 - timedelta(days=20))
    await world.apply(
        PairCompleted(program_id="prog-1", pair_id="pair-done", completed_by="admin", completed_on=T0.date()), T0
    )
    wednesday = datetime(2026, 11, 4, 7, 0, tzinfo=UTC)
    assert [n for n in await world.scan(wednesday - timedelta(minutes=1)) if n.rule == "admin-digest"] == []
    [digest] = [n for n in await world.scan(wednesday) if n.rule == "admin-digest"]
    assert (digest.audience, digest.participant_id, digest.cause_event_id) == (
        "program-admins",
        None,
        "prog-1/admin-digest/2026-W45",
    )
    assert digest.context == {
        "week": "2026-W45",
        "counts": {"new": 1, "stalled": 1, "at_risk": 1, "completed": 1, "active": 3, "waiting_proposals": 0},
    }
    assert [n for n in await world.scan(wednesday + timedelta(days=4)) if n.rule == "admin-digest"] == []
    [next_week] = [n for n in await world.scan(wednesday + timedelta(days=7)) if n.rule == "admin-digest"]
    assert next_week.cause_event_id == "prog-1/admin-digest/2026-W46"


async def test_a_program_whose_first_pairs_formed_after_this_weeks_slot_gets_its_first_digest_next_week():
    world = World()
    await world.apply(launched(agreement_reminder={"enabled": False}), T0)  # digest: Mondays 08:00 UTC
    await world.apply(formed(), T0)  # Monday 09:00
    assert [n for n in await world.scan(T0 + timedelta(hours=1)) if n.rule == "admin-digest"] == []
    [first] = [n for n in await world.scan(days(7)) if n.rule == "admin-digest"]
    assert first.context["counts"]["new"] == 1


async def test_introductions_turned_off_still_prompt_feedback_for_sessions_that_waited():
    world = World()
    await world.apply(launched(**QUIET, introduction={"enabled": False}), T0 - timedelta(days=1))
    await world.apply(held(T0.date()), T0)  # before its pair is known
    await world.apply(formed(), T0)
    assert world.of("introduction") == [] and len(world.of("feedback-prompt")) == 2


async def test_a_rescan_by_a_second_replica_records_nothing_twice():
    world = await a_pair(at_risk_escalation={"after_days": 1})
    first = await use_cases.remind(world.uow, days(30))
    assert first == 4  # two session-due, two nudges
    assert await use_cases.remind(world.uow, days(30)) == 0
