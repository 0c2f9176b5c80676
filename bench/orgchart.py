"""Realistic enterprise pools for the matching benchmark: a management tree, generated deterministically.

The bench's older pool family (`bench.matching.realistic_pool`) draws managers at random within a department and
keeps at most three of them per chain; real org charts are deeper and far more regular, and that is where the
reporting-line rule bites: a senior mentee may not be paired with anyone in their own organisation, which for a
division head is a large share of the people who speak their language. This family has
- a management tree filled breadth first, each manager with 4-9 direct reports (so about 15 % are managers and a
  1 M-person company is 8 levels deep), every reporting chain complete up to the root;
- grades falling with depth: a manager's grade is 12 minus their depth (at least 4), an individual contributor
  is 1-4 grades below their manager;
- roles from grade: about 15 % `both`, seniors (grade 7 and up) mentees, the others mentors; a quarter of the
  mentors with capacity 2;
- departments from the level-2 manager, countries (and so language groups) per level-3 team: the team speaks the
  local language, and English with a probability rising with grade; the top three levels sit at headquarters.

Everything is drawn from one numpy generator seeded by the caller, vectorised (1 M people in seconds); the same
(n, seed) always gives the same pool, participant ids included.
"""

from __future__ import annotations

import numpy as np

from services.matching.domain.model import Candidate

SKILLS = [f"skill-{i:02d}" for i in range(40)]
DIGITAL = 15  # the first 15 skills: what juniors typically offer and seniors want
STYLES = ["direct", "reflective", "visual", "socratic"]
FOCUS = ["diversity", "digital-skills", "social-media"]
COUNTRIES = [  # (language, UTC offset, share of the teams)
    ("en", -5.0, 0.25),
    ("de", 1.0, 0.15),
    ("fr", 1.0, 0.12),
    ("es", 1.0, 0.1),
    ("hi", 5.5, 0.12),
    ("ja", 9.0, 0.08),
    ("pt", -3.0, 0.1),
    ("pl", 1.0, 0.08),
]
SPAN = (4, 9)
BOTH_SHARE = 0.15
MENTEE_GRADE = 7
CAPACITY_TWO_SHARE = 0.25


def enterprise_pool(n: int, seed: int) -> list[Candidate]:
    """n participants of one company's management tree (see the module docstring)."""
    rng = np.random.default_rng(seed)
    parent = _tree(rng, n)
    depth = _depths(parent)
    ancestors = _ancestors(parent, depth)
    is_manager = np.bincount(parent[1:], minlength=n) > 0
    grade = np.maximum(4, 12 - depth)
    ic = ~is_manager
    # Breadth-first order puts every manager before their reports, so one pass per level fixes the grades.
    for level in range(1, int(depth.max()) + 1):
        at = np.flatnonzero(ic & (depth == level))
        grade[at] = np.maximum(1, grade[parent[at]] - rng.integers(1, 5, len(at)))
    role = np.where(grade >= MENTEE_GRADE, "mentee", "mentor").astype(object)
    role[rng.random(n) < BOTH_SHARE] = "both"
    capacity = np.where(rng.random(n) < CAPACITY_TWO_SHARE, 2, 1)
    capacity[role == "mentee"] = 1
    department = _ancestor_at(ancestors, depth, 2)
    team = _ancestor_at(ancestors, depth, 3)
    country_of_team = rng.choice(len(COUNTRIES), n, p=[c[2] for c in COUNTRIES])
    country = np.where(depth < 3, 0, country_of_team[team])
    english = rng.random(n) < np.where(grade >= MENTEE_GRADE, 0.8, 0.45)
    birth_year = 2003 - 2 * grade - rng.integers(0, 12, n)
    offered, wanted = _skills(rng, grade)
    style = rng.integers(0, len(STYLES), n)
    focus = rng.random((n, len(FOCUS))) < 0.35
    # Ids are a seeded shuffle of the tree order, so sorting by id (as the engine does) scatters the tree.
    ids = [f"p{i:07d}" for i in rng.permutation(n)]
    languages = [frozenset({c[0]}) for c in COUNTRIES]
    with_english = [frozenset({c[0], "en"}) for c in COUNTRIES]
    skill_sets: dict[bytes, frozenset[str]] = {}  # one frozenset per distinct skill mask keeps 1 M candidates small
    people = []
    for i in range(n):
        chain = ancestors[i, : depth[i]]
        people.append(
            Candidate(
                participant_id=ids[i],
                role=role[i],
                grade=int(grade[i]),
                birth_year=int(birth_year[i]),
                department=f"dept-{department[i]:07d}",
                utc_offset_hours=COUNTRIES[country[i]][1],
                languages=(with_english if english[i] else languages)[country[i]],
                reporting_chain=tuple(ids[b] for b in chain),
                skills_offered=_interned(skill_sets, offered[i]),
                skills_wanted=_interned(skill_sets, wanted[i]),
                communication_style=STYLES[style[i]],
                capacity=int(capacity[i]),
                focus_areas=frozenset(f for f, on in zip(FOCUS, focus[i], strict=True) if on),
            )
        )
    return people


def _tree(rng: np.random.Generator, n: int) -> np.ndarray:
    """parent[i] for a tree filled breadth first (parent[0] = -1): node k's reports are the next span_k nodes."""
    spans = rng.integers(SPAN[0], SPAN[1] + 1, n)
    parent = np.repeat(np.arange(n), spans)[: n - 1]
    return np.r_[-1, parent]


def _depths(parent: np.ndarray) -> np.ndarray:
    depth = np.zeros(len(parent), dtype=np.int64)
    while True:  # one pass per level: parents come first, so depths settle after the tree's height
        new = np.r_[0, depth[parent[1:]] + 1]
        if np.array_equal(new, depth):
            return depth
        depth = new


def _ancestors(parent: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """(n, height) matrix: row i lists i's managers, nearest first, then -1."""
    height = int(depth.max())
    out = np.full((len(parent), max(1, height)), -1, dtype=np.int64)
    current = parent.copy()
    for level in range(height):
        out[:, level] = current
        current = np.where(current >= 0, parent[np.maximum(current, 0)], -1)
    return out


def _ancestor_at(ancestors: np.ndarray, depth: np.ndarray, level: int) -> np.ndarray:
    """Each node's ancestor at `level` (itself when at that level, the root's side for shallower nodes: 0)."""
    index = depth - level - 1  # position of the level-`level` ancestor in the nearest-first row
    found = ancestors[np.arange(len(depth)), np.maximum(index, 0)]
    return np.where(index >= 0, found, np.where(depth == level, np.arange(len(depth)), 0))


def _skills(rng: np.random.Generator, grade: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boolean skill masks: juniors offer digital skills and want the others, seniors the other way round."""
    n = len(grade)
    junior = grade <= 5
    digital = np.zeros(len(SKILLS), dtype=bool)
    digital[:DIGITAL] = True

    def pick(pool_mask: np.ndarray, low: int, high: int) -> np.ndarray:
        keys = rng.random((n, len(SKILLS)))
        keys[~pool_mask] = 2.0  # never among the first k
        count = rng.integers(low, high + 1, n)
        rank = np.argsort(np.argsort(keys, axis=1, kind="stable"), axis=1, kind="stable")
        return rank < count[:, None]

    offer_pool = np.where(junior[:, None], digital[None, :], ~digital[None, :])
    return pick(offer_pool, 2, 5), pick(~offer_pool, 1, 3)


def _interned(cache: dict[bytes, frozenset[str]], mask: np.ndarray) -> frozenset[str]:
    key = np.packbits(mask).tobytes()
    found = cache.get(key)
    if found is None:
        found = cache[key] = frozenset(s for s, on in zip(SKILLS, mask, strict=True) if on)
    return found
