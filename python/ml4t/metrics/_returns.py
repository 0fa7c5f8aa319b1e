"""Statistics of simple per-period return series.

Conventions shared by every function here:

* ``returns`` are simple (not log) returns per bar: ``equity[t] / equity[t-1] - 1`` (``Result.returns``;
  after equity reaches zero or below, see *Ruin* below). A 1-D input is one
  series and gives a ``float``; a 2-D input is ``bars x series`` (one column per strategy or parameter
  combination), every statistic is computed down axis 0 for all columns at once, and the result is a
  1-D array with one value per column. Nothing loops over columns in Python.
* ``periods_per_year`` (the annualization factor, e.g. 252 for US daily bars) is always explicit and must
  be a positive number; ``ml4t.data`` infers it from the data's calendar, ``Result.periods_per_year``
  carries it.
* ``risk_free`` is an **annual** rate. It is converted to a per-period rate
  ``rf_p = (1 + risk_free) ** (1 / periods_per_year) - 1`` and subtracted from every period's return.
* Standard deviations are sample standard deviations (``ddof=1``).
* NaN means "missing": it is skipped by means, deviations and quantiles (like ``numpy.nan*`` and
  empyrical), and it is a flat bar (return 0) when returns are compounded into a wealth path. A missing
  bar still counts as elapsed time when a total return is annualized.
* Undefined statistics are NaN, never a warning: empty or all-NaN input gives NaN everywhere; statistics
  that need a dispersion (volatility, Sharpe, Sortino) need at least two values; constant returns have no
  Sharpe ratio. ``+-inf`` in the input propagates as ``inf``/NaN, also silently.

* **Ruin is absorbing.** ``Result.returns`` measures a return only while the previous equity is positive:
  the first bar whose equity is ``<= 0`` returns exactly -1 (the whole equity is lost) and every later bar
  has no return (null), whatever the equity does next (a short squeeze's negative equity that later
  recovers is still ruin). So total return and annual return are -1, max drawdown is -1, and the dispersion
  statistics run over the returns up to and including the ruin. The sweep's one-pass statistics use the
  same rule, so ``sweep.best()`` ranks by the numbers ``sweep.result(...).metrics`` reports. vectorbt
  differs: it keeps measuring ``(v - p) / abs(p)`` on a negative equity, so its returns, Sharpe ratio and
  total return after ruin are not comparable (on solvent paths the two agree).

Every definition agrees with empyrical (``empyrical-reloaded``) on the same finite returns; the tests
check it to 1e-9 relative. Where ml4t deliberately differs, the function's docstring says so.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ml4t.metrics._checks import (
    as_returns,
    check_level,
    check_periods_per_year,
    finish,
    nan_moments,
    per_period_rate,
    resolved_deviation,
)

__all__ = [
    "annual_return",
    "annual_volatility",
    "calmar_ratio",
    "conditional_value_at_risk",
    "cumulative_returns",
    "downside_deviation",
    "drawdown_series",
    "max_drawdown",
    "max_drawdown_duration",
    "sharpe_ratio",
    "sortino_ratio",
    "total_return",
    "value_at_risk",
]


def _nan(m: int) -> np.ndarray:
    return np.full(m, np.nan)


def _wealth(x: np.ndarray) -> np.ndarray:
    """The wealth path, ``(bars + 1) x series``: row 0 is the starting wealth 1 before the first return,
    row ``i`` the wealth after bar ``i - 1``. NaN returns are flat bars."""
    growth = np.where(np.isnan(x), 1.0, 1.0 + x)
    wealth = np.empty((x.shape[0] + 1, x.shape[1]))
    wealth[0] = 1.0
    with np.errstate(over="ignore", invalid="ignore"):
        np.cumprod(growth, axis=0, out=wealth[1:])
    return wealth


def _drawdowns(x: np.ndarray) -> np.ndarray:
    """Drawdown of the wealth path from its running peak, same rows as :func:`_wealth` (row 0 is 0)."""
    wealth = _wealth(x)
    peak = np.maximum.accumulate(wealth, axis=0)  # >= 1 > 0, so the division below is always defined
    with np.errstate(invalid="ignore"):
        return wealth / peak - 1.0


# --- growth ---------------------------------------------------------------------------------------


def total_return(returns: Any) -> Any:
    """Compounded return over the whole series: ``prod(1 + r) - 1`` (NaN bars are flat).

    Same as empyrical's ``cum_returns_final``, except that an all-NaN series gives NaN (empyrical: 0).
    """
    x, one_d = as_returns(returns)
    count = (~np.isnan(x)).sum(axis=0)
    with np.errstate(over="ignore", invalid="ignore"):
        growth = np.where(np.isnan(x), 1.0, 1.0 + x).prod(axis=0)
    return finish(np.where(count > 0, growth - 1.0, np.nan), one_d)


def annual_return(returns: Any, periods_per_year: float) -> Any:
    """Compound annual growth rate (CAGR): ``(1 + total_return) ** (periods_per_year / n) - 1``.

    ``n`` is the number of bars, NaN bars included (time passed even if the return is missing), as in
    empyrical's ``annual_return``. A wealth path that ends at or below zero gives -1 (at zero) or NaN
    (below zero: no real growth rate exists). An annualized rate that overflows is ``inf``.
    """
    ppy = check_periods_per_year(periods_per_year)
    x, one_d = as_returns(returns)
    n = x.shape[0]
    if n == 0:
        return finish(_nan(x.shape[1]), one_d)
    count = (~np.isnan(x)).sum(axis=0)
    with np.errstate(over="ignore", invalid="ignore"):
        growth = np.where(np.isnan(x), 1.0, 1.0 + x).prod(axis=0)
        base = np.where(growth >= 0.0, growth, np.nan)
        cagr = np.power(base, ppy / n) - 1.0
    return finish(np.where(count > 0, cagr, np.nan), one_d)


# --- dispersion and risk-adjusted return ---------------------------------------------------------------


def annual_volatility(returns: Any, periods_per_year: float) -> Any:
    """Annualized volatility: ``std(r, ddof=1) * sqrt(periods_per_year)``. NaN with fewer than 2 values;
    exactly 0 for constant returns (empyrical leaves a rounding residue such as 4e-16 there)."""
    ppy = check_periods_per_year(periods_per_year)
    x, one_d = as_returns(returns)
    _, _, var = nan_moments(x)
    return finish(np.sqrt(var) * np.sqrt(ppy), one_d)


def sharpe_ratio(returns: Any, periods_per_year: float, *, risk_free: float = 0.0) -> Any:
    """Annualized Sharpe ratio: ``mean(r - rf_p) / std(r - rf_p, ddof=1) * sqrt(periods_per_year)``.

    ``risk_free`` is an annual rate, applied per period as ``rf_p = (1 + rf) ** (1 / ppy) - 1``. NaN
    with fewer than two values and for constant returns (zero deviation, or one within the rounding of the
    mean: returns equal but for their last bits; empyrical returns +-inf or +-1e17 there).
    """
    ppy = check_periods_per_year(periods_per_year)
    rf_p = per_period_rate(risk_free, ppy)
    x, one_d = as_returns(returns)
    return finish(excess_ratios(x - rf_p, ppy)[0], one_d)


def excess_ratios(adj: np.ndarray, ppy: float) -> tuple[np.ndarray, np.ndarray]:
    """The Sharpe and Sortino ratios per column of the excess returns ``adj`` (2-D, ``r - rf_p``) from one
    computation of their moments: :func:`sharpe_ratio` and :func:`sortino_ratio` each take their own, and
    ``summary`` both (the rules are written here, once)."""
    count, mean, var = nan_moments(adj)
    std = np.sqrt(var)
    ok = (count >= 2) & resolved_deviation(std, mean)
    sharpe = _nan(adj.shape[1])
    np.divide(mean, std, out=sharpe, where=ok)
    downside = _downside(adj, ppy)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = mean * ppy / downside
    return sharpe * np.sqrt(ppy), np.where(count >= 2, ratio, np.nan)


def _downside(adj: np.ndarray, ppy: float) -> np.ndarray:
    valid = ~np.isnan(adj)
    count = valid.sum(axis=0)
    below = np.where(valid, np.minimum(adj, 0.0), 0.0)
    with np.errstate(over="ignore"):
        sq = (below * below).sum(axis=0)
    out = _nan(adj.shape[1])
    np.divide(sq, count, out=out, where=count > 0)
    annualized: np.ndarray = np.sqrt(out) * math.sqrt(ppy)
    return annualized


def downside_deviation(returns: Any, periods_per_year: float, *, risk_free: float = 0.0) -> Any:
    """Annualized downside deviation below the risk-free rate:
    ``sqrt(mean(min(r - rf_p, 0) ** 2)) * sqrt(periods_per_year)``.

    The mean runs over **all** periods (ddof 0), not only the losing ones: empyrical's ``downside_risk``
    convention (and Sortino's own). NaN for empty or all-NaN input.
    """
    ppy = check_periods_per_year(periods_per_year)
    rf_p = per_period_rate(risk_free, ppy)
    x, one_d = as_returns(returns)
    return finish(_downside(x - rf_p, ppy), one_d)


def sortino_ratio(returns: Any, periods_per_year: float, *, risk_free: float = 0.0) -> Any:
    """Annualized Sortino ratio: ``mean(r - rf_p) * periods_per_year / downside_deviation``.

    ``downside_deviation`` is :func:`downside_deviation` (root mean square of ``min(r - rf_p, 0)`` over all
    periods, times ``sqrt(periods_per_year)``), as in empyrical. NaN with fewer than two values. With no
    period below the risk-free rate the downside deviation is 0 and the ratio is ``+inf`` if the mean
    excess return is positive, NaN if it is zero (empyrical's convention too).
    """
    ppy = check_periods_per_year(periods_per_year)
    rf_p = per_period_rate(risk_free, ppy)
    x, one_d = as_returns(returns)
    return finish(excess_ratios(x - rf_p, ppy)[1], one_d)


# --- drawdowns ------------------------------------------------------------------------------------


def cumulative_returns(returns: Any) -> Any:
    """Compounded return up to and including each bar, ``cumprod(1 + r) - 1`` (NaN bars are flat);
    same shape as ``returns``, always an array."""
    x, one_d = as_returns(returns)
    out = _wealth(x)[1:] - 1.0
    return out[:, 0] if one_d else out


def drawdown_series(returns: Any) -> Any:
    """Drawdown after each bar, ``wealth / running_peak - 1`` (0 at a new high, negative below it); same
    shape as ``returns``. The wealth path starts at 1 *before* the first return, so a loss on the first
    bar is a drawdown."""
    x, one_d = as_returns(returns)
    out = _drawdowns(x)[1:]
    return out[:, 0] if one_d else out


def max_drawdown(returns: Any) -> Any:
    """Largest peak-to-trough fall of the wealth path, as a negative fraction (``-0.25`` is a 25% fall;
    0 if the path never falls). The path starts at 1 before the first return, so a loss on the first bar
    counts, as in empyrical. NaN for empty or all-NaN input (empyrical: 0 for all-NaN)."""
    x, one_d = as_returns(returns)
    count = (~np.isnan(x)).sum(axis=0)
    worst = _drawdowns(x).min(axis=0)
    return finish(np.where(count > 0, worst, np.nan), one_d)


def _drawdown_spans(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column, the longest drawdown as (duration, peak row, end row) in rows of :func:`_wealth`.

    A row is *at a high* when its wealth is at the running peak. Below a high, a drawdown has lasted
    ``row - last_high`` rows; it ends at the first row back at (or above) the peak, or at the last row.
    """
    wealth = _wealth(x)
    rows = np.arange(wealth.shape[0])[:, None]
    at_high = wealth >= np.maximum.accumulate(wealth, axis=0)
    last_high = np.maximum.accumulate(np.where(at_high, rows, 0), axis=0)
    under = ~at_high
    prev_under = np.vstack([np.zeros((1, x.shape[1]), dtype=bool), under[:-1]])
    prev_high = np.vstack([np.zeros((1, x.shape[1]), dtype=np.int64), last_high[:-1]])
    recovered = at_high & prev_under
    peak = np.where(under, last_high, np.where(recovered, prev_high, rows))
    length = rows - peak
    end = np.argmax(length, axis=0)  # the first longest drawdown
    cols = np.arange(x.shape[1])
    return length[end, cols], peak[end, cols], end


def max_drawdown_duration(returns: Any) -> Any:
    """The longest time, in bars, from a peak of the wealth path until it regains that peak (or until the
    last bar if it never does).

    Counted as bars elapsed: a loss on bar 1 recovered on bar 3 lasted 3 bars (the peak is the starting
    wealth before bar 1); a loss on the last bar lasts 1 bar. 0 if the path never falls. Returned as a
    float (a whole number of bars) so that empty or all-NaN input can be NaN.
    """
    x, one_d = as_returns(returns)
    count = (~np.isnan(x)).sum(axis=0)
    length, _, _ = _drawdown_spans(x)
    return finish(np.where(count > 0, length.astype(np.float64), np.nan), one_d)


def calmar_ratio(returns: Any, periods_per_year: float) -> Any:
    """Calmar ratio: ``annual_return / abs(max_drawdown)`` over the whole series; NaN when the maximum
    drawdown is 0 (or undefined). Unlike empyrical, an infinite ratio (from an overflowing annual return)
    stays ``inf`` rather than becoming NaN."""
    ppy = check_periods_per_year(periods_per_year)
    x, one_d = as_returns(returns)
    return finish(calmar_from(annual_return(x, ppy), max_drawdown(x)), one_d)


def calmar_from(cagr: Any, mdd: Any) -> np.ndarray:
    """:func:`calmar_ratio`'s rule on its two inputs, already computed (``annual_return``, ``max_drawdown``:
    floats or one value per column), one value per column: what ``summary`` uses, so the two parts of the
    ratio are computed once for a whole summary."""
    cagr, mdd = np.atleast_1d(cagr), np.atleast_1d(mdd)
    out = _nan(cagr.shape[0])
    np.divide(cagr, np.abs(mdd), out=out, where=mdd < 0)
    return out


# --- tail risk ------------------------------------------------------------------------------------


def value_at_risk(returns: Any, level: float = 0.05) -> Any:
    """Historical value at risk: the ``level`` quantile of the returns, ``np.percentile(r, 100 * level)``
    with linear interpolation (a return, so usually negative: ``-0.03`` means a 3% loss).

    Matches empyrical's ``value_at_risk`` bit for bit on finite input. NaN values are skipped (empyrical
    returns NaN if any value is NaN); empty or all-NaN input gives NaN.
    """
    q = check_level(level) * 100.0 / 100.0  # the same rounding as numpy.percentile's q / 100
    x, one_d = as_returns(returns)
    m = x.shape[1]
    if x.shape[0] == 0:
        return finish(_nan(m), one_d)
    count = (~np.isnan(x)).sum(axis=0)
    ordered = np.sort(x, axis=0)  # NaN sorts last
    top = np.maximum(count - 1, 0)
    virtual = top * q
    floor = np.floor(virtual)
    gamma = virtual - floor
    lo = np.minimum(floor.astype(np.int64), top)
    hi = np.minimum(lo + 1, top)
    a = np.take_along_axis(ordered, lo[None, :], axis=0)[0]
    b = np.take_along_axis(ordered, hi[None, :], axis=0)[0]
    diff = b - a  # numpy's _lerp, which is exact at both ends
    value = np.where(gamma >= 0.5, b - diff * (1.0 - gamma), a + diff * gamma)
    return finish(np.where(count > 0, value, np.nan), one_d)


def conditional_value_at_risk(returns: Any, level: float = 0.05) -> Any:
    """Historical conditional value at risk (expected shortfall): the mean of the ``k`` smallest returns,
    ``k = int((n - 1) * level) + 1`` with ``n`` the number of non-NaN returns, as in empyrical's
    ``conditional_value_at_risk``. NaN values are skipped; empty or all-NaN input gives NaN."""
    lvl = check_level(level)
    x, one_d = as_returns(returns)
    m = x.shape[1]
    if x.shape[0] == 0:
        return finish(_nan(m), one_d)
    count = (~np.isnan(x)).sum(axis=0)
    k = (np.maximum(count - 1, 0) * lvl).astype(np.int64) + 1
    ordered = np.sort(x, axis=0)
    tail = np.arange(x.shape[0])[:, None] < k
    with np.errstate(invalid="ignore", over="ignore"):
        total = np.where(tail, ordered, 0.0).sum(axis=0)
    return finish(np.where(count > 0, total / k, np.nan), one_d)
