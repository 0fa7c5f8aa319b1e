"""statistics_from_moments (what sweeps use) agrees with the array functions on the same returns."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import ml4t.metrics as m


def _moments(r: np.ndarray) -> dict[str, np.ndarray]:
    """One-pass moments the way the kernel accumulates them (Welford), written out independently."""
    n, k = r.shape
    count = np.zeros(k)
    mean = np.zeros(k)
    m2 = np.zeros(k)
    for i in range(n):
        count += 1
        delta = r[i] - mean
        mean += delta / count
        m2 += delta * (r[i] - mean)
    wealth = np.vstack([np.ones(k), np.cumprod(1 + r, axis=0)])
    peak = np.maximum.accumulate(wealth, axis=0)
    return {
        "n_bars": n,
        "count": count,
        "mean": mean,
        "m2": m2,
        "low": r.min(axis=0),
        "high": r.max(axis=0),
        "downside_sq": (np.minimum(r, 0) ** 2).sum(axis=0),
        "total_return": wealth[-1] - 1,
        "max_drawdown": (wealth / peak - 1).min(axis=0),
    }


def _check(r: np.ndarray, ppy: float) -> None:
    got = m.statistics_from_moments(**_moments(r), periods_per_year=ppy)
    expected = {
        "total_return": m.total_return(r),
        "annual_return": m.annual_return(r, ppy),
        "annual_volatility": m.annual_volatility(r, ppy),
        "sharpe_ratio": m.sharpe_ratio(r, ppy),
        "sortino_ratio": m.sortino_ratio(r, ppy),
        "max_drawdown": m.max_drawdown(r),
        "calmar_ratio": m.calmar_ratio(r, ppy),
    }
    for name, want in expected.items():
        np.testing.assert_allclose(got[name], want, rtol=1e-10, atol=1e-14, equal_nan=True, err_msg=name)


@pytest.mark.parametrize("ppy", [252.0, 98_280.0])
def test_seeded_matrix(ppy):
    rng = np.random.default_rng(5)
    _check(rng.normal(0.0003, 0.012, (600, 40)), ppy)


def test_constant_and_one_sided_series():
    r = np.column_stack(
        [np.full(50, 0.001), np.zeros(50), np.abs(np.linspace(0.001, 0.01, 50)), -np.abs(np.linspace(0.001, 0.01, 50))]
    )
    _check(r, 252.0)


def test_returns_equal_but_for_rounding_are_constant_in_both_paths():
    # Found by Hypothesis: two returns one unit in the last place apart. The two-pass deviation is 4e-17
    # (a Sharpe ratio of -1.4e17), the one-pass deviation exactly 0: both are rounding, so both say NaN.
    r = np.array([[-0.49999999999999994], [-0.5]])
    assert np.isnan(m.sharpe_ratio(r[:, 0], 252.0))
    _check(r, 252.0)
    # A real deviation, however small against the mean, still counts.
    assert np.isfinite(m.sharpe_ratio(np.array([0.5, 0.5 + 1e-12]), 252.0))


@settings(max_examples=60)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(2, 60), st.integers(1, 4)),
        elements=st.floats(-0.5, 0.5, allow_nan=False).filter(lambda v: v == 0 or abs(v) > 1e-6),
    )
)
def test_hypothesis_series(r):
    _check(r, 252.0)
