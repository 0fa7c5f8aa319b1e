"""Display downsampling (ml4t.report.minmax_indices) against a plain per-bucket reference."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ml4t.report import minmax_indices

values = arrays(
    np.float64,
    st.integers(0, 3000),
    elements=st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.just(np.nan)),
)


def _reference(y: np.ndarray, max_points: int) -> np.ndarray:
    """Plainly: equal buckets by np.linspace edges; in each, the first min and first max of the non-NaN
    values (the bucket's first point when all are NaN); plus the first and last points."""
    n = len(y)
    if n <= max_points:
        return np.arange(n)
    edges = np.linspace(0, n, max_points // 2 + 1).astype(np.int64)
    keep = {0, n - 1}
    for lo, hi in itertools.pairwise(edges):
        bucket = [(y[i], i) for i in range(lo, hi) if not np.isnan(y[i])]
        if not bucket:
            keep.add(int(lo))
            continue
        keep.add(min(bucket, key=lambda p: (p[0], p[1]))[1])
        keep.add(min(bucket, key=lambda p: (-p[0], p[1]))[1])
    return np.array(sorted(keep))


@settings(max_examples=80, deadline=None)
@given(values, st.integers(4, 400))
def test_equals_the_per_bucket_reference(y, max_points):
    got = minmax_indices(y, max_points)
    np.testing.assert_array_equal(got, _reference(y, max_points))
    assert len(got) <= max(len(y), max_points + 2)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(1, 5000), elements=st.floats(-1e6, 1e6, allow_nan=False)), st.integers(4, 200))
def test_keeps_every_extreme_and_both_ends(y, max_points):
    got = minmax_indices(y, max_points)
    assert got[0] == 0
    assert got[-1] == len(y) - 1
    assert np.all(np.diff(got) > 0)
    assert y[got].max() == y.max()
    assert y[got].min() == y.min()


def test_a_million_points_become_a_few_thousand():
    rng = np.random.default_rng(3)
    curve = 100 * np.cumprod(1 + rng.normal(0, 0.001, 1_000_000))
    got = minmax_indices(curve)
    assert 2000 < len(got) <= 4002
    assert curve[got].min() == curve.min()


def test_rejects_a_tiny_budget():
    with pytest.raises(ValueError, match="max_points"):
        minmax_indices(np.zeros(10), 3)
