"""Tandem's public event contracts: what subscribers read from the Kafka log.

Every event is a past-tense, immutable pydantic model with a versioned CloudEvents type. Events carry
pseudonymous participant ids only: names and e-mail addresses stay in enrolment's own store where they can be
erased (ARCHITECTURE §3), so no field here may hold a direct identifier.

Bounds. The published JSON Schemas (schemas/events/) carry no length, item or range bounds, and stay so: adding
`maxLength`, `maxItems` or a range to a published property narrows what a reader of the new revision accepts, so
it could no longer read every earlier event (not backward compatible, whatever our checker's subset sees; a
schema registry would refuse it). The bounds are enforced where events are made instead: every command field is
bounded (shared/types.py; services/*/domain/commands.py), and the event stores refuse an event whose Kafka record
would exceed the producer's max_request_size. So the events Tandem produces keep, field by field:
- ids (`program_id`, `participant_id`, `pair_id`, …): one line, at most 128 characters, no NUL;
- `title` ≤ 200, `objectives` ≤ 5000, `reason` ≤ 500, `learned` ≤ 2000, `communication_style` ≤ 50 characters;
  labels (`department`, `languages`, skills, focus areas, topics, target names) one line of at most 100;
- lists at most 50 items (`topics` 20); `targets` at most 50 finite numbers within ±1e9;
  `matching_weights` 0 to 100 each; integers within PostgreSQL int4 (`grade` 0-100, `capacity` 1-10,
  `minutes` 1-600, `rating` 1-5, `cadence_days` 1-365, `duration_weeks` 1-260, `birth_year` 1900-2015;
  notification timings `after_hours` 1-2160, `after_days` 1-365, `weekday` 1-7, `hour_utc` 0-23);
- `held_on` from 2000-01-01, not in the future; no text with NUL, lone surrogates or control characters.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.pseudonyms import PseudonymScheme

# A participant's part in mentoring (not what they may do in the API: that is `shared.auth.AccessRole`).
MentoringRole = Literal["mentor", "mentee", "both"]
OptimizeFor = Literal["score", "participation"]
# What matching does with an active pair that an HR re-import puts in one reporting line (issue #14).
ReportingConflict = Literal["flag", "dissolve"]


# The one list of matching criteria and their default weights: enrolment, the matching engine and its pool file
# all derive theirs from it.
class MatchingWeights(BaseModel):
    """The soft criteria of matching (ARCHITECTURE §5), one weight each: a pair's score is the weighted sum. A
    program sets them in `matching_weights`; a criterion it leaves out keeps its default.

    The defaults put learning first, as reverse mentoring is about skills flowing to the senior: what the mentor
    can teach (3.0) outweighs what the mentor learns back (2.0); program focus (1.5) comes next; cross-department
    visibility, the generation gap and time-zone overlap count 1.0 each; communication style, the weakest
    predictor of a good pair, 0.5.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    skills_to_mentee: float = Field(3.0, ge=0)
    skills_to_mentor: float = Field(2.0, ge=0)
    cross_department: float = Field(1.0, ge=0)
    generation_gap: float = Field(1.0, ge=0)
    program_focus: float = Field(1.5, ge=0)
    communication_style: float = Field(0.5, ge=0)
    time_zone_overlap: float = Field(1.0, ge=0)


MATCHING_CRITERIA: tuple[str, ...] = tuple(MatchingWeights.model_fields)  # in the order a breakdown lists them
DEFAULT_WEIGHTS: dict[str, float] = MatchingWeights().model_dump()
LearningDirection = Literal["mentor_to_mentee", "mentee_to_mentor", "both"]


class Event(BaseModel):
    """Base of every domain event. `type_name` is the CloudEvents `type`; `service` names the publisher."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    service: ClassVar[str]
    type_name: ClassVar[str]


# How a proposed pair starts (issue #15): at once, when either member accepts, or when both do.
AcceptanceMode = Literal["immediate", "one_side", "both"]
# Why a proposal was declined or a pair dissolved, as counts can show it (a person's own words stay private).
DeclineReason = Literal["no_time", "not_a_fit", "prefer_someone_else", "other"]
DissolutionReason = Literal["not_working", "no_time", "left_program", "reporting_line", "withdrawn", "other"]
# Who ended a pair that ran its course: the agreed end came, both members asked, or the program admin did.
CompletedBy = Literal["schedule", "members", "admin"]
Confidentiality = Literal["standard", "strict"]


class RuleSwitch(BaseModel):
    """A notification rule a program can turn off (issue #17): off, it records nothing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True


class AcceptanceReminderSettings(RuleSwitch):
    after_hours: int = Field(
        48, ge=1, description="Hours after the proposal a member who has not answered is reminded."
    )


class AgreementReminderSettings(RuleSwitch):
    after_days: int = Field(7, ge=1, description="Days after a pair formed without an agreement in force.")


class EscalationSettings(RuleSwitch):
    after_days: int = Field(7, ge=1, description="Days after the at-risk nudge, with nothing changed, admins hear.")


class AdminDigestSettings(RuleSwitch):
    weekday: int = Field(1, ge=1, description="ISO weekday (1 Monday ... 7 Sunday) the weekly digest goes out.")
    hour_utc: int = Field(8, ge=0, description="Hour (UTC) of that day from which it goes out.")


class NotificationSettings(BaseModel):
    """A program's notification rules: each on or off, with its timing. `session_due` and `at_risk_nudge` follow
    the pair's cadence (a session is due after cadence_days; at risk after 1.5 x cadence_days, as insights says).
    `daily_digest` is a person's preference, not a program's, so it is not here."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    proposal: RuleSwitch = RuleSwitch()
    introduction: RuleSwitch = RuleSwitch()
    acceptance_reminder: AcceptanceReminderSettings = AcceptanceReminderSettings()
    agreement_reminder: AgreementReminderSettings = AgreementReminderSettings()
    session_due: RuleSwitch = RuleSwitch()
    at_risk_nudge: RuleSwitch = RuleSwitch()
    at_risk_escalation: EscalationSettings = EscalationSettings()
    feedback_prompt: RuleSwitch = RuleSwitch()
    program_ended: RuleSwitch = RuleSwitch()
    completion: RuleSwitch = RuleSwitch()
    admin_digest: AdminDigestSettings = AdminDigestSettings()

    def enabled(self, rule: str) -> bool:
        """Whether `rule` (a NotificationRule, e.g. "session-due") is on; a rule not listed here always is."""
        switch = getattr(self, rule.replace("-", "_"), None)
        return switch.enabled if isinstance(switch, RuleSwitch) else True


class ProgramSettings(Event):
    """A program's settings, whole: what ProgramLaunched sets and ProgramSettingsChanged replaces."""

    program_id: str
    title: str = Field(description="The program's title, e.g. 'Digital leaders 2027'.")
    objectives: str = ""
    targets: dict[str, float] = Field(default_factory=dict, description="Measurable targets by metric name.")
    cadence_days: int = Field(ge=1)
    duration_weeks: int = Field(ge=1)
    focus_areas: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    matching_weights: dict[str, float] = Field(default_factory=dict)
    optimize_for: OptimizeFor = "score"
    retention_months: int = Field(
        24,
        ge=1,
        le=120,
        description="Months after the program closes that its participants' personal data and words are kept; then "
        "enrolment erases them (issue #19).",
    )
    pseudonyms: PseudonymScheme = Field(
        "global",
        description="How the program's participant ids derive from employee ids: 'per-program' (every program "
        "launched since issue #19: one person's ids in two programs cannot be linked without the key) or 'global' "
        "(the legacy scheme: one id per person in every program). Fixed at launch; an event without it is from a "
        "program launched before, so it reads as 'global'.",
    )
    min_group_size: int = Field(
        5,
        ge=2,
        le=100,
        description="Insights shows no cut (by department, generation, role...) of fewer people than this, nor one "
        "that a total and its other cells would give away (issue #19).",
    )
    consent_text: str = Field("", description="The wording a participant consents to when opting in.")
    admin_groups: tuple[str, ...] = Field(
        (), description="Identity-provider groups whose program admins run this program; empty: every program admin."
    )
    sponsor_groups: tuple[str, ...] = Field(
        (), description="Identity-provider groups whose executive sponsors read this program's dashboard."
    )
    on_reporting_conflict: ReportingConflict = Field(
        "flag", description="What an HR re-import that puts an active pair in one reporting line does to the pair."
    )
    acceptance_mode: AcceptanceMode = Field(
        "immediate", description="A proposed pair starts at once, when one member accepts, or when both do."
    )
    proposal_ttl_hours: int = Field(
        168, ge=1, description="How long a proposal waits for its answers before both return to the pool."
    )
    required_modules: tuple[str, ...] = Field(
        (), description="Training modules a participant completes before entering the matching pool (issue #16)."
    )
    notifications: NotificationSettings = Field(
        default_factory=NotificationSettings, description="Each notification rule on or off, and its timing."
    )


class ProgramLaunched(ProgramSettings):
    service = "enrolment"
    type_name = "tandem.enrolment.program-launched.v1"


class ProgramSettingsChanged(ProgramSettings):
    """A program admin edited the program (issue #15): its whole settings after the change, so a subscriber needs
    no earlier event. `consent_version` rises when `consent_text` changes; consents given keep their version."""

    service = "enrolment"
    type_name = "tandem.enrolment.program-settings-changed.v1"

    settings_version: int = Field(ge=2, description="1 is the launch; each change adds one.")
    consent_version: int = Field(ge=1)


class ProgramClosed(Event):
    """No new rounds; open pairs run to their end or are completed by the admin."""

    service = "enrolment"
    type_name = "tandem.enrolment.program-closed.v1"

    program_id: str
    closed_at: datetime


class ParticipantProfile(Event):
    """The matching-relevant profile of an enrolment; direct identifiers never appear here."""

    program_id: str
    participant_id: str = Field(description="Pseudonymous id; never an employee number, name or e-mail.")
    role: MentoringRole
    grade: int = Field(description="Job grade; higher is more senior.")
    birth_year: int
    department: str
    time_zone: str = Field(description="IANA time zone, e.g. Europe/Paris.")
    languages: tuple[str, ...]
    reporting_chain: tuple[str, ...] = Field(
        default=(), description="Pseudonymous ids of the participant's managers up the line."
    )
    skills_offered: tuple[str, ...] = ()
    skills_wanted: tuple[str, ...] = ()
    focus_areas: tuple[str, ...] = ()
    communication_style: str = ""
    capacity: int = Field(1, ge=1, description="How many mentees this participant takes as a mentor.")


class ParticipantEnrolled(ParticipantProfile):
    service = "enrolment"
    type_name = "tandem.enrolment.participant-enrolled.v1"


class ParticipantProfileUpdated(ParticipantProfile):
    """The whole profile after the change, so a subscriber needs no earlier event to know it."""

    service = "enrolment"
    type_name = "tandem.enrolment.participant-profile-updated.v1"


class ParticipantWithdrawn(Event):
    service = "enrolment"
    type_name = "tandem.enrolment.participant-withdrawn.v1"

    program_id: str
    participant_id: str
    reason: str = ""


class ParticipantErased(Event):
    """The participant's personal details were erased from enrolment's store (GDPR art. 17). Their pseudonymous
    id stays in the log, so history and reports keep their counts but nothing links it to a person any more."""

    service = "enrolment"
    type_name = "tandem.enrolment.participant-erased.v1"

    program_id: str
    participant_id: str
    cause: Literal["request", "retention"] = Field(
        "request", description="request: the person or an admin asked; retention: the program's retention ran out."
    )


class RosterImported(Event):
    """HR imported the roster of eligible people (issue #14). Counts only: the rows are personal data and stay in
    enrolment; each enrolled participant whose department, grade or reporting line changed has its own
    ParticipantProfileUpdated in the same transaction."""

    service = "enrolment"
    type_name = "tandem.enrolment.roster-imported.v1"

    import_id: str
    rows_accepted: int = Field(ge=0)
    rows_rejected: int = Field(ge=0)
    participants_updated: int = Field(ge=0)


class ConsentGiven(Event):
    """A person consented, themselves, to a program's wording (issue #14): which version, and its sha256, so the
    exact text they read can be shown again. The wording itself stays in enrolment; no free text here."""

    service = "enrolment"
    type_name = "tandem.enrolment.consent-given.v1"

    program_id: str
    participant_id: str
    wording_version: int = Field(ge=1)
    wording_sha256: str = Field(description="sha256 hex of the UTF-8 wording the person consented to.")
    given_at: datetime


class ConsentWithdrawn(Event):
    service = "enrolment"
    type_name = "tandem.enrolment.consent-withdrawn.v1"

    program_id: str
    participant_id: str
    wording_version: int = Field(ge=1)
    withdrawn_at: datetime


class ParticipantInvited(Event):
    """A program admin invited someone from the roster; only the person's own enrolment accepts it."""

    service = "enrolment"
    type_name = "tandem.enrolment.participant-invited.v1"

    program_id: str
    participant_id: str


class PairFormed(Event):
    service = "matching"
    type_name = "tandem.matching.pair-formed.v1"

    program_id: str
    pair_id: str
    round_id: str
    mentor_id: str
    mentee_id: str
    score: float
    breakdown: dict[str, float] = Field(description="Each criterion's weighted contribution to `score`.")
    engine_version: str = Field("", description="Matching engine that proposed the pair.")
    inputs_hash: str = Field("", description="sha256 of the round's pool snapshot, weights and engine version.")
    origin: Literal["round", "manual"] = Field("round", description="Proposed by a round, or paired by an admin.")
    proposed_at: datetime | None = Field(
        None, description="When the pair was proposed, if it waited for acceptance (time to accept = ce_time - this)."
    )


class PairProposed(Event):
    """A committed round proposes a pair that starts only when accepted (program's acceptance_mode `one_side` or
    `both`); PairFormed follows on acceptance, ProposalDeclined or ProposalExpired otherwise."""

    service = "matching"
    type_name = "tandem.matching.pair-proposed.v1"

    program_id: str
    pair_id: str
    round_id: str
    mentor_id: str
    mentee_id: str
    score: float
    breakdown: dict[str, float]
    engine_version: str
    inputs_hash: str
    acceptance_mode: AcceptanceMode
    expires_at: datetime


class ProposalAccepted(Event):
    service = "matching"
    type_name = "tandem.matching.proposal-accepted.v1"

    program_id: str
    pair_id: str
    participant_id: str


class ProposalDeclined(Event):
    """Both members return to the pool and this couple is never proposed again. The decliner's own words, if any,
    stay in matching's store; the event carries the reason's category only."""

    service = "matching"
    type_name = "tandem.matching.proposal-declined.v1"

    program_id: str
    pair_id: str
    participant_id: str
    reason_code: DeclineReason = "other"


class ProposalExpired(Event):
    service = "matching"
    type_name = "tandem.matching.proposal-expired.v1"

    program_id: str
    pair_id: str


class CouplePinned(Event):
    """A program admin pinned a mentor and a mentee together: the next rounds pair them if every hard rule allows."""

    service = "matching"
    type_name = "tandem.matching.couple-pinned.v1"

    program_id: str
    mentor_id: str
    mentee_id: str


class CoupleExcluded(Event):
    """A program admin excluded a couple: no round proposes them (a declined proposal excludes its couple too)."""

    service = "matching"
    type_name = "tandem.matching.couple-excluded.v1"

    program_id: str
    mentor_id: str
    mentee_id: str


class CoupleRuleLifted(Event):
    """An admin lifted a pin or an exclusion they had set."""

    service = "matching"
    type_name = "tandem.matching.couple-rule-lifted.v1"

    program_id: str
    mentor_id: str
    mentee_id: str
    rule: Literal["pin", "exclude"]


class RoundCommitted(Event):
    """A matching round was committed: what it formed and how many active candidates it left unmatched (counts
    only: each person's reason stays in matching). The pairs themselves follow as PairFormed events."""

    service = "matching"
    type_name = "tandem.matching.round-committed.v1"

    program_id: str
    round_id: str
    pairs_formed: int = Field(ge=0)
    unmatched: int = Field(ge=0, description="Active candidates the round could not pair.")
    total_score: float
    engine_version: str = Field(description="Matching engine that proposed the pairs.")
    inputs_hash: str = Field(description="sha256 of the round's pool snapshot, weights and engine version.")


class PairDissolved(Event):
    service = "matching"
    type_name = "tandem.matching.pair-dissolved.v1"

    program_id: str
    pair_id: str
    reason: str
    reason_code: DissolutionReason = "other"


class PairFlagged(Event):
    """An active pair now breaks a hard rule of matching (e.g. an HR re-import put one member in the other's
    reporting line) and its program flags such pairs for an admin rather than dissolving them. `reason` is a fixed
    sentence naming the rule, never anything about the people."""

    service = "matching"
    type_name = "tandem.matching.pair-flagged.v1"

    program_id: str
    pair_id: str
    rule: str = Field(description="The hard rule the pair breaks: `reporting_line` or `grade`.")
    reason: str


class AgreedGoal(BaseModel):
    """One goal of a pair's agreement: who wants to learn it from whom. Its words stay in sessions' store."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    goal_id: str
    direction: Literal["mentor_to_mentee", "mentee_to_mentor"] = Field(
        description="mentor_to_mentee: the mentee wants to learn it from the mentor; mentee_to_mentor: the reverse."
    )


class AgreementProposed(Event):
    """A member wrote (or changed) the pair's agreement: a new version both must sign (issue #15)."""

    service = "sessions"
    type_name = "tandem.sessions.agreement-proposed.v1"

    program_id: str
    pair_id: str
    agreement_version: int = Field(ge=1)
    proposed_by: str
    goals: tuple[AgreedGoal, ...]
    cadence_days: int = Field(ge=1)
    duration_weeks: int = Field(ge=1)
    confidentiality: Confidentiality


class AgreementSigned(Event):
    service = "sessions"
    type_name = "tandem.sessions.agreement-signed.v1"

    program_id: str
    pair_id: str
    agreement_version: int = Field(ge=1)
    signed_by: str


class AgreementInForce(Event):
    """Both members signed this version: its cadence and duration now govern the pair (and its end date)."""

    service = "sessions"
    type_name = "tandem.sessions.agreement-in-force.v1"

    program_id: str
    pair_id: str
    agreement_version: int = Field(ge=1)
    cadence_days: int = Field(ge=1)
    duration_weeks: int = Field(ge=1)
    ends_on: date


class CompletionRequested(Event):
    """One member asked to complete the pair before its end; it completes when the other asks too."""

    service = "sessions"
    type_name = "tandem.sessions.completion-requested.v1"

    program_id: str
    pair_id: str
    participant_id: str


class PairCompleted(Event):
    """The pair ran its course: distinct from PairDissolved everywhere (events, read models, insights, CSV)."""

    service = "sessions"
    type_name = "tandem.sessions.pair-completed.v1"

    program_id: str
    pair_id: str
    completed_by: CompletedBy
    completed_on: date


class ReflectionRecorded(Event):
    """A member's closing reflection; what they learned and changed stays in sessions' store."""

    service = "sessions"
    type_name = "tandem.sessions.reflection-recorded.v1"

    program_id: str
    pair_id: str
    participant_id: str
    side: Literal["mentor", "mentee"]
    would_recommend: bool


class TrainingModulePublished(Event):
    """A program admin published a training module for a program, replacing (same `module_id`, a new version) or
    extending the modules shipped with the product (issue #16). The content stays in enrolment; its hash is here."""

    service = "enrolment"
    type_name = "tandem.enrolment.training-module-published.v1"

    program_id: str
    module_id: str
    module_version: int = Field(ge=1)
    for_roles: tuple[MentoringRole, ...]
    content_sha256: str


class TrainingCompleted(Event):
    """A participant passed a module's knowledge check: per person, module and module version."""

    service = "enrolment"
    type_name = "tandem.enrolment.training-completed.v1"

    program_id: str
    participant_id: str
    module_id: str
    module_version: int = Field(ge=1)
    score: int = Field(ge=0, description="Correct answers in the knowledge check.")
    questions: int = Field(ge=1)


class CertificateIssued(Event):
    """Enrolment issued a member of a completed pair their certificate; the PDF is made on request from enrolment's
    store, and its verification code resolves there."""

    service = "enrolment"
    type_name = "tandem.enrolment.certificate-issued.v1"

    program_id: str
    pair_id: str
    participant_id: str
    certificate_id: str


class KudosGiven(Event):
    """A partner thanked the other; the message stays in enrolment."""

    service = "enrolment"
    type_name = "tandem.enrolment.kudos-given.v1"

    program_id: str
    pair_id: str
    kudos_id: str
    given_by: str
    given_to: str


class StoryShared(Event):
    """A member of a completed pair agreed to share their closing reflection as a story for internal comms; a pair's
    story is told only when both members shared (issue #16). The words stay in sessions."""

    service = "sessions"
    type_name = "tandem.sessions.story-shared.v1"

    program_id: str
    pair_id: str
    participant_id: str


class StoryWithdrawn(Event):
    """A member who shared their story took the opt-in back: the pair's story is no longer told."""

    service = "sessions"
    type_name = "tandem.sessions.story-withdrawn.v1"

    program_id: str
    pair_id: str
    participant_id: str


class SessionHeld(Event):
    service = "sessions"
    type_name = "tandem.sessions.session-held.v1"

    program_id: str
    pair_id: str
    session_id: str
    held_on: date
    minutes: int = Field(ge=1)
    topics: tuple[str, ...] = ()
    learning_direction: LearningDirection
    logged_by: str = Field(description="Participant id of the member who logged it.")
    logged_at: datetime
    goals_advanced: tuple[str, ...] = Field((), description="Goal ids of the pair's agreement this session advanced.")


class FeedbackGiven(Event):
    service = "sessions"
    type_name = "tandem.sessions.feedback-given.v1"

    program_id: str
    pair_id: str
    feedback_id: str
    given_by: str
    side: Literal["mentor", "mentee"]
    rating: int = Field(ge=1, le=5)
    learned: str = ""
    would_continue: bool


class BreakGlassUsed(Event):
    """An auditor holding the break-glass role read words that only a pair's members read otherwise (issue #19):
    who read (a pseudonym), which pair's which record, under which ticket. Appended before the words are returned,
    in the same transaction, so no such read goes unlogged."""

    service = "sessions"
    type_name = "tandem.sessions.break-glass-used.v1"

    reader_id: str = Field(description="Pseudonymous id of the auditor who read (from their employee id).")
    program_id: str
    pair_id: str
    record: Literal["sessions", "agreement", "completion"]
    ticket: str = Field(
        pattern=r"^[A-Z][A-Z0-9]{1,15}-[0-9]{1,12}$",
        description="The case or incident reference that justified the access, e.g. HR-1234 (no free text).",
    )


# What notifications sends (issue #17): its rules and channels, as auditors read them.
NotificationRule = Literal[
    "proposal",  # a pair was proposed: both members are asked to accept (acceptance_mode "both-accept")
    "introduction",  # a pair started: who the partner is, why, an iCalendar invitation
    "acceptance-reminder",  # a proposal still waits for this member's answer
    "agreement-reminder",  # a pair has run a while without an agreement
    "session-due",  # the pair's cadence says a session is due
    "at-risk-nudge",  # the pair is at risk: both members are nudged
    "at-risk-escalation",  # nothing changed after the nudge: the program's admins hear of it
    "feedback-prompt",  # a session was logged
    "program-ended",  # the program closed
    "completion",  # the pair completed; the certificate is ready
    "admin-digest",  # weekly, to the program's admins: new, stalled, at risk, completed
    "daily-digest",  # a person who asked for one digest a day gets their day's notifications in it
]
NotificationChannel = Literal["email", "slack", "teams", "webhook"]
# Who a notification is for: one participant, or the program's admins (their destinations are the program's,
# configured in notifications; no admin's identity or address enters an event).
NotificationAudience = Literal["participant", "program-admins"]


class NotificationOutcome(Event):
    """What every event of a notification's delivery names: ids, never an address or the words sent."""

    notification_id: str
    rule: NotificationRule
    channel: NotificationChannel
    audience: NotificationAudience = "participant"
    participant_id: str | None = Field(
        description="Pseudonymous id of the recipient; null when the audience is the program's admins."
    )
    program_id: str
    cause_event_id: str = Field(description="The CloudEvents id of the event that caused it.")


class NotificationSent(NotificationOutcome):
    """A notification was delivered to its channel (the SMTP server accepted it). Ids only: never an address or
    the words sent. `notification_id` is derived from the cause (`cause_event_id` and `rule`, per recipient), so a
    redelivered cause can never be sent under a new id."""

    service = "notifications"
    type_name = "tandem.notifications.notification-sent.v1"

    attempts: int = Field(ge=1, description="Delivery attempts it took, this one included.")


class NotificationFailed(NotificationOutcome):
    """A delivery attempt failed: retried after a back-off, or, with `dead_lettered`, given up on (an admin looks
    at it). Ids only, as NotificationSent: the failure's cause stays in notifications' own table."""

    service = "notifications"
    type_name = "tandem.notifications.notification-failed.v1"

    attempts: int = Field(ge=1)
    dead_lettered: bool


class NotificationSuppressed(Event):
    """A notification was not sent because its participant unsubscribed (issue #17): never retried. Ids only."""

    service = "notifications"
    type_name = "tandem.notifications.notification-suppressed.v1"

    notification_id: str
    rule: NotificationRule
    participant_id: str
    program_id: str
    cause_event_id: str
    reason: Literal["unsubscribed"] = "unsubscribed"


class ProgramChannelsChanged(Event):
    """A program's admins changed where its notifications go. Which channels are configured, never a URL, an
    address or a secret (those stay in notifications' own table)."""

    service = "notifications"
    type_name = "tandem.notifications.program-channels-changed.v1"

    program_id: str
    configured: list[NotificationChannel] = Field(description="Channels with a destination: email, slack, ...")
    admin_mailbox_count: int = Field(ge=0, description="How many admin e-mail addresses (not which).")
    webhook_secret_rotated: bool = Field(description="A new webhook signing secret was generated.")


class ProgramBrandingChanged(Event):
    """A program's admins changed how its messages look: the name at their top, the accent colour, the footer —
    the program's own words, never a person's."""

    service = "notifications"
    type_name = "tandem.notifications.program-branding-changed.v1"

    program_id: str
    brand: str = Field(max_length=80)
    accent_colour: str = Field(pattern=r"^#[0-9a-fA-F]{6}$")
    footer: str = Field(max_length=500)


class NotificationPreferencesChanged(Event):
    """A participant changed how they are notified, in /me/preferences or with an e-mail's unsubscribe link.
    Quiet hours are local wall-clock times; no address, no time zone name."""

    service = "notifications"
    type_name = "tandem.notifications.notification-preferences-changed.v1"

    participant_id: str
    channel: NotificationChannel
    delivery: Literal["immediate", "daily-digest"]
    quiet_hours_start: time | None = None
    quiet_hours_end: time | None = None
    unsubscribed: bool
    via: Literal["preferences", "unsubscribe-link"] = "preferences"


class NotificationRequeued(NotificationOutcome):
    """A program admin sent a dead-lettered notification back to the outbox (after fixing its cause): due at once,
    with a fresh run of attempts. Ids only, as NotificationSent; `attempts_spent` is what it had used up."""

    service = "notifications"
    type_name = "tandem.notifications.notification-requeued.v1"

    attempts_spent: int = Field(ge=1, description="Attempts the dead letter had used up before it was re-queued.")


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type_name: cls
    for cls in (
        ProgramLaunched,
        ProgramSettingsChanged,
        ProgramClosed,
        ParticipantEnrolled,
        ParticipantProfileUpdated,
        ParticipantWithdrawn,
        ParticipantErased,
        RosterImported,
        ConsentGiven,
        ConsentWithdrawn,
        ParticipantInvited,
        TrainingModulePublished,
        TrainingCompleted,
        CertificateIssued,
        KudosGiven,
        RoundCommitted,
        PairProposed,
        ProposalAccepted,
        ProposalDeclined,
        ProposalExpired,
        CouplePinned,
        CoupleExcluded,
        CoupleRuleLifted,
        PairFormed,
        PairDissolved,
        AgreementProposed,
        AgreementSigned,
        AgreementInForce,
        CompletionRequested,
        PairCompleted,
        ReflectionRecorded,
        StoryShared,
        StoryWithdrawn,
        PairFlagged,
        SessionHeld,
        FeedbackGiven,
        BreakGlassUsed,
        NotificationSent,
        NotificationFailed,
        NotificationSuppressed,
        ProgramChannelsChanged,
        ProgramBrandingChanged,
        NotificationPreferencesChanged,
        NotificationRequeued,
    )
}


# Upcasters turn an old version's body into the next version's: old type -> (new type, function).
# A breaking change to an event gets a new `.vN` type and one entry here, so the whole log stays readable.
UPCASTERS: dict[str, tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]] = {}


def upcast(type_name: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Follow the upcaster chain from `type_name` to the current version."""
    while type_name in UPCASTERS:
        type_name, convert = UPCASTERS[type_name]
        data = convert(data)
    return type_name, data


def current_type(type_name: str) -> str:
    """The type an event of `type_name` reads as today, after upcasting."""
    while type_name in UPCASTERS:
        type_name = UPCASTERS[type_name][0]
    return type_name


class UnknownEventType(LookupError):
    """A record's `ce_type` names no event this version of Tandem knows."""


def event_class(type_name: str) -> type[Event]:
    try:
        return EVENT_TYPES[type_name]
    except KeyError:
        raise UnknownEventType(type_name) from None
