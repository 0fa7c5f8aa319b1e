"""Return-series statistics against empyrical (the reference library), one series and many at once."""

from __future__ import annotations

import empyrical as ep
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import ml4t.metrics as m

RTOL = 1e-9
PPYS = [252.0, 52.0, 252.0 * 6.5, 365.25]


def close(ours: object, theirs: object, *, atol: float = 0.0) -> None:
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=atol, equal_nan=True)


def per_period(rf: float, ppy: float) -> float:
    return (1.0 + rf) ** (1.0 / ppy) - 1.0


def _series() -> list[np.ndarray]:
    rng = np.random.default_rng(20240601)
    return [
        rng.normal(0.0004, 0.011, 756),  # three years of daily returns
        rng.standard_t(3, 500) * 0.01 + 0.0002,  # fat tails
        rng.normal(-0.001, 0.02, 120),  # a losing strategy
        rng.normal(0.01, 0.04, 36),  # monthly-like
        np.array([0.01, -0.02, 0.015]),
        np.array([-0.05, 0.02, 0.03, -0.01, 0.0, 0.04, -0.03, 0.01, 0.02, -0.02]),
    ]


SERIES = _series()


def check_against_empyrical(r: np.ndarray, ppy: float, rf: float) -> None:
    rf_p = per_period(rf, ppy)
    close(m.total_return(r), ep.cum_returns_final(r))
    close(m.annual_return(r, ppy), ep.annual_return(r, annualization=ppy))
    close(m.annual_volatility(r, ppy), ep.annual_volatility(r, annualization=ppy))
    close(m.sharpe_ratio(r, ppy, risk_free=rf), ep.sharpe_ratio(r, risk_free=rf_p, annualization=ppy))
    close(m.sortino_ratio(r, ppy, risk_free=rf), ep.sortino_ratio(r, required_return=rf_p, annualization=ppy))
    close(m.downside_deviation(r, ppy, risk_free=rf), ep.downside_risk(r, required_return=rf_p, annualization=ppy))
    # drawdowns live on a wealth scale of 1, where 1e-15 is rounding (empyrical compounds from a base of 100)
    close(m.max_drawdown(r), ep.max_drawdown(r), atol=1e-15)
    # Calmar divides by the drawdown, which is a difference of wealth values: its relative rounding error is
    # about eps / |mdd| in any implementation, so 1e-9 agreement is only defined for |mdd| above ~1e-6.
    if abs(m.max_drawdown(r)) > 1e-6:
        close(m.calmar_ratio(r, ppy), ep.calmar_ratio(r, annualization=ppy))
    for level in (0.01, 0.05, 0.1, 0.5):
        close(m.value_at_risk(r, level), ep.value_at_risk(r, cutoff=level), atol=1e-15)
        close(m.conditional_value_at_risk(r, level), ep.conditional_value_at_risk(r, cutoff=level), atol=1e-15)


@pytest.mark.parametrize("ppy", PPYS)
@pytest.mark.parametrize("rf", [0.0, 0.03, -0.005])
@pytest.mark.parametrize("index", range(len(SERIES)))
def test_seeded_series_match_empyrical(index: int, ppy: float, rf: float) -> None:
    check_against_empyrical(SERIES[index], ppy, rf)


finite_returns = arrays(
    np.float64,
    st.integers(3, 80),
    elements=st.floats(-0.5, 0.5, allow_nan=False, allow_infinity=False, allow_subnormal=False),
)


@settings(max_examples=60, deadline=None)
@given(r=finite_returns, ppy=st.sampled_from(PPYS), rf=st.sampled_from([0.0, 0.02]))
def test_hypothesis_series_match_empyrical(r: np.ndarray, ppy: float, rf: float) -> None:
    # a spread at the level of rounding noise makes any ratio with a deviation arbitrary; constant
    # series are tested separately (Sharpe is NaN there by definition, empyrical gives +-inf)
    assume(np.ptp(r) > 1e-6)
    check_against_empyrical(r, ppy, rf)


def test_risk_free_is_an_annual_rate_applied_per_period() -> None:
    r = SERIES[0]
    rf_p = per_period(0.05, 252.0)
    expected = np.mean(r - rf_p) / np.std(r - rf_p, ddof=1) * np.sqrt(252.0)
    close(m.sharpe_ratio(r, 252, risk_free=0.05), expected)
    assert m.sharpe_ratio(r, 252, risk_free=0.05) < m.sharpe_ratio(r, 252)


def test_definitions_written_out() -> None:
    r = SERIES[2]
    n = len(r)
    total = np.prod(1 + r) - 1
    close(m.total_return(r), total)
    close(m.annual_return(r, 12), (1 + total) ** (12 / n) - 1)
    close(m.annual_volatility(r, 12), np.std(r, ddof=1) * np.sqrt(12))
    downside = np.sqrt(np.mean(np.minimum(r, 0) ** 2)) * np.sqrt(12)
    close(m.sortino_ratio(r, 12), np.mean(r) * 12 / downside)
    close(m.value_at_risk(r, 0.05), np.percentile(r, 5))
    k = int((n - 1) * 0.05) + 1
    close(m.conditional_value_at_risk(r, 0.05), np.sort(r)[:k].mean())
    close(m.calmar_ratio(r, 12), m.annual_return(r, 12) / abs(m.max_drawdown(r)))


def test_two_dimensional_input_is_computed_per_column() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(0.0005, 0.01, (300, 25))
    x[::17, 3] = np.nan  # a column with missing values
    x[:, 4] = 0.0  # a flat column
    x[:, 5] = 0.001  # a constant one
    for fn in (m.total_return, m.max_drawdown, m.max_drawdown_duration, m.value_at_risk, m.conditional_value_at_risk):
        out = fn(x)
        assert isinstance(out, np.ndarray)
        assert out.shape == (25,)
        close(out, [fn(x[:, j]) for j in range(25)])
    for fn in (m.annual_return, m.annual_volatility, m.calmar_ratio):
        close(fn(x, 252), [fn(x[:, j], 252) for j in range(25)])
    for fn in (m.sharpe_ratio, m.sortino_ratio, m.downside_deviation):
        close(fn(x, 252, risk_free=0.02), [fn(x[:, j], 252, risk_free=0.02) for j in range(25)])
    for fn in (m.drawdown_series, m.cumulative_returns):
        out = fn(x)
        assert out.shape == x.shape
        close(out, np.column_stack([fn(x[:, j]) for j in range(25)]))


def test_two_dimensional_input_matches_empyrical() -> None:
    rng = np.random.default_rng(8)
    x = rng.normal(0.0003, 0.012, (400, 6))
    close(m.sharpe_ratio(x, 252), ep.sharpe_ratio(x, annualization=252))
    close(m.annual_volatility(x, 252), ep.annual_volatility(x, annualization=252))
    close(m.sortino_ratio(x, 252), ep.sortino_ratio(x, annualization=252))
    close(m.max_drawdown(x), ep.max_drawdown(x))
    close(m.total_return(x), ep.cum_returns_final(x))


def test_missing_values_are_skipped_like_empyrical() -> None:
    r = SERIES[1].copy()
    r[[3, 50, 51, 200]] = np.nan
    close(m.total_return(r), ep.cum_returns_final(r))
    close(m.annual_return(r, 252), ep.annual_return(r, annualization=252))  # NaN bars count as time
    close(m.annual_volatility(r, 252), ep.annual_volatility(r, annualization=252))
    close(m.sharpe_ratio(r, 252), ep.sharpe_ratio(r, annualization=252))
    close(m.sortino_ratio(r, 252), ep.sortino_ratio(r, annualization=252))
    close(m.max_drawdown(r), ep.max_drawdown(r))
    close(m.conditional_value_at_risk(r), ep.conditional_value_at_risk(r))
    # empyrical's VaR is not NaN-aware (np.percentile); ours equals it on the series without the gaps
    close(m.value_at_risk(r), ep.value_at_risk(r[~np.isnan(r)]))


def test_accepts_lists_and_polars_series() -> None:
    import polars as pl

    r = [0.01, -0.02, 0.03, 0.0]
    assert m.sharpe_ratio(pl.Series(r), 252) == m.sharpe_ratio(np.array(r), 252) == m.sharpe_ratio(r, 252)
