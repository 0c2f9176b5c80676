"""LP duals of an optimal matching, found as shortest-path distances, and the checks that make them a proof.

The matching LP (mentor i with capacity c_i, mentee j, edge value w_ij):
    max Σ w_ij·x_ij   s.t.  Σ_j x_ij ≤ c_i,  Σ_i x_ij ≤ 1,  x ≥ 0
is integral (bipartite constraint matrices are totally unimodular). Its dual:
    min Σ c_i·u_i + Σ v_j   s.t.  u_i + v_j ≥ w_ij for every edge,  u, v ≥ 0.
By weak duality any (u, v) feasible for *all* eligible edges bounds every matching from above, so a
matching whose value equals Σ c·u + Σ v is optimal: that equality plus feasibility is the certificate.

To find such duals for a matching M that is optimal on an edge set, write y_i = -u_i, y_j = v_j: the
constraints with complementary slackness (pairs in M tight, u_i = 0 for a mentor with spare capacity,
v_j = 0 for an unmatched mentee) are difference constraints y_b ≤ y_a + length(a→b), solved by shortest
distances from a root r. Edges: j→i of length -w_ij (edge not in M), i→j of length w_ij (in M), r→i and
j→r of length 0 (u, v ≥ 0), i→r (spare capacity) and r→j (unmatched) of length 0. M is optimal exactly
when this graph has no negative cycle.
"""

from __future__ import annotations

import numpy as np

from services.matching.domain.scoring import IntArray


class NotOptimal(RuntimeError):
    """The matching admits an improving cycle; the solver returned a non-optimal matching."""


def duals(
    mentor: IntArray, mentee: IntArray, value: IntArray, in_matching: np.ndarray, capacity: IntArray, n_mentees: int
) -> tuple[IntArray, IntArray]:
    """(u per mentor, v per mentee) satisfying complementary slackness with the matching on these edges."""
    n_mentors = len(capacity)
    root = n_mentors + n_mentees
    used = np.bincount(mentor[in_matching], minlength=n_mentors)
    matched = np.zeros(n_mentees, dtype=bool)
    matched[mentee[in_matching]] = True
    mentor_nodes = np.arange(n_mentors)
    mentee_nodes = n_mentors + np.arange(n_mentees)
    spare = mentor_nodes[used < capacity]
    free = mentee_nodes[~matched]
    out = ~in_matching
    src = np.concatenate(
        [
            n_mentors + mentee[out],
            mentor[in_matching],
            np.full(n_mentors, root),
            mentee_nodes,
            spare,
            np.full(len(free), root),
        ]
    )
    dst = np.concatenate(
        [
            mentor[out],
            n_mentors + mentee[in_matching],
            mentor_nodes,
            np.full(n_mentees, root),
            np.full(len(spare), root),
            free,
        ]
    )
    length = np.concatenate([-value[out], value[in_matching], np.zeros(len(src) - len(value), dtype=np.int64)])
    distance = _shortest_distances(root + 1, src, dst, length, root)
    return -distance[:n_mentors], distance[n_mentors:root]


def dual_objective(u: IntArray, v: IntArray, capacity: IntArray) -> int:
    return int(np.dot(capacity, u) + v.sum())


def violations(mentor: IntArray, mentee: IntArray, value: IntArray, u: IntArray, v: IntArray) -> np.ndarray:
    """Mask of edges whose dual constraint u_i + v_j ≥ w_ij fails."""
    return value > u[mentor] + v[mentee]


def _shortest_distances(n: int, src: IntArray, dst: IntArray, length: IntArray, root: int) -> IntArray:
    """Bellman-Ford, vectorised over the nodes whose distance changed in the previous round (SPFA by rounds)."""
    order = np.argsort(src, kind="stable")
    src, dst, length = src[order], dst[order], length[order]
    first_edge = np.searchsorted(src, np.arange(n + 1))
    unreached = np.iinfo(np.int64).max // 4
    distance = np.full(n, unreached, dtype=np.int64)
    distance[root] = 0
    changed = np.array([root])
    for _ in range(n + 1):
        starts, ends = first_edge[changed], first_edge[changed + 1]
        counts = ends - starts
        edges = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        reach = np.repeat(distance[changed], counts) + length[edges]
        target = dst[edges]
        shorter = reach < distance[target]
        target, reach = target[shorter], reach[shorter]
        if not len(target):
            return distance
        best = np.lexsort((reach, target))
        target, reach = target[best], reach[best]
        first = np.r_[True, target[1:] != target[:-1]]
        distance[target[first]] = reach[first]
        changed = target[first]
    raise NotOptimal("negative cycle in the residual graph")
