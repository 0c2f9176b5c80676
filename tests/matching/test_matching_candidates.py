"""The top-k selection both the shortlist and the rescans rank by: what it returns and what it bounds."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from services.matching.domain.candidates import _top_per_column


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 300),
    cols=st.integers(1, 40),
    k=st.integers(1, 8),
    ties=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_skipped_columns_return_nothing_and_leave_the_others_as_they_were(rows, cols, k, ties, seed):
    rng = np.random.default_rng(seed)
    values = rng.random((rows, cols), dtype=np.float32)
    if ties:
        values = np.round(values * 4).astype(np.float32)  # many equal scores, as in a pool of look-alikes
    values[rng.random((rows, cols)) < 0.1] = -np.inf  # ineligible pairs
    skipped = rng.random(cols) < 0.5

    r_all, c_all, bound_all = _top_per_column(values, k, with_bound=True)
    r, c, bound = _top_per_column(values, k, with_bound=True, skipped=skipped)

    assert not skipped[c].any()
    kept = ~skipped[c_all]
    pairs = sorted(zip(r.tolist(), c.tolist(), strict=True))
    assert pairs == sorted(zip(r_all[kept].tolist(), c_all[kept].tolist(), strict=True))
    np.testing.assert_array_equal(bound[~skipped], bound_all[~skipped])
    # What an open column returns, with its bound, still covers every finite score of that column.
    for col in np.flatnonzero(~skipped):
        returned = set(r[c == col].tolist())
        left = [values[i, col] for i in range(rows) if i not in returned and np.isfinite(values[i, col])]
        assert max(left, default=-np.inf) <= bound[col]
        assert len(returned) >= min(k, int(np.isfinite(values[:, col]).sum()))
