"""What each rule says, and when (issue #17): pure decisions over the directory's state and a time.

Event-driven rules (proposal, program-ended, completion; introduction and feedback-prompt are in `model`) are
decided when their event is applied. Clock-driven rules (acceptance- and agreement-reminder, session-due, the
at-risk nudge and its escalation, the admin digest) are decided by a scan at `now`: each names its cause by a
stable key (`<pair id>/session-due/<due date>`, ...), so however often the scan runs, and on however many
replicas, a cause gives one notification per recipient. A program whose settings turn a rule off gets none of
it; a pair dissolved or completed gets no more reminders or nudges.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from services.notifications.domain.model import Notification, PairMembers, ProgramFacts, _for, notification_id
from shared.events import NotificationRule

# The same definition as insights (services/insights/domain/metrics.py OVERDUE_FACTOR; a test keeps them equal):
# a pair is at risk after more than 1.5 x its cadence in whole UTC days without a session.
OVERDUE_FACTOR = 1.5
DIGEST_WINDOW = timedelta(days=7)
CERTIFICATES_PATH = "/enrolment/v1/me/certificates"  # the person's certificates; each PDF at .../certificates/{id}.pdf

PairStatus = Literal["active", "dissolved", "completed"]


@dataclass(frozen=True)
class PairState(PairMembers):
    """A pair as the directory knows it: its members, when it formed, how it stands."""

    formed_at: datetime
    status: PairStatus = "active"
    ended_at: datetime | None = None  # dissolved or completed
    last_session_on: date | None = None
    agreed_cadence_days: int | None = None  # the agreement in force's; None: no agreement in force yet
    flagged_at: datetime | None = None  # the latest PairFlagged
    flag_cause: str | None = None  # its event id

    @property
    def active(self) -> bool:
        return self.status == "active"

    def members(self) -> tuple[tuple[str, str, str], ...]:
        """(member, partner, side) for both members."""
        return ((self.mentor_id, self.mentee_id, "mentor"), (self.mentee_id, self.mentor_id, "mentee"))


@dataclass(frozen=True)
class Proposal:
    """A pair proposed and still waiting for its answers (the directory forgets it once it is answered)."""

    pair_id: str
    program_id: str
    mentor_id: str
    mentee_id: str
    proposed_at: datetime
    expires_at: datetime
    accepted_by: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Snapshot:
    """What a scan looks at: the programs, their pairs (active ones, and those ended within the digest's window),
    the proposals still waiting."""

    programs: Mapping[str, ProgramFacts]
    pairs: list[PairState]
    proposals: list[Proposal] = field(default_factory=list)


@dataclass(frozen=True)
class Episode:
    """A spell of a pair being at risk: since when, and the key that names it (the nudge's and escalation's cause)."""

    key: str
    since: datetime
    reason: Literal["no_recent_session", "flagged"]


def _day(d: date) -> datetime:
    return datetime.combine(d, time(0), UTC)


def cadence_days(pair: PairState, program: ProgramFacts) -> int:
    """The pair's agreed cadence once an agreement is in force, the program's before."""
    return pair.agreed_cadence_days or program.cadence_days


def idle_since(pair: PairState) -> date:
    """The day a session was last held, or the pair formed: what "due" and "at risk" count from."""
    formed = pair.formed_at.astimezone(UTC).date()
    return max(pair.last_session_on, formed) if pair.last_session_on else formed


def at_risk(pair: PairState, program: ProgramFacts, now: datetime) -> Episode | None:
    """Flagged with no session since, or idle for more than 1.5 x the cadence (whole UTC days, as insights)."""
    if not pair.active:
        return None
    if pair.flagged_at is not None and (
        pair.last_session_on is None or pair.last_session_on < pair.flagged_at.astimezone(UTC).date()
    ):
        return Episode(f"{pair.pair_id}/flagged/{pair.flag_cause}", pair.flagged_at, "flagged")
    since = idle_since(pair)
    threshold = OVERDUE_FACTOR * cadence_days(pair, program)
    if (now.astimezone(UTC).date() - since).days > threshold:
        return Episode(
            f"{pair.pair_id}/at-risk/{since.isoformat()}",
            _day(since + timedelta(days=math.floor(threshold) + 1)),
            "no_recent_session",
        )
    return None


def _both(rule: NotificationRule, cause: str, pair: PairState, now: datetime, **context: Any) -> list[Notification]:
    return [
        _for(rule, cause, member, pair.program_id, now, pair_id=pair.pair_id, partner_id=partner, side=side, **context)
        for member, partner, side in pair.members()
    ]


def _admins(rule: NotificationRule, cause: str, program_id: str, now: datetime, **context: Any) -> Notification:
    return _for(rule, cause, None, program_id, now, audience="program-admins", **context)


# Event-driven rules.
def proposals(
    *, cause_event_id: str, pair: PairMembers, breakdown: dict[str, float], expires_at: datetime, now: datetime
) -> list[Notification]:
    """A pair was proposed: each member hears who the partner is, why, and is asked to accept before it expires."""
    state = PairState(pair.pair_id, pair.program_id, pair.mentor_id, pair.mentee_id, formed_at=now)
    return _both("proposal", cause_event_id, state, now, breakdown=breakdown, expires_at=expires_at.isoformat())


def program_ended(
    *, cause_event_id: str, program_id: str, pairs: Iterable[PairState], now: datetime
) -> list[Notification]:
    """The program closed: each member of an active pair hears it once (a mentor of two pairs, once)."""
    members = sorted({m for p in pairs if p.active for m in (p.mentor_id, p.mentee_id)})
    return [_for("program-ended", cause_event_id, m, program_id, now) for m in members]


def completions(*, cause_event_id: str, pair: PairMembers, completed_on: date, now: datetime) -> list[Notification]:
    """The pair ran its course: both members hear it, and where their certificate is."""
    state = PairState(pair.pair_id, pair.program_id, pair.mentor_id, pair.mentee_id, formed_at=now)
    return _both(
        "completion",
        cause_event_id,
        state,
        now,
        completed_on=completed_on.isoformat(),
        certificates_path=CERTIFICATES_PATH,
    )


# Clock-driven rules.
def acceptance_reminders(proposal: Proposal, program: ProgramFacts, now: datetime) -> list[Notification]:
    """A member who has not accepted `after_hours` after the proposal (and before it expires) is reminded once."""
    setting = program.notifications.acceptance_reminder
    if not setting.enabled or not (proposal.proposed_at + timedelta(hours=setting.after_hours) <= now):
        return []
    if now >= proposal.expires_at:
        return []
    cause = f"{proposal.pair_id}/acceptance-reminder"
    pair = PairState(
        proposal.pair_id, proposal.program_id, proposal.mentor_id, proposal.mentee_id, formed_at=proposal.proposed_at
    )
    return [
        n
        for n in _both("acceptance-reminder", cause, pair, now, expires_at=proposal.expires_at.isoformat())
        if n.participant_id not in proposal.accepted_by
    ]


def agreement_reminders(pair: PairState, program: ProgramFacts, now: datetime) -> list[Notification]:
    """No agreement in force `after_days` after the pair formed: both members are reminded, once per pair."""
    setting = program.notifications.agreement_reminder
    if not setting.enabled or not pair.active or pair.agreed_cadence_days is not None:
        return []
    if now < pair.formed_at + timedelta(days=setting.after_days):
        return []
    return _both("agreement-reminder", f"{pair.pair_id}/agreement-reminder", pair, now)


def sessions_due(pair: PairState, program: ProgramFacts, now: datetime) -> list[Notification]:
    """`cadence` days since the last session (or the start): both members are reminded, once per due date."""
    if not program.notifications.session_due.enabled or not pair.active:
        return []
    cadence = cadence_days(pair, program)
    due_on = idle_since(pair) + timedelta(days=cadence)
    if now.astimezone(UTC).date() < due_on:
        return []
    cause = f"{pair.pair_id}/session-due/{due_on.isoformat()}"
    return _both("session-due", cause, pair, now, due_on=due_on.isoformat(), cadence_days=cadence)


def nudges(pair: PairState, program: ProgramFacts, now: datetime) -> list[Notification]:
    """At risk: both members are nudged, once per episode. `nudged_at` is what the escalation counts from."""
    episode = at_risk(pair, program, now)
    if episode is None or not program.notifications.at_risk_nudge.enabled:
        return []
    return _both("at-risk-nudge", episode.key, pair, now, reason=episode.reason, nudged_at=now.isoformat())


def nudge_ids(pair: PairState, program: ProgramFacts, now: datetime) -> list[str]:
    """The ids the nudges of the pair's current episode have (or would have)."""
    episode = at_risk(pair, program, now)
    if episode is None:
        return []
    return [notification_id(episode.key, "at-risk-nudge", m) for m in (pair.mentor_id, pair.mentee_id)]


def escalations(
    pair: PairState, program: ProgramFacts, now: datetime, recorded: Mapping[str, Notification]
) -> list[Notification]:
    """Still at risk (no session, not ended) `after_days` after the nudge: the program's admins hear, once per
    episode. With nudges on, it counts from the nudge recorded (none yet: not yet); with them off, from when the
    pair became at risk."""
    setting = program.notifications.at_risk_escalation
    episode = at_risk(pair, program, now)
    if episode is None or not setting.enabled:
        return []
    since = episode.since
    if program.notifications.at_risk_nudge.enabled:
        nudged = [
            datetime.fromisoformat(recorded[i].context["nudged_at"])
            for i in nudge_ids(pair, program, now)
            if i in recorded
        ]
        if not nudged:
            return []
        since = min(nudged)
    if now < since + timedelta(days=setting.after_days):
        return []
    return [
        _admins(
            "at-risk-escalation",
            episode.key,
            pair.program_id,
            now,
            pair_id=pair.pair_id,
            reason=episode.reason,
            at_risk_since=episode.since.date().isoformat(),
            nudged_on=since.date().isoformat(),
        )
    ]


def digest_slot(program: ProgramFacts, now: datetime) -> datetime:
    """This ISO week's digest instant: its weekday at its hour (UTC)."""
    setting = program.notifications.admin_digest
    today = now.astimezone(UTC).date()
    monday = today - timedelta(days=today.isoweekday() - 1)
    return _day(monday + timedelta(days=setting.weekday - 1)) + timedelta(hours=setting.hour_utc)


def admin_digest(program: ProgramFacts, snapshot: Snapshot, now: datetime) -> list[Notification]:
    """Weekly, at its slot, to the program's admins: counts of pairs new and completed in the last 7 days, stalled
    (a session due or no agreement after its reminder, not yet at risk) and at risk now. Counts only: no one is
    named."""
    setting = program.notifications.admin_digest
    slot = digest_slot(program, now)
    pairs = [p for p in snapshot.pairs if p.program_id == program.program_id]
    waiting = [p for p in snapshot.proposals if p.program_id == program.program_id]
    # Only a week the program had pairs (or proposals) by the slot has anything to report: a program whose first
    # pairs formed after this week's slot has its first digest next week.
    if not setting.enabled or now < slot:
        return []
    if not any(p.formed_at <= slot for p in pairs) and not any(w.proposed_at <= slot for w in waiting):
        return []
    active = [p for p in pairs if p.active]
    risky = {p.pair_id for p in active if at_risk(p, program, now)}
    stalled = [
        p
        for p in active
        if p.pair_id not in risky and (sessions_due(p, program, now) or agreement_reminders(p, program, now))
    ]
    counts = {
        "new": sum(now - DIGEST_WINDOW <= p.formed_at <= now for p in pairs),
        "stalled": len(stalled),
        "at_risk": len(risky),
        "completed": sum(
            p.status == "completed" and p.ended_at is not None and p.ended_at >= now - DIGEST_WINDOW for p in pairs
        ),
        "active": len(active),
        "waiting_proposals": len(waiting),
    }
    year, week, _ = slot.isocalendar()
    cause = f"{program.program_id}/admin-digest/{year}-W{week:02d}"
    return [_admins("admin-digest", cause, program.program_id, now, week=f"{year}-W{week:02d}", counts=counts)]


def due(snapshot: Snapshot, now: datetime, recorded: Mapping[str, Notification]) -> list[Notification]:
    """Every clock-driven notification due at `now`. `recorded` holds the notifications already recorded among
    `nudge_ids` (what the escalations count from)."""
    found: list[Notification] = []
    for proposal in snapshot.proposals:
        if program := snapshot.programs.get(proposal.program_id):
            found += acceptance_reminders(proposal, program, now)
    for pair in snapshot.pairs:
        if (program := snapshot.programs.get(pair.program_id)) is None:
            continue  # its program's facts have not arrived: nothing to count from yet
        found += agreement_reminders(pair, program, now)
        found += sessions_due(pair, program, now)
        found += nudges(pair, program, now)
        found += escalations(pair, program, now, recorded)
    for program in snapshot.programs.values():
        found += admin_digest(program, snapshot, now)
    return found


def all_nudge_ids(snapshot: Snapshot, now: datetime) -> list[str]:
    return [
        i
        for p in snapshot.pairs
        if (program := snapshot.programs.get(p.program_id)) is not None
        for i in nudge_ids(p, program, now)
    ]
