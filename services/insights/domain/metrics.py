"""The program's figures as pure functions of the facts and an instant `as_of`: no I/O, so every definition is
unit-tested with hand-built facts. Each function first keeps only what was known at `as_of` (`Facts.until`)."""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import get_args

from services.insights.domain.facts import Facts, Feedback, Pair, Reflection, Session
from services.insights.domain.generations import ERASED, GENERATIONS, generation
from services.insights.domain.report import (
    AtRiskPair,
    GoalsAdvanced,
    LearningLedger,
    Matching,
    Mix,
    OverviewRow,
    PairRow,
    Pairs,
    Participants,
    Partnerships,
    ProgramReport,
    Ratings,
    Recognition,
    RiskReason,
    Sessions,
    SideRating,
    SmallCells,
    TargetProgress,
)
from services.insights.domain.small_cells import EXPLANATION, protect
from shared.events import DeclineReason, DissolutionReason, MentoringRole
from shared.metrics_catalogue import METRICS

MENTORING_ROLES: tuple[MentoringRole, ...] = get_args(MentoringRole)
OVERDUE_FACTOR = 1.5  # a pair is at risk after 1.5 x cadence_days without a session
LOW_RATING = 2  # ... or when a side's latest rating is this or lower


def whole_days(since: datetime | date, as_of: datetime) -> int:
    """Whole UTC calendar days from `since` to `as_of`."""
    start = since.astimezone(UTC).date() if isinstance(since, datetime) else since
    return (as_of.astimezone(UTC).date() - start).days


def participants(facts: Facts, as_of: datetime) -> Participants:
    known = facts.until(as_of)
    profiles = known.latest_profiles().values()
    withdrawn = known.withdrawn() & {p.participant_id for p in profiles}
    generations: Counter[str] = Counter(generation(p.birth_year) for p in profiles)
    roles = Counter(p.role for p in profiles)
    k = facts.program.min_group_size
    return Participants(
        enrolled=len(profiles),
        active=len(profiles) - len(withdrawn),
        withdrawn=len(withdrawn),
        by_role=protect({r: roles[r] for r in MENTORING_ROLES}, k),
        by_department=protect(dict(sorted(Counter(p.department for p in profiles).items())), k),
        by_generation=protect(_by_generation(generations), k),
    )


def _by_generation(counts: Counter[str]) -> dict[str, int]:
    """Every generation's cell, and the erased people's when there are any (a report before any erasure keeps its
    shape)."""
    cells = {g: counts[g] for g in GENERATIONS}
    return cells | ({ERASED: counts[ERASED]} if counts[ERASED] else {})


def matching(facts: Facts, as_of: datetime) -> Matching:
    known = facts.until(as_of)
    enrolled_at = known.enrolled_at()
    active_people = set(enrolled_at) - known.withdrawn()
    in_active_pair = {m for p in known.pairs if p.active(as_of) for m in (p.mentor_id, p.mentee_id)}
    matched = active_people & in_active_pair
    first_pair: dict[str, datetime] = {}
    for pair in known.pairs:
        for member in (pair.mentor_id, pair.mentee_id):
            first_pair[member] = min(pair.formed_at, first_pair.get(member, pair.formed_at))
    waits = [max(0.0, (first_pair[m] - enrolled_at[m]).total_seconds() / 86400) for m in first_pair if m in enrolled_at]
    return Matching(
        active_participants=len(active_people),
        matched_participants=len(matched),
        match_rate=_share(len(matched), len(active_people)),
        paired_participants=len(waits),
        median_days_to_first_pair=statistics.median(waits) if waits else None,
    )


def cadence_adherence(sessions_held: int, formed_at: datetime, as_of: datetime, cadence_days: int) -> float | None:
    """min(1, held / expected) with expected = floor(whole days since formed / cadence); None when none was due."""
    expected = whole_days(formed_at, as_of) // cadence_days
    return min(1.0, sessions_held / expected) if expected > 0 else None


def pair_rows(facts: Facts, as_of: datetime) -> list[PairRow]:
    known = facts.until(as_of)
    sessions_of: defaultdict[str, list[Session]] = defaultdict(list)
    feedback_of: defaultdict[str, list[Feedback]] = defaultdict(list)
    signed = {a.pair_id for a in known.agreements}
    for session in known.sessions:
        sessions_of[session.pair_id].append(session)
    for given in known.feedback:
        feedback_of[given.pair_id].append(given)
    return [
        _row(pair, sessions_of[pair.pair_id], feedback_of[pair.pair_id], as_of, known.program.cadence_days).model_copy(
            update={"agreement_in_force": pair.pair_id in signed}
        )
        for pair in sorted(known.pairs, key=lambda p: (p.formed_at, p.pair_id))
    ]


def _row(pair: Pair, sessions: list[Session], feedback: list[Feedback], as_of: datetime, cadence: int) -> PairRow:
    mentor_rating, mentee_rating = _latest_rating(feedback, "mentor"), _latest_rating(feedback, "mentee")
    last_session = max((s.held_on for s in sessions), default=None)
    active = pair.active(as_of)
    idle = whole_days(last_session or pair.formed_at, as_of) if active else None
    reasons: list[RiskReason] = []
    if idle is not None and idle > OVERDUE_FACTOR * cadence:
        reasons.append("no_recent_session")
    if active and any(r is not None and r <= LOW_RATING for r in (mentor_rating, mentee_rating)):
        reasons.append("low_rating")
    return PairRow(
        pair_id=pair.pair_id,
        mentor_id=pair.mentor_id,
        mentee_id=pair.mentee_id,
        status=pair.status(as_of),
        origin="manual" if pair.origin == "manual" else "round",
        formed_at=pair.formed_at,
        dissolved_at=pair.dissolved_at,
        dissolution_reason=pair.dissolution_reason if pair.dissolved_at else None,
        completed_at=pair.completed_at,
        completed_by=pair.completed_by,
        sessions=len(sessions),
        minutes=sum(s.minutes for s in sessions),
        last_session=last_session,
        latest_mentor_rating=mentor_rating,
        latest_mentee_rating=mentee_rating,
        days_without_session=idle,
        cadence_adherence=cadence_adherence(len(sessions), pair.formed_at, as_of, cadence) if active else None,
        at_risk=bool(reasons),
        at_risk_reasons=reasons,
    )


def _latest_rating(feedback: list[Feedback], side: str) -> int | None:
    given = [f for f in feedback if f.side == side]
    return max(given, key=lambda f: (f.at, f.feedback_id)).rating if given else None


def pairs(facts: Facts, as_of: datetime) -> Pairs:
    rows = pair_rows(facts, as_of)
    status = Counter(r.status for r in rows)
    return Pairs(
        formed=len(rows),
        active=status["active"],
        dissolved=status["dissolved"],
        completed=status["completed"],
        at_risk=sum(r.at_risk for r in rows),
    )


DECLINE_REASONS: tuple[DeclineReason, ...] = get_args(DeclineReason)
DISSOLUTION_REASONS: tuple[DissolutionReason, ...] = get_args(DissolutionReason)


def partnerships(facts: Facts, as_of: datetime) -> Partnerships:
    """Proposals' outcomes, agreements, goals advanced and how pairs ended. A proposal's outcome is the first that
    happened: its pair started (accepted), else a member declined, else it expired."""
    known = facts.until(as_of)
    started = {p.pair_id: p for p in known.pairs}
    declines = {a.pair_id: a for a in sorted(known.answers, key=lambda a: a.at) if not a.accepted}
    expired = {e.pair_id for e in known.expiries}
    proposed = {p.pair_id: p for p in known.proposals}
    accepted = [started[pid] for pid in proposed if pid in started]
    declined = [declines[pid] for pid in proposed if pid not in started and pid in declines]
    lapsed = [pid for pid in proposed if pid not in started and pid not in declines and pid in expired]
    hours = [
        max(0.0, (pair.formed_at - (pair.proposed_at or proposed[pair.pair_id].proposed_at)).total_seconds() / 3600)
        for pair in accepted
    ]
    status = {p.pair_id: p.status(as_of) for p in known.pairs}
    ended = [p for p in known.pairs if status[p.pair_id] != "active"]
    completed = [p for p in ended if status[p.pair_id] == "completed"]
    dissolved = [p for p in ended if status[p.pair_id] == "dissolved"]
    recommend = [r.would_recommend for r in _latest_reflections(known)]
    decided = len(accepted) + len(declined) + len(lapsed)
    return Partnerships(
        proposals=len(proposed),
        pending=len(proposed) - decided,
        accepted=len(accepted),
        declined=len(declined),
        expired=len(lapsed),
        acceptance_rate=_share(len(accepted), decided),
        median_hours_to_accept=statistics.median(hours) if hours else None,
        agreements_in_force=len({a.pair_id for a in known.agreements if status[a.pair_id] == "active"}),
        agreements_signed=len({a.pair_id for a in known.agreements}),
        goals_advanced=goals_advanced(facts, as_of),
        completed=len(completed),
        dissolved=len(dissolved),
        completion_rate=_share(len(completed), len(ended)),
        completed_by=dict(sorted(Counter(p.completed_by or "schedule" for p in completed).items())),
        decline_reasons=_every(DECLINE_REASONS, Counter(d.reason_code or "other" for d in declined)),
        dissolution_reasons=_every(DISSOLUTION_REASONS, Counter(p.dissolution_reason or "other" for p in dissolved)),
        reflections=len(recommend),
        would_recommend_rate=_share(sum(recommend), len(recommend)),
    )


def goals_advanced(facts: Facts, as_of: datetime) -> GoalsAdvanced:
    """Each goal a session names counts once for that session, in its goal's direction; a goal whose agreement is
    not known yet (the sessions topic is read apart from the agreement's) is not counted until it is."""
    known = facts.until(as_of)
    direction = {(g.pair_id, g.goal_id): g.direction for g in known.goals}
    advanced = Counter(
        direction[(s.pair_id, goal)]
        for s in known.sessions
        for goal in set(s.goals_advanced)
        if (s.pair_id, goal) in direction
    )
    return GoalsAdvanced(mentor_to_mentee=advanced["mentor_to_mentee"], mentee_to_mentor=advanced["mentee_to_mentor"])


def _latest_reflections(known: Facts) -> list[Reflection]:
    """A member's latest reflection on a pair counts (a member may give it again)."""
    latest: dict[tuple[str, str], Reflection] = {}
    for reflection in sorted(known.reflections, key=lambda r: r.at):
        latest[(reflection.pair_id, reflection.participant_id)] = reflection
    return list(latest.values())


def _every(codes: tuple[str, ...], counts: Counter[str]) -> dict[str, int]:
    return {code: counts[code] for code in codes}


def at_risk_pairs(facts: Facts, as_of: datetime) -> list[AtRiskPair]:
    return [
        AtRiskPair(
            pair_id=r.pair_id,
            mentor_id=r.mentor_id,
            mentee_id=r.mentee_id,
            reasons=r.at_risk_reasons,
            days_without_session=r.days_without_session,
            latest_mentor_rating=r.latest_mentor_rating,
            latest_mentee_rating=r.latest_mentee_rating,
        )
        for r in pair_rows(facts, as_of)
        if r.at_risk
    ]


def sessions(facts: Facts, as_of: datetime) -> Sessions:
    rows = pair_rows(facts, as_of)
    total, minutes = sum(r.sessions for r in rows), sum(r.minutes for r in rows)
    adherence = [r.cadence_adherence for r in rows if r.cadence_adherence is not None]
    return Sessions(
        total=total,
        minutes=minutes,
        average_per_pair=total / len(rows) if rows else None,
        average_minutes_per_pair=minutes / len(rows) if rows else None,
        pairs_due=len(adherence),
        cadence_adherence=statistics.fmean(adherence) if adherence else None,
    )


def ratings(facts: Facts, as_of: datetime) -> Ratings:
    known = facts.until(as_of)

    k = facts.program.min_group_size

    def side(given: list[Feedback], withheld: bool = False) -> SideRating:
        # A mean of fewer than k people's ratings is one of them; so are both sides' when either is, since the
        # overall mean and one side's would give the other back (small_cells.py).
        raters = len({(f.pair_id, f.side) for f in given})
        mean = statistics.fmean(f.rating for f in given) if given else None
        return SideRating(average=None if withheld or 0 < raters < k else mean, count=len(given))

    by_side = {s: [f for f in known.feedback if f.side == s] for s in ("mentor", "mentee")}
    small_side = any(0 < len({(f.pair_id, f.side) for f in given}) < k for given in by_side.values())
    return Ratings(
        mentor=side(by_side["mentor"], withheld=small_side),
        mentee=side(by_side["mentee"], withheld=small_side),
        overall=side(known.feedback),
    )


def learning_ledger(facts: Facts, as_of: datetime) -> LearningLedger:
    to_mentee: Counter[str] = Counter()
    to_mentor: Counter[str] = Counter()
    for session in facts.until(as_of).sessions:
        topics = set(session.topics)  # a topic named twice in one session counts once
        if session.direction in ("mentor_to_mentee", "both"):
            to_mentee.update(topics)
        if session.direction in ("mentee_to_mentor", "both"):
            to_mentor.update(topics)
    return LearningLedger(mentor_to_mentee=_ranked(to_mentee), mentee_to_mentor=_ranked(to_mentor))


def _ranked(counts: Counter[str]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def mix(facts: Facts, as_of: datetime) -> Mix:
    known = facts.until(as_of)
    profiles = known.latest_profiles()
    # An erased member's profile is no longer known (its department and birth year read as erased values).
    known_profiles = {pid: p for pid, p in profiles.items() if generation(p.birth_year) != ERASED}
    couples = [
        (known_profiles[p.mentor_id], known_profiles[p.mentee_id])
        for p in known.pairs
        if p.mentor_id in known_profiles and p.mentee_id in known_profiles
    ]
    generations = sum(generation(a.birth_year) != generation(b.birth_year) for a, b in couples)
    departments = sum(a.department != b.department for a, b in couples)
    return Mix(
        pairs_considered=len(couples),
        cross_generation=generations,
        cross_generation_share=_share(generations, len(couples)),
        cross_department=departments,
        cross_department_share=_share(departments, len(couples)),
    )


def recognition(facts: Facts, as_of: datetime) -> Recognition:
    """Training completion by role, certificates, kudos, and stories (pairs whose mentor and mentee both shared)."""
    known = facts.until(as_of)
    profiles = known.latest_profiles()
    trained = {t.participant_id for t in known.trainings}
    roles = Counter(profiles[p].role for p in trained if p in profiles)
    given = Counter(kind for kind, _ in {(r.kind, r.ref) for r in known.recognitions})
    choices = sorted((r for r in known.recognitions if r.kind in ("story", "story_withdrawn")), key=lambda r: r.at)
    latest = {(r.pair_id, r.participant_id): r.kind for r in choices}  # each member's last choice until as_of
    sharers = {member for member, kind in latest.items() if kind == "story"}
    stories = sum((p.pair_id, p.mentor_id) in sharers and (p.pair_id, p.mentee_id) in sharers for p in known.pairs)
    return Recognition(
        small_group=facts.program.min_group_size,
        trained_by_role=protect({role: roles[role] for role in MENTORING_ROLES}, facts.program.min_group_size),
        trained=len(trained),
        modules_completed=len({(t.participant_id, t.module_id, t.module_version) for t in known.trainings}),
        certificates_issued=given["certificate"],
        kudos_given=given["kudos"],
        stories_shared=stories,
    )


# Measurable targets (ProgramSettings.targets): name -> the report figure it is compared with. The names and their
# meanings are shared/metrics_catalogue.py's, which enrolment checks a program's targets against.
MEASURES: dict[str, Callable[[ProgramReport], float | None]] = {
    "participants_enrolled": lambda r: r.participants.enrolled,
    "active_participants": lambda r: r.participants.active,
    "pairs_formed": lambda r: r.pairs.formed,
    "active_pairs": lambda r: r.pairs.active,
    "match_rate": lambda r: r.matching.match_rate,
    "sessions_held": lambda r: r.sessions.total,
    "sessions_per_pair": lambda r: r.sessions.average_per_pair,
    "minutes_per_pair": lambda r: r.sessions.average_minutes_per_pair,
    "cadence_adherence": lambda r: r.sessions.cadence_adherence,
    "average_rating": lambda r: r.ratings.overall.average,
    "cross_generation_share": lambda r: r.mix.cross_generation_share,
    "cross_department_share": lambda r: r.mix.cross_department_share,
    "acceptance_rate": lambda r: r.partnerships.acceptance_rate,
    "agreements_in_force": lambda r: r.partnerships.agreements_in_force,
    "agreements_signed": lambda r: r.partnerships.agreements_signed,
    "goals_advanced": lambda r: (
        r.partnerships.goals_advanced.mentor_to_mentee + r.partnerships.goals_advanced.mentee_to_mentor
    ),
    "pairs_completed": lambda r: r.partnerships.completed,
    "completion_rate": lambda r: r.partnerships.completion_rate,
    "would_recommend_rate": lambda r: r.partnerships.would_recommend_rate,
}
assert set(MEASURES) == set(METRICS), "every catalogued metric is measured here, and only those"


def target_progress(targets: dict[str, float], report: ProgramReport) -> list[TargetProgress]:
    """Each target, by name, with the report's actual figure (as of the report's as_of) and actual / target."""
    progress = []
    for name, target in sorted(targets.items()):
        measure = MEASURES.get(name)
        actual = measure(report) if measure else None
        ratio = actual / target if actual is not None and target and math.isfinite(target) else None
        progress.append(TargetProgress(name=name, target=target, actual=actual, progress=ratio))
    return progress


def program_report(facts: Facts, as_of: datetime) -> ProgramReport:
    report = ProgramReport(
        program_id=facts.program.program_id,
        title=facts.program.title,
        as_of=as_of,
        cadence_days=facts.program.cadence_days,
        participants=participants(facts, as_of),
        matching=matching(facts, as_of),
        pairs=pairs(facts, as_of),
        sessions=sessions(facts, as_of),
        at_risk_pairs=at_risk_pairs(facts, as_of),
        ratings=ratings(facts, as_of),
        learning_ledger=learning_ledger(facts, as_of),
        mix=mix(facts, as_of),
        partnerships=partnerships(facts, as_of),
        recognition=recognition(facts, as_of),
        small_cells=SmallCells(
            min_group_size=facts.program.min_group_size,
            explanation=EXPLANATION.format(k=facts.program.min_group_size),
        ),
        targets=[],
    )
    return report.model_copy(update={"targets": target_progress(facts.program.targets, report)})


def overview_row(facts: Facts, as_of: datetime) -> OverviewRow:
    """A program's headline figures, from the same definitions as its report."""
    report = program_report(facts, as_of)
    partnership = report.partnerships
    return OverviewRow(
        program_id=report.program_id,
        title=report.title,
        closed_at=facts.until(as_of).program.closed_at,
        active_participants=report.participants.active,
        active_pairs=report.pairs.active,
        proposals=partnership.proposals,
        acceptance_rate=partnership.acceptance_rate,
        median_hours_to_accept=partnership.median_hours_to_accept,
        agreements_in_force=partnership.agreements_in_force,
        completed=partnership.completed,
        dissolved=partnership.dissolved,
        completion_rate=partnership.completion_rate,
        at_risk=report.pairs.at_risk,
    )


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None
