"""Return statistics from one-pass moments, for sweeps that never materialize an equity curve.

The vectorized kernel walks each combination's equity once and keeps only the count, mean and sum of
squared deviations of its returns, their min and max, the sum of squared negative returns, the compounded
total return, the final equity and the maximum drawdown, with ``Result.returns``' definition of a return
(ruin is absorbing: -1 on the first bar with equity ``<= 0``, none after; see ``ml4t.metrics._returns``).
This module turns those into the same statistics, with the same definitions (risk-free rate 0, ``ddof=1``,
Sortino's downside deviation over all periods), as the array functions in :mod:`ml4t.metrics._returns`;
``tests/metrics/test_metrics_moments.py`` holds the two to 1e-12 on random series, and
``tests/vectorized/test_sweep_truth.py`` every sweep row to its ``Result.metrics``, ruin included.
"""

from __future__ import annotations

import numpy as np

from ml4t.metrics._checks import check_periods_per_year, resolved_deviation

__all__ = ["statistics_from_moments"]


def statistics_from_moments(
    *,
    n_bars: int,
    count: np.ndarray,
    mean: np.ndarray,
    m2: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    downside_sq: np.ndarray,
    total_return: np.ndarray,
    max_drawdown: np.ndarray,
    periods_per_year: float,
) -> dict[str, np.ndarray]:
    """``total_return, annual_return, annual_volatility, sharpe_ratio, sortino_ratio, max_drawdown,
    calmar_ratio`` per series, from its moments (arrays of equal length; ``n_bars`` counts every bar,
    including ones whose return is undefined, as ``annual_return`` does)."""
    ppy = check_periods_per_year(periods_per_year)
    count = np.asarray(count, dtype=np.float64)
    var = np.full(count.shape, np.nan)
    np.divide(m2, count - 1.0, out=var, where=count > 1)
    var[(count > 1) & (high == low)] = 0.0
    std = np.sqrt(var)
    sharpe = np.full(count.shape, np.nan)
    np.divide(mean, std, out=sharpe, where=(count >= 2) & resolved_deviation(std, mean))
    downside = np.full(count.shape, np.nan)
    np.divide(downside_sq, count, out=downside, where=count > 0)
    downside = np.sqrt(downside) * np.sqrt(ppy)
    with np.errstate(divide="ignore", invalid="ignore"):
        sortino = np.where(count >= 2, mean * ppy / downside, np.nan)
        wealth = 1.0 + np.asarray(total_return, dtype=np.float64)
        annual = np.where(
            wealth > 0,
            np.power(np.where(wealth > 0, wealth, 1.0), ppy / max(n_bars, 1)) - 1.0,
            np.where(wealth == 0, -1.0, np.nan),
        )
        mdd = np.asarray(max_drawdown, dtype=np.float64)
        calmar = np.where(mdd < 0, annual / np.abs(mdd), np.nan)
    return {
        "total_return": np.asarray(total_return, dtype=np.float64),
        "annual_return": annual if n_bars > 0 else np.full(count.shape, np.nan),
        "annual_volatility": std * np.sqrt(ppy),
        "sharpe_ratio": sharpe * np.sqrt(ppy),
        "sortino_ratio": sortino,
        "max_drawdown": mdd,
        "calmar_ratio": calmar,
    }
