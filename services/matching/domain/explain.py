"""Why a participant stays unmatched: a reason code and a sentence naming what kept partners away.

- `withdrawn`: the participant withdrew; they take no part in the round.
- `capacity`: eligible partners exist, but the optimal round pairs every one of them elsewhere.
- `no_eligible_partner`: nobody passes the hard constraints; the detail counts, for each constraint,
  how many potential partners it excluded (each partner counted once, under the first constraint it
  fails, in the order: role, grade, language, reporting_line, dissolved, side, capacity, min_score).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from services.matching.domain.constraints import Dissolved, RoundRules, history_links
from services.matching.domain.model import Candidate, ProgramSettings, Unmatched
from services.matching.domain.scoring import (
    IntArray,
    Side,
    Vocabulary,
    criterion_matrix,
    min_quantized,
    quantized_scores,
)


def explain_unmatched(
    people: list[Candidate],
    settings: ProgramSettings,
    rules: RoundRules,
    dissolved: Dissolved,
    withdrawn: frozenset[str],
    matched: set[str],
    has_partner: set[str],
) -> tuple[Unmatched, ...]:
    in_active_pairs = {pid for p in rules.kept_pairs for pid in (p.mentor_id, p.mentee_id)}
    busy = matched | in_active_pairs
    pending = [c for c in people if c.participant_id not in busy]
    explained: list[Unmatched] = []
    pool: _PoolArrays | None = None
    for candidate in pending:
        pid = candidate.participant_id
        if pid in withdrawn:
            explained.append(Unmatched(pid, "withdrawn", "withdrew from the program"))
            continue
        partner = "mentee" if rules.sides[pid] == "mentor" else "mentor"
        if pid in has_partner:
            explained.append(_capacity(pid, partner))
            continue
        pool = pool or _PoolArrays.of(people, settings, rules, dissolved, withdrawn)
        counts = pool.exclusions(pid)
        if counts.pop("eligible"):
            explained.append(_capacity(pid, partner))
        else:
            explained.append(_no_partner(pid, partner, rules.sides[pid], counts))
    return tuple(explained)


def _capacity(pid: str, partner: str) -> Unmatched:
    return Unmatched(pid, "capacity", f"every eligible {partner} is paired elsewhere in the optimal round")


def _no_partner(pid: str, partner: str, side: str, counts: dict[str, int]) -> Unmatched:
    excluded = ", ".join(f"{name} {n}" for name, n in counts.items() if n)
    return Unmatched(
        pid,
        "no_eligible_partner",
        f"no eligible {partner} as {side} (potential partners excluded by: {excluded or 'none in pool'})",
    )


@dataclass(frozen=True)
class _PoolArrays:
    """The present (not withdrawn) pool as arrays, to count exclusions for one participant at a time."""

    settings: ProgramSettings
    rules: RoundRules
    row: dict[str, int]
    side: Side
    can_mentor: np.ndarray
    can_mentee: np.ndarray
    plays_mentor: np.ndarray
    free: np.ndarray
    reporting: _Neighbours
    dissolved: dict[int, set[int]]

    @classmethod
    def of(
        cls,
        people: list[Candidate],
        settings: ProgramSettings,
        rules: RoundRules,
        dissolved: Dissolved,
        withdrawn: frozenset[str],
    ) -> _PoolArrays:
        present = [c for c in people if c.participant_id not in withdrawn]
        row = {c.participant_id: i for i, c in enumerate(present)}
        return cls(
            settings=settings,
            rules=rules,
            row=row,
            side=Side.of(present, Vocabulary.of(present, settings.focus_areas)),
            can_mentor=np.array([c.role != "mentee" for c in present]),
            can_mentee=np.array([c.role != "mentor" for c in present]),
            plays_mentor=np.array([rules.sides[c.participant_id] == "mentor" for c in present]),
            free=np.array([rules.remaining_capacity[c.participant_id] > 0 for c in present]),
            reporting=_Neighbours.of(*history_links(present, frozenset())),
            dissolved=_links((tuple(pair) for pair in dissolved if len(pair) == 2), row),
        )

    def exclusions(self, pid: str) -> dict[str, int]:
        me = self.row[pid]
        as_mentor = bool(self.plays_mentor[me])
        grade = self.side.grade
        checks = {
            "role": self.can_mentee if as_mentor else self.can_mentor,
            "grade": grade > grade[me] if as_mentor else grade < grade[me],
            "language": (self.side.languages & self.side.languages[me]).any(axis=1),
            "reporting_line": ~_mask(len(grade), self.reporting.of_row(me)),
            "dissolved": ~_mask(len(grade), self.dissolved.get(me, set())),
            "side": self.plays_mentor != as_mentor,
            "capacity": self.free,
        }
        alive = np.ones(len(grade), dtype=bool)
        alive[me] = False
        counts = {}
        for name, ok in checks.items():
            counts[name] = int((alive & ~ok).sum())
            alive &= ok
        counts["min_score"] = self._below_min_score(me, np.flatnonzero(alive), as_mentor)
        counts["eligible"] = int(alive.sum()) - counts["min_score"]
        return counts

    def _below_min_score(self, me: int, partners: IntArray, as_mentor: bool) -> int:
        if self.settings.min_score <= 0 or not len(partners):
            return 0
        mine = np.full(len(partners), me)
        mentor_rows, mentee_rows = (mine, partners) if as_mentor else (partners, mine)
        rows = criterion_matrix(self.side, self.side, mentor_rows, mentee_rows, len(self.settings.focus_areas))
        q = quantized_scores(rows, self.settings.weights)
        return int((q < min_quantized(self.settings.min_score)).sum())


@dataclass(frozen=True)
class _Neighbours:
    """Undirected links as arrays sorted by their first end: a 1 M-person tree has millions of reporting links,
    which as a dict of sets cost gigabytes; only a few participants ever need theirs."""

    first: IntArray
    second: IntArray

    @classmethod
    def of(cls, a: IntArray, b: IntArray) -> _Neighbours:
        first, second = np.concatenate([a, b]), np.concatenate([b, a])
        order = np.argsort(first, kind="stable")
        return cls(first[order], second[order])

    def of_row(self, row: int) -> IntArray:
        lo, hi = np.searchsorted(self.first, [row, row + 1])
        return self.second[lo:hi]


def _links(pairs: Iterable[tuple[str, ...]], row: dict[str, int]) -> dict[int, set[int]]:
    links: dict[int, set[int]] = defaultdict(set)
    for a, b in pairs:
        if a in row and b in row and a != b:
            links[row[a]].add(row[b])
            links[row[b]].add(row[a])
    return links


def _mask(n: int, rows: set[int] | IntArray) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[np.fromiter(rows, dtype=np.int64) if isinstance(rows, set) else rows] = True
    return mask
