"""Hard constraints: a pair that breaks one is never proposed, whatever its score.

A pair is oriented (mentor, mentee). Per pair:
- `self`: nobody is paired with themself;
- `role`: the mentor has role mentor or both, the mentee mentee or both;
- `grade`: reverse mentoring, so the mentor is strictly junior (lower grade) than the mentee;
- `language`: at least one common language;
- `reporting_line`: neither appears in the other's reporting chain (a mentee who decides the mentor's
  promotion is exactly the pair the program must not create);
- `dissolved`: a pair dissolved earlier, in either orientation, is never proposed again.

Per round (`RoundRules`):
- withdrawal: withdrawn participants are listed in the round's `withdrawn` set, take no part, and their
  active pairs are ignored (the service dissolves them), so their partners are free again;
- sides: a `both` participant plays exactly one side in a round: the side they already play in an active
  pair, otherwise mentor when their grade is below the median grade of the round's pool, mentee otherwise
  (juniors have the most people to mentor, seniors the most people to learn from). Without this rule the
  best round could make someone mentee and mentor at once;
- capacity: a mentee has one mentor; a mentor takes at most `capacity` mentees, active pairs included.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from statistics import median
from typing import Literal

import numpy as np
import numpy.typing as npt

from services.matching.domain.model import Candidate, ExistingPair

Side = Literal["mentor", "mentee"]
Dissolved = AbstractSet[frozenset[str]]
IntArray = npt.NDArray[np.int64]

PAIR_CONSTRAINTS = ("self", "role", "grade", "language", "reporting_line", "dissolved")


def check_not_self(mentor: Candidate, mentee: Candidate) -> bool:
    return mentor.participant_id != mentee.participant_id


def check_roles(mentor: Candidate, mentee: Candidate) -> bool:
    return mentor.role in ("mentor", "both") and mentee.role in ("mentee", "both")


def check_mentor_is_junior(mentor: Candidate, mentee: Candidate) -> bool:
    return mentor.grade < mentee.grade


def check_common_language(mentor: Candidate, mentee: Candidate) -> bool:
    return not mentor.languages.isdisjoint(mentee.languages)


def check_outside_reporting_line(mentor: Candidate, mentee: Candidate) -> bool:
    return mentor.participant_id not in mentee.reporting_chain and mentee.participant_id not in mentor.reporting_chain


def check_not_dissolved(mentor: Candidate, mentee: Candidate, dissolved: Dissolved) -> bool:
    return frozenset((mentor.participant_id, mentee.participant_id)) not in dissolved


def violated_constraints(mentor: Candidate, mentee: Candidate, dissolved: Dissolved = frozenset()) -> tuple[str, ...]:
    """The names of the pair constraints (mentor, mentee) breaks, in `PAIR_CONSTRAINTS` order."""
    checks = (
        check_not_self(mentor, mentee),
        check_roles(mentor, mentee),
        check_mentor_is_junior(mentor, mentee),
        check_common_language(mentor, mentee),
        check_outside_reporting_line(mentor, mentee),
        check_not_dissolved(mentor, mentee, dissolved),
    )
    return tuple(name for name, ok in zip(PAIR_CONSTRAINTS, checks, strict=True) if not ok)


def is_eligible(mentor: Candidate, mentee: Candidate, dissolved: Dissolved = frozenset()) -> bool:
    return not violated_constraints(mentor, mentee, dissolved)


def forbidden_by_history(pool: Iterable[Candidate], dissolved: Dissolved) -> set[frozenset[str]]:
    """Unordered pairs within the pool excluded by reporting lines or dissolution, whatever the grades."""
    ids = {c.participant_id for c in pool}
    forbidden = {pair for pair in dissolved if pair <= ids and len(pair) == 2}
    for candidate in pool:
        forbidden.update(
            frozenset((candidate.participant_id, boss))
            for boss in candidate.reporting_chain
            if boss in ids and boss != candidate.participant_id
        )
    return forbidden


def history_links(people: Sequence[Candidate], dissolved: Dissolved) -> tuple[IntArray, IntArray]:
    """The pairs `forbidden_by_history` names, as row indices into `people` (person, other): each reporting
    link once as (report, manager), each dissolved couple once, self-links and ids outside the pool left out.
    The order is fixed by `people` and the sorted couples, so the arrays are the same run after run."""
    row = {c.participant_id: i for i, c in enumerate(people)}
    lengths = np.fromiter((len(c.reporting_chain) for c in people), dtype=np.int64, count=len(people))
    bosses = np.fromiter(
        (row.get(boss, -1) for c in people for boss in c.reporting_chain), dtype=np.int64, count=int(lengths.sum())
    )
    owners = np.repeat(np.arange(len(people), dtype=np.int64), lengths)
    couples = [sorted(pair) for pair in dissolved if len(pair) == 2]
    ends = np.array(sorted((row.get(a, -1), row.get(b, -1)) for a, b in couples), dtype=np.int64).reshape(-1, 2)
    person, other = np.concatenate([owners, ends[:, 0]]), np.concatenate([bosses, ends[:, 1]])
    keep = (person >= 0) & (other >= 0) & (person != other)
    return person[keep], other[keep]


@dataclass(frozen=True)
class RoundRules:
    """Who takes part in a round, on which side, and how much capacity each mentor has left."""

    sides: dict[str, Side]
    remaining_capacity: dict[str, int]
    kept_pairs: tuple[ExistingPair, ...]

    @classmethod
    def of(cls, pool: Iterable[Candidate], active: Iterable[ExistingPair], withdrawn: frozenset[str]) -> RoundRules:
        present = {c.participant_id: c for c in pool if c.participant_id not in withdrawn}
        kept = tuple(
            sorted(
                (p for p in active if p.mentor_id in present and p.mentee_id in present),
                key=lambda p: (p.mentor_id, p.mentee_id),
            )
        )
        sides = _sides(list(present.values()), kept)
        mentoring = Counter(p.mentor_id for p in kept)
        taken = {p.mentee_id for p in kept}
        remaining = {
            pid: 0 if pid in taken else present[pid].capacity - mentoring[pid] if side == "mentor" else 1
            for pid, side in sides.items()
        }
        return cls(sides=sides, remaining_capacity=remaining, kept_pairs=kept)

    def available(self, side: Side) -> list[str]:
        """Ids that can still take a pair on `side` this round, sorted."""
        return sorted(pid for pid, s in self.sides.items() if s == side and self.remaining_capacity[pid] > 0)


def _sides(present: list[Candidate], kept: tuple[ExistingPair, ...]) -> dict[str, Side]:
    if not present:
        return {}
    median_grade = median(c.grade for c in present)
    mentors_in_kept = {p.mentor_id for p in kept}
    mentees_in_kept = {p.mentee_id for p in kept}
    sides: dict[str, Side] = {}
    for c in present:
        if c.role != "both":
            sides[c.participant_id] = c.role
        elif c.participant_id in mentees_in_kept:
            sides[c.participant_id] = "mentee"
        elif c.participant_id in mentors_in_kept:
            sides[c.participant_id] = "mentor"
        else:
            sides[c.participant_id] = "mentor" if c.grade < median_grade else "mentee"
    return sides
