"""Candidate generation: a short list of edges per mentee, plus a bound on everything left out.

Scoring every (mentor, mentee) pair exactly is what makes dense assignment slow, so each pass scores whole
blocks at once with one float32 matrix product (`scoring.embed`) and keeps, per mentee, only the pairs
whose approximate score reaches a threshold τ chosen so that at least `per_mentee` pairs pass. Because the
approximation error is bounded, every eligible pair left out scores at most τ + error: `Shortlist.bound`.
The engine's certificate uses that bound to prove the left-out pairs cannot improve the result, and
`rescan` looks again, with mentor prices subtracted, at the mentees where the bound is not enough.

Blocks are grouped by the mentee's set of languages (a pair must share one: `_language_groups`) and
sorted by grade (a mentor must be junior), so pairs failing those constraints are mostly never computed.
Pairs the history forbids (reporting lines, dissolved or excluded couples: `forbidden`, sorted keys
mentor * n_mentees + mentee) are set to -inf inside each block before anything is ranked. In a deep
management tree a division head's best-scoring juniors are often their own reports; without the mask
they fill the short list, are dropped later as ineligible, and leave the head's bound so high that
the certificate rescans and re-solves (issue #18). Masking costs one pass over the forbidden pairs per
language group, whatever the tree's depth.

Reproducibility: every ranking breaks ties by row (stable sorts, `lexsort` with the row as last key),
no step iterates a set or a dict, and nothing depends on time. The float32 products themselves depend on
how the BLAS library splits them between threads (measured: one or two threads gave 95 053 or 95 054
candidate edges on the same 5 000-person pool), so every product runs with `BLAS_THREADS` threads,
whatever the machine's cores or OPENBLAS_NUM_THREADS say: the same pool gives the same candidate edges
run after run, on any host with the same BLAS build.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt
from threadpoolctl import ThreadpoolController

from services.matching.domain.scoring import JITTER, Embedding, FloatArray, IntArray, Side

BLOCK_ELEMENTS = 1 << 23  # 32 MB of float32 scores per block keeps peak memory flat at any pool size
TIES_PER_RESCAN = 1 << 23  # pairs a rescan returns for exact scoring to settle ties (`_Ties`): 64 MB of keys
Float32Array = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Shortlist:
    """Candidate edges (sorted, unique); per mentee, an upper bound on the score of any eligible pair with
    that mentee that is *not* an edge (-inf when none was left out); and each mentor's best mentee
    (-1: none), which is not solved on but shows which mentors have a partner at all."""

    mentor: IntArray
    mentee: IntArray
    bound: FloatArray
    best_mentee: IntArray


@dataclass
class _Collector:
    n_mentors: int
    n_mentees: int

    def __post_init__(self) -> None:
        self.mentors: list[IntArray] = []
        self.mentees: list[IntArray] = []
        self.bound = np.full(self.n_mentees, -np.inf)
        self.best_score = np.full(self.n_mentors, -np.inf)
        self.best_mentee = np.full(self.n_mentors, -1, dtype=np.int64)

    def shortlist(self, error: float) -> Shortlist:
        empty = np.zeros(0, dtype=np.int64)
        mentor, mentee = np.concatenate([empty, *self.mentors]), np.concatenate([empty, *self.mentees])
        keys = unique_keys(mentor * self.n_mentees + mentee)
        bound = np.where(np.isfinite(self.bound), self.bound + error, -np.inf)
        return Shortlist(
            mentor=keys // self.n_mentees, mentee=keys % self.n_mentees, bound=bound, best_mentee=self.best_mentee
        )


BLAS_THREADS = 2  # fixed rather than "all cores": two keeps this 2-core host's speed and runs the same on any other
_NO_KEYS = np.zeros(0, dtype=np.int64)
_MAX_LANGUAGE_SETS = 64


def shortlist(
    emb: Embedding,
    mentors: Side,
    mentees: Side,
    per_mentee: int,
    min_score: float,
    forbidden: IntArray = _NO_KEYS,
) -> Shortlist:
    """Edges worth solving on: per mentee at least its `per_mentee` best (approximately) eligible mentors among
    those sharing a language with it (per language it speaks when the pool has very many language sets);
    `forbidden` pairs never count among them."""
    found = _Collector(len(mentors), len(mentees))
    floor = min_score - emb.error if min_score > 0 else -np.inf
    with _fixed_blas_threads():
        _shortlist_into(found, emb, mentors, mentees, per_mentee, floor, forbidden)
    return found.shortlist(emb.error)


def _shortlist_into(
    found: _Collector,
    emb: Embedding,
    mentors: Side,
    mentees: Side,
    per_mentee: int,
    floor: float,
    forbidden: IntArray,
) -> None:
    for mentor_rows, mentee_rows in _language_groups(mentors, mentees):
        a = emb.a[mentor_rows]
        masked = _Forbidden.of(forbidden, len(mentees), mentor_rows, mentee_rows, len(mentors))
        grades = mentors.grade[mentor_rows]
        for scores, mentee_cols, top in _blocks(a, grades, emb.b, mentees.grade, mentee_rows, masked):
            if floor > -np.inf:
                scores[scores < floor] = -np.inf
            _keep_best(scores, mentor_rows[:top], mentee_cols, per_mentee, found)


@dataclass(frozen=True)
class Rescan:
    """Pairs returned by `rescan`, and per mentee (-inf where not rescanned) an upper bound on
    score - mentor_slack over its eligible pairs that were *not* returned, float error included."""

    mentor: IntArray
    mentee: IntArray
    left_bound: FloatArray


def rescan(
    emb: Embedding,
    mentors: Side,
    mentees: Side,
    mentee_rows: IntArray,
    mentor_slack: FloatArray,
    mentee_slack: FloatArray,
    min_score: float,
    per_mentee: int,
    forbidden: IntArray = _NO_KEYS,
    only_mentors: npt.NDArray[np.bool_] | None = None,
    exact_slack: FloatArray | None = None,
) -> Rescan:
    """For each mentee in `mentee_rows`, its (about) `per_mentee` eligible-looking pairs with the largest
    score - mentor_slack, kept if that may exceed mentee_slack. So when any pair of a mentee violates the
    duals (score > mentor_slack + mentee_slack), its worst violators are returned or the bound says it may.
    With `only_mentors` (a mask over mentor rows), only those mentors' pairs are looked at and bounded.

    With `exact_slack` (per mentee, at least its mentee_slack): a mentee none of whose pairs clearly exceeds it,
    but whose bound cannot rule out that one does, gets every pair that may exceed it returned as well, to be
    scored exactly, and its bound is then `exact_slack` itself (see `_Ties`).

    Slacks can be far larger than scores (participation mode prices in the pair count), and float32 then
    loses absolute precision: the tolerance grows with their magnitude, so every comparison stays safe."""
    with _fixed_blas_threads():
        return _rescan(
            emb,
            mentors,
            mentees,
            mentee_rows,
            mentor_slack,
            mentee_slack,
            min_score,
            per_mentee,
            forbidden,
            only_mentors,
            exact_slack,
        )


def _rescan(
    emb: Embedding,
    mentors: Side,
    mentees: Side,
    mentee_rows: IntArray,
    mentor_slack: FloatArray,
    mentee_slack: FloatArray,
    min_score: float,
    per_mentee: int,
    forbidden: IntArray = _NO_KEYS,
    only_mentors: npt.NDArray[np.bool_] | None = None,
    exact_slack: FloatArray | None = None,
) -> Rescan:
    found: list[IntArray] = [np.zeros(0, dtype=np.int64)]
    left_bound = np.full(len(mentees), -np.inf)
    chosen = np.zeros(len(mentees), dtype=bool)
    chosen[mentee_rows] = True
    slacks = np.abs(mentee_slack[mentee_rows])
    if exact_slack is not None:
        slacks = np.maximum(slacks, np.abs(exact_slack[mentee_rows]))
    slack_rounding = 2.0**-20 * float(np.abs(mentor_slack).max(initial=0.0) + slacks.max(initial=0.0))
    tolerance = np.float32(emb.error + slack_rounding)
    ties = _Ties(exact_slack, np.float32(slack_rounding), TIES_PER_RESCAN) if exact_slack is not None else None
    for mentor_rows, group_mentees in _language_groups(mentors, mentees):
        if only_mentors is not None:
            mentor_rows = mentor_rows[only_mentors[mentor_rows]]  # still sorted by grade
        cols_in_group = group_mentees[chosen[group_mentees]]
        if not len(cols_in_group) or not len(mentor_rows):
            continue
        a = emb.a[mentor_rows]
        masked = _Forbidden.of(forbidden, len(mentees), mentor_rows, cols_in_group, len(mentors))
        grades = mentors.grade[mentor_rows]
        for scores, cols, top in _blocks(a, grades, emb.b, mentees.grade, cols_in_group, masked):
            rows = mentor_rows[:top]
            if min_score > 0:
                scores[scores + np.float32(emb.error) < min_score] = -np.inf
            net = scores  # a fresh block: subtracting in place saves a copy of it
            net -= mentor_slack[rows, None].astype(np.float32)
            # Most mentees have no pair near their price once the duals settle: one max per column finds them.
            column_max = net.max(axis=0) + tolerance
            threshold = mentee_slack[cols].astype(np.float32)
            is_open = column_max > threshold
            closed = ~is_open
            left_bound[cols[closed]] = np.maximum(left_bound[cols[closed]], column_max[closed])
            open_cols = np.flatnonzero(is_open)
            if not len(open_cols):
                continue
            # The closed columns stay in the block but return nothing: copying the open ones out of a wide block
            # took longer than the product that made it.
            r, c, unreturned = _top_per_column(net, per_mentee, with_bound=True, skipped=closed)
            near_value = net[r, c] + tolerance
            near = near_value > threshold[c]
            # Not returned: what the top-k left out, and what it returned below the mentee's slack.
            not_returned: FloatArray = unreturned.astype(np.float64) + float(tolerance)
            np.maximum.at(not_returned, c[~near], near_value[~near].astype(np.float64))
            if ties is not None:
                found.append(ties.look(net, rows, cols, open_cols, column_max, not_returned, tolerance, len(mentees)))
            targets = cols[open_cols]
            left_bound[targets] = np.maximum(left_bound[targets], not_returned[open_cols])
            found.append(rows[r[near]] * len(mentees) + cols[c[near]])
    keys = unique_keys(np.concatenate(found))
    return Rescan(mentor=keys // len(mentees), mentee=keys % len(mentees), left_bound=left_bound)


@dataclass
class _Ties:
    """Exact ties with a mentee's price, which no float bound can rule out (`rescan`'s `exact_slack`).

    Scores are sums of a few coarse criteria, so in a large pool a mentee often has hundreds of mentors scoring
    exactly what it holds: w_ij - u_i = v_j, no violation. Their float products lie within the error of v_j, so
    the bound over those left out stays just above v_j, and the mentee stays suspect round after round, each
    rescan adding `per_mentee` more of the tie as edges (issue #18: 62 000 such mentees on the 1 M org chart).
    Returned instead, every such pair is scored exactly by the engine; the rest of the column is below `strict`,
    which becomes its bound. Only for columns with no clear violation (a clear one is re-solved first anyway), and
    at most `budget` pairs per rescan, so the exact scoring stays a small share of it."""

    exact_slack: FloatArray
    guard: np.float32  # the float32 rounding of the slack itself, so that a bound of `strict` converts to <= v
    budget: int

    def look(
        self,
        net: Float32Array,
        rows: IntArray,
        cols: IntArray,
        open_cols: IntArray,
        column_max: Float32Array,
        not_returned: FloatArray,
        tolerance: np.float32,
        n_mentees: int,
    ) -> IntArray:
        """Keys of the block's pairs to score exactly; the columns they cover get `strict` in `not_returned`."""
        strict = self.exact_slack[cols].astype(np.float32) - self.guard
        # No entry clearly above (a clear violation is re-solved first anyway), yet the bound not below. A product
        # exceeds the exact score by up to the tie-breaking jitter plus the error.
        clear = column_max[open_cols] > strict[open_cols] + 2 * tolerance + np.float32(JITTER)
        unsure = open_cols[(not_returned[open_cols] > strict[open_cols]) & ~clear]
        if not len(unsure) or self.budget <= 0:
            return _NO_KEYS
        r, c = np.nonzero(net[:, unsure] + tolerance > strict[unsure][None, :])
        counts = np.bincount(c, minlength=len(unsure))
        covered = np.cumsum(counts) <= self.budget  # whole columns, in column order: the same pool, the same pairs
        self.budget -= int(counts[covered].sum())
        not_returned[unsure[covered]] = strict[unsure[covered]]
        take = covered[c]
        return rows[r[take]] * n_mentees + cols[unsure[c[take]]]


def unique_keys(keys: IntArray) -> IntArray:
    """Sorted distinct values (numpy's hash-based `unique` is several times slower on millions of keys)."""
    keys = np.sort(keys)
    return keys[np.r_[True, keys[1:] != keys[:-1]]] if len(keys) else keys


def contains(sorted_keys: IntArray, keys: IntArray) -> np.ndarray:
    """Mask of `keys` found in `sorted_keys` (binary search: no hashing, no sort of the haystack)."""
    if not len(sorted_keys):
        return np.zeros(len(keys), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[at] == keys


@cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()  # inspecting the loaded libraries takes milliseconds: once per process


def _fixed_blas_threads() -> AbstractContextManager[object]:
    return _blas().limit(limits=BLAS_THREADS, user_api="blas")


def _language_groups(mentors: Side, mentees: Side) -> Iterator[tuple[IntArray, IntArray]]:
    """(mentor rows, mentee rows) sharing a language, both sorted by grade then row.

    Mentees are grouped by their exact set of languages, each group facing every mentor who shares any of
    them: each eligible pair is scored once, and a bilingual mentee's short list ranks all its mentors
    together instead of keeping `per_mentee` in each language (half the edges to solve on in a
    multinational where seniors speak English besides the local language). With more distinct sets than
    `_MAX_LANGUAGE_SETS` (each group costs a pass over the mentors), groups are single languages instead."""
    sets, inverse = np.unique(mentees.languages, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    if len(sets) <= _MAX_LANGUAGE_SETS:
        for code, words in enumerate(sets):
            mentor_rows = np.flatnonzero((mentors.languages & words[None, :]).any(axis=1))
            mentee_rows = np.flatnonzero(inverse == code)
            if len(mentor_rows) and len(mentee_rows):
                yield _by_grade(mentor_rows, mentors), _by_grade(mentee_rows, mentees)
        return
    for word in range(mentors.languages.shape[1]):
        for bit in range(64):
            flag = np.uint64(1 << bit)
            mentor_rows = np.flatnonzero(mentors.languages[:, word] & flag)
            mentee_rows = np.flatnonzero(mentees.languages[:, word] & flag)
            if len(mentor_rows) and len(mentee_rows):
                yield _by_grade(mentor_rows, mentors), _by_grade(mentee_rows, mentees)


def _by_grade(rows: IntArray, side: Side) -> IntArray:
    return rows[np.argsort(side.grade[rows], kind="stable")]


@dataclass(frozen=True)
class _Forbidden:
    """The forbidden pairs inside one language group, as (mentor position, mentee position) in the group's own
    order, sorted by mentee position (then mentor) so each block of mentees takes one contiguous slice."""

    mentor_at: IntArray
    mentee_at: IntArray

    @classmethod
    def of(
        cls, keys: IntArray, n_mentees: int, mentor_rows: IntArray, mentee_rows: IntArray, n_mentors: int
    ) -> _Forbidden:
        if not len(keys):
            return cls(_NO_KEYS, _NO_KEYS)
        mentor_position = np.full(n_mentors, -1, dtype=np.int64)
        mentor_position[mentor_rows] = np.arange(len(mentor_rows))
        mentee_position = np.full(n_mentees, -1, dtype=np.int64)
        mentee_position[mentee_rows] = np.arange(len(mentee_rows))
        m, e = mentor_position[keys // n_mentees], mentee_position[keys % n_mentees]
        inside = (m >= 0) & (e >= 0)
        m, e = m[inside], e[inside]
        order = np.lexsort((m, e))
        return cls(m[order], e[order])

    def mask(self, scores: Float32Array, start: int, top: int) -> None:
        """Set the forbidden pairs of the block (mentor positions < top, mentees start...) to -inf."""
        lo, hi = np.searchsorted(self.mentee_at, [start, start + scores.shape[1]])
        m, e = self.mentor_at[lo:hi], self.mentee_at[lo:hi] - start
        inside = m < top
        scores[m[inside], e[inside]] = -np.inf


def _blocks(
    a: Float32Array,
    mentor_grade: IntArray,
    b: Float32Array,
    mentee_grade: IntArray,
    mentee_rows: IntArray,
    forbidden: _Forbidden,
) -> Iterator[tuple[Float32Array, IntArray, int]]:
    """Approximate score blocks (top mentors x some mentees) with pairs where the mentor is not junior, and
    forbidden pairs, at -inf. Mentors must be sorted by grade; `top` counts the mentor rows in the block (a
    prefix)."""
    cols_per_block = max(64, BLOCK_ELEMENTS // max(1, len(a)))
    for start in range(0, len(mentee_rows), cols_per_block):
        cols = mentee_rows[start : start + cols_per_block]
        grades = mentee_grade[cols]
        top = int(np.searchsorted(mentor_grade, grades.max(), side="left"))
        if top == 0:
            continue
        scores = a[:top] @ b[cols].T
        low = int(np.searchsorted(mentor_grade, grades.min(), side="left"))
        if low < top:
            tail = scores[low:top]
            tail[mentor_grade[low:top, None] >= grades[None, :]] = -np.inf
        forbidden.mask(scores, start, top)
        yield scores, cols, top


def _keep_best(scores: Float32Array, mentor_ids: IntArray, mentee_ids: IntArray, k: int, found: _Collector) -> None:
    r, c, bound = _top_per_column(scores, k, with_bound=True)
    np.maximum.at(found.bound, mentee_ids, bound)
    found.mentors.append(mentor_ids[r])
    found.mentees.append(mentee_ids[c])
    _note_best_per_mentor(scores, mentor_ids, mentee_ids, found)


def _top_per_column(
    values: Float32Array, k: int, with_bound: bool = False, skipped: npt.NDArray[np.bool_] | None = None
) -> tuple[IntArray, ...]:
    """(rows, cols) of at least min(k, finite entries) and at most 3k largest finite entries per column and,
    with_bound, per column the largest value not returned (-inf when every finite entry is returned). Columns
    `skipped` return nothing, and their bound means nothing."""
    rows, cols = values.shape
    lowest = np.float32(np.finfo(np.float32).min)
    if rows <= 4 * k:
        threshold = np.full(cols, lowest)
    else:
        # The k-th largest of 4k chunk maxima: at least k values reach it, and it is cheap to find. Equal
        # chunks as a reshape (rows left over join the last chunk): a contiguous reduction, far faster
        # than `reduceat` along axis 0.
        chunks = 4 * k
        height = rows // chunks
        maxima = values[: height * chunks].reshape(chunks, height, cols).max(axis=1)
        if height * chunks < rows:
            np.maximum(maxima[-1], values[height * chunks :].max(axis=0), out=maxima[-1])
        threshold = np.maximum(np.partition(maxima, chunks - k, axis=0)[chunks - k], lowest)
    if skipped is not None:
        threshold[skipped] = np.inf  # no score reaches it
    # flatnonzero on the flat mask is several times faster than 2-d nonzero.
    r, c = np.divmod(np.flatnonzero(values >= threshold[None, :]), cols)
    picked = values[r, c]
    # Ties can let many pass; keep the 3k largest per column, the rest counts as left out.
    order = np.lexsort((r, -picked, c))
    r, c, picked = r[order], c[order], picked[order]
    rank = np.arange(len(c)) - np.searchsorted(c, np.arange(cols))[c]
    kept = rank < 3 * k
    if not with_bound:
        return r[kept], c[kept]
    bound = np.where(threshold > lowest, threshold.astype(np.float64), -np.inf)
    np.maximum.at(bound, c[~kept], picked[~kept].astype(np.float64))
    return r[kept], c[kept], bound


def _note_best_per_mentor(scores: Float32Array, mentor_ids: IntArray, mentee_ids: IntArray, found: _Collector) -> None:
    best_col = scores.argmax(axis=1)
    best = scores[np.arange(len(scores)), best_col].astype(np.float64)
    better = best > found.best_score[mentor_ids]
    found.best_score[mentor_ids[better]] = best[better]
    found.best_mentee[mentor_ids[better]] = mentee_ids[best_col[better]]
