"""What insights answers: the program report and its per-pair rows. These models are also the HTTP responses,
so their field descriptions are the API's documentation of each metric's definition."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

RiskReason = Literal["no_recent_session", "low_rating"]
PairStatus = Literal["active", "dissolved", "completed"]


class ProgramSummary(BaseModel):
    program_id: str
    title: str
    cadence_days: int
    duration_weeks: int
    targets: dict[str, float]
    launched_at: datetime
    closed_at: datetime | None = Field(None, description="When the program was closed; null while it runs.")


class Participants(BaseModel):
    enrolled: int = Field(description="Participants enrolled at or before as_of, withdrawn ones included.")
    active: int = Field(description="Enrolled and not withdrawn.")
    withdrawn: int
    by_role: dict[str, int | None] = Field(
        description="Enrolled participants by role (mentor, mentee, both); null: withheld (see small_cells)."
    )
    by_department: dict[str, int | None] = Field(
        description="Enrolled participants by their department as of as_of; null: withheld (see small_cells)."
    )
    by_generation: dict[str, int | None] = Field(
        description="Enrolled participants by generation: baby_boomers <= 1964, gen_x 1965-1980, "
        "millennials 1981-1996, gen_z >= 1997 (birth year), and `erased` (only when some are) for erased "
        "participants, whose birth year is no longer known; null: withheld (see small_cells)."
    )


class Matching(BaseModel):
    active_participants: int
    matched_participants: int = Field(description="Active participants who are mentor or mentee of an active pair.")
    match_rate: float | None = Field(description="matched_participants / active_participants; null with none active.")
    paired_participants: int = Field(description="Enrolled participants (withdrawn included) ever in a pair.")
    median_days_to_first_pair: float | None = Field(
        description="Median over paired_participants of the days (fractional) from enrolment to their first pair."
    )


class Pairs(BaseModel):
    formed: int = Field(description="Pairs formed (started) at or before as_of.")
    active: int = Field(description="Formed and neither dissolved nor completed at as_of.")
    dissolved: int = Field(description="Pairs that ended early (PairDissolved), never those that ran their course.")
    completed: int = Field(0, description="Pairs that ran their course (PairCompleted), never those dissolved.")
    at_risk: int = Field(description="Active pairs at risk (see at_risk_pairs).")


class Sessions(BaseModel):
    total: int = Field(description="Sessions held by pairs formed at or before as_of.")
    minutes: int
    average_per_pair: float | None = Field(description="total / pairs formed (active and dissolved).")
    average_minutes_per_pair: float | None = Field(description="minutes / pairs formed (active and dissolved).")
    pairs_due: int = Field(description="Active pairs for which at least one session was due (see cadence_adherence).")
    cadence_adherence: float | None = Field(
        description="Mean over pairs_due of min(1, sessions held / sessions expected), where sessions expected = "
        "floor(whole days since formed / cadence_days); null when no pair had a session due."
    )


class SideRating(BaseModel):
    average: float | None = Field(
        description="Mean of every rating given; null without any, or when fewer than min_group_size people gave "
        "them (for mentor and mentee: when either side has so few, see small_cells)."
    )
    count: int


class Ratings(BaseModel):
    mentor: SideRating = Field(description="Ratings given by mentors.")
    mentee: SideRating = Field(description="Ratings given by mentees.")
    overall: SideRating = Field(description="Ratings given by either side.")


class LearningLedger(BaseModel):
    """Topics learned in each direction, counted once per session (a `both` session counts in both directions)."""

    mentor_to_mentee: dict[str, int]
    mentee_to_mentor: dict[str, int]


class Mix(BaseModel):
    pairs_considered: int = Field(
        description="Pairs formed whose mentor's and mentee's profiles are both known (neither member erased)."
    )
    cross_generation: int = Field(description="Pairs whose mentor and mentee belong to different generations.")
    cross_generation_share: float | None
    cross_department: int = Field(description="Pairs whose mentor and mentee work in different departments.")
    cross_department_share: float | None


class GoalsAdvanced(BaseModel):
    """Sessions' advances of agreed goals by the goal's direction: one per goal a session names as advanced."""

    mentor_to_mentee: int = Field(description="Advances of goals the mentee learns from the mentor.")
    mentee_to_mentor: int = Field(description="Advances of goals the mentor learns from the mentee (the reverse).")


class Partnerships(BaseModel):
    """How matches were taken up, agreed on and ended (issue #15). Counts only: no one's words or identity."""

    proposals: int = Field(description="Pairs a round proposed for acceptance (PairProposed) at or before as_of.")
    pending: int = Field(0, description="Proposals neither accepted, declined nor expired at as_of.")
    accepted: int = Field(description="Proposals whose pair started (accepted as the program's mode requires).")
    declined: int = Field(description="Proposals a member declined before their pair started.")
    expired: int = Field(description="Proposals that expired before their pair started.")
    acceptance_rate: float | None = Field(
        description="accepted / (accepted + declined + expired): of the proposals answered or expired, the share "
        "that started; null when none was."
    )
    median_hours_to_accept: float | None = Field(
        description="Median over accepted proposals of the hours from proposal to the pair's start; null without any."
    )
    agreements_in_force: int = Field(
        description="Active pairs with an agreement both members signed (an AgreementInForce) at as_of."
    )
    agreements_signed: int = Field(
        0, description="Pairs, active or ended, whose agreement came into force at least once by as_of."
    )
    goals_advanced: GoalsAdvanced
    completed: int = Field(description="Pairs completed (ran their course) at or before as_of.")
    dissolved: int = Field(description="Pairs dissolved (ended early) at or before as_of.")
    completion_rate: float | None = Field(
        description="completed / (completed + dissolved): of the pairs that ended, the share that ran their course; "
        "null when none ended."
    )
    completed_by: dict[str, int] = Field(
        default_factory=dict, description="Completed pairs by who ended them: schedule, members, admin."
    )
    decline_reasons: dict[str, int] = Field(description="Declines by reason category (every category listed).")
    dissolution_reasons: dict[str, int] = Field(
        description="Dissolved pairs by reason category (every category listed)."
    )
    reflections: int = Field(0, description="Closing reflections recorded by members of completed pairs.")
    would_recommend_rate: float | None = Field(
        None, description="Share of those reflections that would recommend the program; null without any."
    )


class Recognition(BaseModel):
    """Training, certificates, kudos and stories (issue #16): counts only. A by-role cell that could single
    someone out is null (see small_cells), so no one's training can be singled out."""

    small_group: int = Field(5, description="The program's min_group_size: smaller by-role cells are null.")
    trained_by_role: dict[str, int | None] = Field(
        default_factory=dict,
        description="Participants (by their role as of as_of) who completed at least one training module; null: "
        "withheld (see small_cells).",
    )
    trained: int = Field(0, description="Participants who completed at least one training module.")
    modules_completed: int = Field(0, description="Completions of a module version, one per person and version.")
    certificates_issued: int = Field(0, description="Certificates issued to members of completed pairs.")
    kudos_given: int = Field(0, description="Kudos partners gave each other.")
    stories_shared: int = Field(0, description="Pairs whose two members both shared their reflection as a story.")


class TargetProgress(BaseModel):
    name: str
    target: float
    actual: float | None = Field(description="Null for a target name insights does not measure.")
    progress: float | None = Field(description="actual / target; null when either is unknown or the target is 0.")


class PairRow(BaseModel):
    pair_id: str
    mentor_id: str
    mentee_id: str
    status: PairStatus = Field(description="active; dissolved (ended early); completed (ran its course).")
    origin: Literal["round", "manual"] = Field("round", description="Proposed by a round, or paired by an admin.")
    formed_at: datetime
    dissolved_at: datetime | None
    dissolution_reason: str | None = Field(None, description="The dissolution's reason category.")
    completed_at: datetime | None = None
    completed_by: str | None = Field(None, description="schedule, members or admin.")
    agreement_in_force: bool = Field(False, description="Both members signed an agreement by as_of.")
    sessions: int
    minutes: int
    last_session: date | None = Field(description="held_on of the pair's latest session.")
    latest_mentor_rating: int | None = Field(description="The mentor's most recent rating of the pair.")
    latest_mentee_rating: int | None = Field(description="The mentee's most recent rating of the pair.")
    days_without_session: int | None = Field(
        description="Whole UTC days from the last session (or from formation when none) to as_of; active pairs."
    )
    cadence_adherence: float | None = Field(description="See Sessions.cadence_adherence; null when none was due.")
    at_risk: bool
    at_risk_reasons: list[RiskReason] = Field(
        description="no_recent_session: days_without_session > 1.5 x cadence_days; "
        "low_rating: the latest rating of either side <= 2. Active pairs only."
    )


class AtRiskPair(BaseModel):
    pair_id: str
    mentor_id: str
    mentee_id: str
    reasons: list[RiskReason]
    days_without_session: int | None
    latest_mentor_rating: int | None
    latest_mentee_rating: int | None


class SmallCells(BaseModel):
    """How the report keeps anyone from being singled out (issue #19, services/insights/domain/small_cells.py)."""

    min_group_size: int = Field(5, description="No cut shows a group of fewer people than this.")
    explanation: str = ""


class ProgramReport(BaseModel):
    program_id: str
    title: str
    as_of: datetime = Field(description="Only facts whose event time is at or before this instant are counted.")
    cadence_days: int
    participants: Participants
    matching: Matching
    pairs: Pairs
    sessions: Sessions
    at_risk_pairs: list[AtRiskPair]
    ratings: Ratings
    learning_ledger: LearningLedger
    mix: Mix
    partnerships: Partnerships
    recognition: Recognition = Field(default_factory=Recognition)
    small_cells: SmallCells = Field(default_factory=SmallCells)
    targets: list[TargetProgress] = Field(description="Progress against each of the program's targets, by name.")


class OverviewRow(BaseModel):
    """One program's headline figures, for a caller overseeing several programs."""

    program_id: str
    title: str
    closed_at: datetime | None
    active_participants: int
    active_pairs: int
    proposals: int
    acceptance_rate: float | None
    median_hours_to_accept: float | None
    agreements_in_force: int
    completed: int
    dissolved: int
    completion_rate: float | None
    at_risk: int


class Overview(BaseModel):
    as_of: datetime = Field(description="Only facts whose event time is at or before this instant are counted.")
    programs: list[OverviewRow] = Field(description="The programs the caller oversees, in launch order.")
