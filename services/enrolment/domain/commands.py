"""What enrolment is asked to do. These models are also the HTTP request bodies, so their field
descriptions and bounds are the API's documentation and its 422 checks."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationInfo, field_validator

from services.enrolment.domain import training
from shared.events import (
    DEFAULT_WEIGHTS,
    MATCHING_CRITERIA,
    AcceptanceMode,
    AcceptanceReminderSettings,
    AdminDigestSettings,
    AgreementReminderSettings,
    EscalationSettings,
    MentoringRole,
    OptimizeFor,
    ReportingConflict,
)
from shared.metrics_catalogue import METRICS
from shared.types import MAX_LIST_ITEMS, Bool, EmployeeId, Float, Identifier, Int, Label, Labels, Text

_TIME_ZONES = frozenset(available_timezones())


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Change(Command):
    """A partial update: only the fields given change. A field is left out to keep it; `null` is a 422."""

    @field_validator("*", mode="before")
    @classmethod
    def left_out_not_null(cls, value: Any, info: ValidationInfo) -> Any:
        # Runs only for fields the client sent (defaults are not validated), so None here is an explicit null.
        if value is None:
            raise ValueError(f"{info.field_name} may be left out, not null")
        return value


# A target is a count, a rate or an average: finite, and well inside what any report compares it with.
TargetValue = Annotated[float, Float(-1e9, 1e9)]
# A weight of 100 already outweighs every default (at most 3) many times over; more only overflows the scores.
Weight = Annotated[float, Float(0, 100)]
Targets = Annotated[dict[Label, TargetValue], Field(max_length=MAX_LIST_ITEMS)]
# Up to 90 days: a proposal nobody answers in a quarter is not going to be answered.
ProposalTtlHours = Annotated[int, Int(1, 2160)]
MinGroupSize = Annotated[int, Int(2, 100)]
RetentionMonths = Annotated[int, Int(1, 120)]
Email = Annotated[EmailStr, Text(254, min_length=3, one_line=True)]
LabelList = Annotated[list[Label], Field(min_length=1, max_length=MAX_LIST_ITEMS)]
ModuleIds = Annotated[list[training.ModuleId], Field(max_length=MAX_LIST_ITEMS)]


class RuleSwitchInput(Command):
    """One notification rule of a program (issue #17): on or off; a rule turned off records nothing."""

    enabled: Bool = True


class AcceptanceReminderInput(RuleSwitchInput):
    # Up to 90 days, as a proposal's own time to live: a reminder after the proposal expired is never sent.
    after_hours: Annotated[int, Int(1, 2160)] = Field(
        AcceptanceReminderSettings().after_hours, description="Hours after a proposal, 1 to 2160."
    )


class AgreementReminderInput(RuleSwitchInput):
    after_days: Annotated[int, Int(1, 365)] = Field(
        AgreementReminderSettings().after_days, description="Days after a pair formed without an agreement, 1 to 365."
    )


class EscalationInput(RuleSwitchInput):
    after_days: Annotated[int, Int(1, 365)] = Field(
        EscalationSettings().after_days, description="Days after the at-risk nudge before admins hear, 1 to 365."
    )


class AdminDigestInput(RuleSwitchInput):
    weekday: Annotated[int, Int(1, 7)] = Field(AdminDigestSettings().weekday, description="ISO weekday, 1 Monday.")
    hour_utc: Annotated[int, Int(0, 23)] = Field(AdminDigestSettings().hour_utc, description="Hour of day, UTC.")


class NotificationSettingsInput(Command):
    """Each rule on or off and its timing. In a change, only the rules and fields given change."""

    proposal: RuleSwitchInput = Field(default_factory=RuleSwitchInput)
    introduction: RuleSwitchInput = Field(default_factory=RuleSwitchInput)
    acceptance_reminder: AcceptanceReminderInput = Field(default_factory=AcceptanceReminderInput)
    agreement_reminder: AgreementReminderInput = Field(default_factory=AgreementReminderInput)
    session_due: RuleSwitchInput = Field(default_factory=RuleSwitchInput)
    at_risk_nudge: RuleSwitchInput = Field(default_factory=RuleSwitchInput)
    at_risk_escalation: EscalationInput = Field(default_factory=EscalationInput)
    feedback_prompt: RuleSwitchInput = Field(default_factory=RuleSwitchInput)
    program_ended: RuleSwitchInput = Field(default_factory=RuleSwitchInput)
    completion: RuleSwitchInput = Field(default_factory=RuleSwitchInput)
    admin_digest: AdminDigestInput = Field(default_factory=AdminDigestInput)


DEFAULT_CONSENT_TEXT = (
    "I choose to take part in this reverse-mentoring program. I agree that Tandem keeps my name, e-mail, "
    "department, grade, time zone, languages, skills and goals to match me with a partner and to run the program, "
    "and that my partner sees my name, e-mail, department, time zone and the goals I choose to share. Reports show "
    "only pseudonymous figures. I may withdraw at any time, and ask for my personal details to be erased."
)


def check_targets(targets: dict[str, float]) -> dict[str, float]:
    """Targets only over metrics insights computes: any other name could never show progress."""
    if unknown := sorted(set(targets) - set(METRICS)):
        raise ValueError(f"unknown metrics {unknown}; known: {list(METRICS)}")
    return targets


def check_criteria(weights: dict[str, float]) -> dict[str, float]:
    if unknown := sorted(set(weights) - set(MATCHING_CRITERIA)):
        raise ValueError(f"unknown criteria {unknown}; known: {list(MATCHING_CRITERIA)}")
    return weights


class LaunchProgram(Command):
    title: Annotated[str, Text(200, min_length=1)]
    objectives: Annotated[str, Text(5000)] = Field("", description="Free text: why the program exists.")
    targets: Targets = Field(
        default_factory=dict,
        description="Measurable targets by metric, e.g. {'pairs_formed': 40, 'sessions_per_pair': 6, "
        "'average_rating': 4}; at most 50, each a finite number within ±1e9, each named after a metric insights "
        "computes (shared/metrics_catalogue.py; an unknown name is a 422 listing the known ones).",
    )
    cadence_days: Annotated[int, Int(1, 365)] = Field(14, description="Expected days between a pair's sessions.")
    duration_weeks: Annotated[int, Int(1, 260)] = 26
    focus_areas: Labels = Field(default_factory=list, description="e.g. digital-skills, social-media, diversity")
    languages: Labels = Field(default_factory=lambda: ["en"])
    matching_weights: dict[str, Weight] = Field(
        default_factory=lambda: dict(DEFAULT_WEIGHTS), description="Criterion -> weight, each from 0 to 100."
    )
    optimize_for: OptimizeFor = "score"
    min_group_size: MinGroupSize = Field(
        5, description="Reports show no group of fewer people than this (2 to 100), nor one a total gives away."
    )
    retention_months: RetentionMonths = Field(
        24, description="Months after closing that participants' personal data is kept (1 to 120); then erased."
    )
    consent_text: Annotated[str, Text(5000, min_length=1)] = Field(
        DEFAULT_CONSENT_TEXT, description="The wording a participant consents to when opting in."
    )
    admin_groups: Labels = Field(
        default_factory=list,
        description="Identity-provider groups whose program admins run this program; empty: every program admin.",
    )
    sponsor_groups: Labels = Field(
        default_factory=list, description="Identity-provider groups whose executive sponsors read its dashboard."
    )
    on_reporting_conflict: ReportingConflict = Field(
        "flag", description="What an HR re-import putting an active pair in one reporting line does: flag or dissolve."
    )
    acceptance_mode: AcceptanceMode = Field(
        "immediate",
        description="How a pair a round proposes starts: at once (immediate), when one member accepts (one_side), "
        "or when both do (both).",
    )
    proposal_ttl_hours: ProposalTtlHours = Field(
        168, description="Hours a proposal waits for its answers (1 to 2160) before both return to the pool."
    )
    required_modules: ModuleIds = Field(
        default_factory=list,
        description="Training modules a participant completes before entering the matching pool (issue #16): at "
        "launch, ids of modules shipped with the product (GET /programs/{program_id}/training lists them).",
    )
    notifications: NotificationSettingsInput = Field(
        default_factory=NotificationSettingsInput,
        description="Notification rules (issue #17): each on or off, and its timing; all on by default.",
    )

    _targets = field_validator("targets")(lambda cls, targets: check_targets(targets))

    @field_validator("required_modules")
    @classmethod
    def shipped_modules(cls, required: list[str]) -> list[str]:
        # A program publishes its own modules only once launched: at launch only the shipped ones exist.
        training.check_required(required, training.shipped())
        return list(dict.fromkeys(required))

    @field_validator("matching_weights")
    @classmethod
    def known_criteria(cls, weights: dict[str, float]) -> dict[str, float]:
        return {**DEFAULT_WEIGHTS, **check_criteria(weights)}


class ChangeProgramSettings(Change):
    """A program admin's edit (issue #15): only the fields given change, within the bounds of a launch. `targets`
    replaces the whole set (so one can be removed); `matching_weights` changes the criteria it names, the others
    keep their weights. A field is left out to keep it: `null` is a 422."""

    title: Annotated[str, Text(200, min_length=1)] | None = None
    objectives: Annotated[str, Text(5000)] | None = None
    targets: Targets | None = None
    cadence_days: Annotated[int, Int(1, 365)] | None = None
    duration_weeks: Annotated[int, Int(1, 260)] | None = None
    focus_areas: Labels | None = None
    languages: Labels | None = None
    matching_weights: dict[str, Weight] | None = None
    optimize_for: OptimizeFor | None = None
    min_group_size: MinGroupSize | None = None
    retention_months: RetentionMonths | None = None
    acceptance_mode: AcceptanceMode | None = None
    proposal_ttl_hours: ProposalTtlHours | None = None
    consent_text: Annotated[str, Text(5000, min_length=1)] | None = Field(
        None, description="A new wording raises the program's consent_version; consents given keep theirs."
    )
    admin_groups: Labels | None = None
    sponsor_groups: Labels | None = None
    on_reporting_conflict: ReportingConflict | None = None
    required_modules: ModuleIds | None = Field(
        None,
        description="Training modules completed before entering the pool, shipped or the program's own; [] requires "
        "none. An unknown module id is a 422 naming required_modules.",
    )
    notifications: NotificationSettingsInput | None = Field(
        None, description="Only the rules and fields given change, e.g. {'session_due': {'enabled': false}}."
    )

    _targets = field_validator("targets")(lambda cls, targets: check_targets(targets))
    _modules = field_validator("required_modules")(lambda cls, required: list(dict.fromkeys(required)))
    _weights = field_validator("matching_weights")(lambda cls, weights: check_criteria(weights))


class ProfileFields(Command):
    role: MentoringRole
    grade: Annotated[int, Int(0, 100)] = Field(description="Job grade; higher is more senior.")
    birth_year: Annotated[int, Int(1900, 2015)]
    department: Label
    time_zone: Annotated[str, Text(64, min_length=1, one_line=True)] = Field(
        "UTC", description="IANA time zone, e.g. Europe/Paris."
    )
    languages: LabelList
    reporting_chain: Annotated[list[EmployeeId], Field(max_length=MAX_LIST_ITEMS)] = Field(
        default_factory=list,
        description="Employee ids of the participant's managers up the line (from the HRIS); at most 50.",
    )
    skills_offered: Labels = Field(default_factory=list)
    skills_wanted: Labels = Field(default_factory=list)
    focus_areas: Labels = Field(default_factory=list)
    goals: Annotated[str, Text(2000)] = Field("", description="Free text; stays in enrolment, never in events.")
    share_goals: Bool = Field(False, description="Whether the partner sees the goals (kept in enrolment only).")
    communication_style: Annotated[str, Text(50, one_line=True)] = ""
    capacity: Annotated[int, Int(1, 10)] = Field(1, description="Mentees this participant takes as a mentor.")

    @field_validator("time_zone")
    @classmethod
    def known_time_zone(cls, zone: str) -> str:
        if zone not in _TIME_ZONES:
            raise ValueError(f"unknown IANA time zone {zone!r}")
        return zone


class EnrolParticipant(ProfileFields):
    employee_id: EmployeeId
    display_name: Annotated[str, Text(200, min_length=1, one_line=True)]
    email: Email
    consent: Literal[True] = Field(description="Explicit opt-in; enrolment is refused without it.")


class UpdateProfile(Change):
    """Only the fields given change; the rest stay as they are. A field is left out to keep it: `null` is a 422
    (no field of a profile can be emptied to nothing). `role`, `grade`, `reporting_chain` and `capacity` are kept
    by HR: only a program admin changes them (a participant gets a 403 naming the field)."""

    role: MentoringRole | None = None
    display_name: Annotated[str, Text(200, min_length=1, one_line=True)] | None = None
    email: Email | None = None
    grade: Annotated[int, Int(0, 100)] | None = None
    department: Label | None = None
    time_zone: Annotated[str, Text(64, min_length=1, one_line=True)] | None = None
    languages: LabelList | None = None
    reporting_chain: Annotated[list[EmployeeId], Field(max_length=MAX_LIST_ITEMS)] | None = None
    skills_offered: Labels | None = None
    skills_wanted: Labels | None = None
    focus_areas: Labels | None = None
    goals: Annotated[str, Text(2000)] | None = None
    share_goals: Bool | None = None
    communication_style: Annotated[str, Text(50, one_line=True)] | None = None
    capacity: Annotated[int, Int(1, 10)] | None = None

    _zone = field_validator("time_zone")(lambda cls, z: z if z is None else ProfileFields.known_time_zone(z))


class EnrolSelf(Command):
    """A person's own opt-in (issue #14). What HR owns (name, e-mail, department, grade, reporting line) comes from
    the person's roster entry, never from this body."""

    consent_sha256: Annotated[str, Text(64, min_length=64, one_line=True)] = Field(
        description="sha256 hex of the consent wording the person read (GET /programs/{program_id}/consent)."
    )
    role: MentoringRole
    skills_offered: Labels = Field(default_factory=list)
    skills_wanted: Labels = Field(default_factory=list)
    focus_areas: Labels = Field(default_factory=list)
    goals: Annotated[str, Text(2000)] = Field("", description="Free text; stays in enrolment, never in events.")
    share_goals: Bool = Field(False, description="Whether the partner sees the goals.")
    communication_style: Annotated[str, Text(50, one_line=True)] = ""
    languages: LabelList | None = Field(None, description="Defaults to the roster entry's languages.")
    time_zone: Annotated[str, Text(64, min_length=1, one_line=True)] | None = Field(
        None, description="IANA time zone; defaults to the roster entry's."
    )
    capacity: Annotated[int, Int(1, 10)] = Field(1, description="Mentees this participant takes as a mentor.")
    birth_year: Annotated[int, Int(1900, 2015)] | None = Field(
        None,
        description="Optional: matching's generation-gap criterion reads it. The roster does not hold it; left "
        "out, the profile carries UNKNOWN_BIRTH_YEAR.",
    )

    _zone = field_validator("time_zone")(lambda cls, z: z if z is None else ProfileFields.known_time_zone(z))


class InviteParticipants(Command):
    employee_ids: Annotated[list[EmployeeId], Field(min_length=1, max_length=1000)] = Field(
        description="Employee ids from the roster, at most 1000."
    )


class NameParticipants(Command):
    participant_ids: Annotated[list[Identifier], Field(min_length=1, max_length=500)]


class WithdrawParticipant(Command):
    reason: Annotated[str, Text(500)] = ""


class GiveKudos(Command):
    """A thank-you to the partner (issue #16). The message stays in enrolment: KudosGiven carries no words."""

    message: Annotated[str, Text(280, min_length=1)] = Field(description="At most 280 characters; seen by the partner.")
