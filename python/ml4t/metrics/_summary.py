"""``summary(result)``: every statistic of one :class:`~ml4t.Result` as a one-row Polars frame.

The frame's columns and dtypes are fixed (:data:`SUMMARY_SCHEMA`), so a sweep can ``pl.concat`` one row per
parameter combination. Undefined floating-point statistics are NaN (as the array functions return them);
undefined counts, durations and timestamps are null.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ml4t import _core
from ml4t._time import TS_DTYPE
from ml4t.errors import ConfigError
from ml4t.metrics._activity import activity_statistics
from ml4t.metrics._checks import check_level, check_periods_per_year, check_result, per_period_rate
from ml4t.metrics._moments import statistics_from_moments
from ml4t.metrics._trades import TRADE_STATS_SCHEMA, trade_statistics

if TYPE_CHECKING:
    from ml4t._shape import ResultShape

__all__ = ["SUMMARY_SCHEMA", "summary"]

_F64 = pl.Float64()
_I64 = pl.Int64()
_DURATION = pl.Duration("ns")

SUMMARY_SCHEMA: dict[str, pl.DataType] = {
    "total_return": _F64,
    "annual_return": _F64,
    "annual_volatility": _F64,
    "sharpe_ratio": _F64,
    "sortino_ratio": _F64,
    "calmar_ratio": _F64,
    "max_drawdown": _F64,
    "max_drawdown_duration_bars": _I64,
    "max_drawdown_duration": _DURATION,
    "var": _F64,
    "cvar": _F64,
    "turnover": _F64,
    "exposure": _F64,
    "avg_gross_exposure": _F64,
    **TRADE_STATS_SCHEMA,
    "start": TS_DTYPE,
    "end": TS_DTYPE,
    "n_bars": _I64,
    "periods_per_year": _F64,
    "final_equity": _F64,
    "avg_net_exposure": _F64,
    "avg_n_positions": _F64,
    "avg_rebalance_turnover": _F64,
    "rebalance_count": _I64,
}
"""Columns of :func:`summary`, in order, with their dtypes."""


def _resolve_periods_per_year(result: ResultShape, periods_per_year: float | None) -> float:
    if periods_per_year is not None:
        return check_periods_per_year(periods_per_year)
    if result.periods_per_year is None:
        raise ConfigError(
            "cannot annualize: the Result has no periods_per_year; pass it, e.g. "
            "summary(result, periods_per_year=252) for US daily bars, or build the Result with periods_per_year=",
            argument="periods_per_year",
        )
    return check_periods_per_year(result.periods_per_year)


def _drawdown_duration(stats: dict[str, float], ts_ns: np.ndarray) -> tuple[int | None, int | None]:
    """The longest drawdown in bars and in nanoseconds (see :func:`max_drawdown_duration`), from the rows of
    the wealth path ``ml4t._core.return_statistics`` found.

    Its time span runs from the peak bar's timestamp to the recovery bar's (or the last bar's). When the
    peak is the starting capital, before the first bar, the first bar's timestamp stands in for it (the
    time of ``init_cash`` is not recorded), so such a span is one bar spacing shorter than its bar count.
    """
    if stats["count"] == 0:
        return None, None
    length, peak, end = int(stats["drawdown_length"]), int(stats["drawdown_peak"]), int(stats["drawdown_end"])
    if length == 0:
        return 0, 0
    # row i of the wealth path is the equity after bar i - 1
    return length, int(ts_ns[end - 1] - ts_ns[max(peak - 1, 0)])


def _return_statistics(result: ResultShape, ppy: float, rf_p: float, var_level: float) -> dict[str, Any]:
    """The return columns of :func:`summary` from one pass over the equity curve (``ml4t._core``), turned into
    statistics by :func:`~ml4t.metrics.statistics_from_moments` (the sweep's rules, with the excess mean and
    the downside below ``rf_p``)."""
    equity = np.ascontiguousarray(result.equity["equity"].to_numpy(), dtype=np.float64)
    stats = _core.return_statistics(equity, float(result.init_cash), rf_p, var_level)
    values = statistics_from_moments(
        n_bars=len(equity),
        count=np.array([stats["count"]]),
        mean=np.array([stats["mean"] - rf_p]),
        m2=np.array([stats["m2"]]),
        low=np.array([stats["low"]]),
        high=np.array([stats["high"]]),
        downside_sq=np.array([stats["downside_sq"]]),
        total_return=np.array([stats["total_return"]]),
        max_drawdown=np.array([stats["max_drawdown"]]),
        periods_per_year=ppy,
    )
    bars, span_ns = _drawdown_duration(stats, result.equity["ts_event"].cast(pl.Int64).to_numpy())
    return {
        **{name: float(column[0]) for name, column in values.items()},
        "max_drawdown_duration_bars": bars,
        "max_drawdown_duration": span_ns,
        "var": stats["value_at_risk"],
        "cvar": stats["conditional_value_at_risk"],
    }


def summary(
    result: ResultShape,
    *,
    periods_per_year: float | None = None,
    risk_free: float = 0.0,
    var_level: float = 0.05,
) -> pl.DataFrame:
    """Every statistic of ``result`` as a one-row frame with the columns of :data:`SUMMARY_SCHEMA`.

    Parameters
    ----------
    result:
        A backtest result; returns are ``result.returns`` (the first one measured from ``init_cash``).
    periods_per_year:
        Annualization factor; default ``result.periods_per_year``. ConfigError if neither is set.
    risk_free:
        Annual risk-free rate for the Sharpe and Sortino ratios (converted per period, see
        :func:`ml4t.metrics.sharpe_ratio`).
    var_level:
        Tail probability of ``var`` and ``cvar`` (0.05: the worst 5% of bars).

    Notes
    -----
    Columns: ``total_return``, ``annual_return``, ``annual_volatility``, ``sharpe_ratio``,
    ``sortino_ratio``, ``calmar_ratio``, ``max_drawdown``, ``var``, ``cvar`` as the functions of the same
    names in ``ml4t.metrics`` define them; ``max_drawdown_duration_bars`` (bars, as
    :func:`~ml4t.metrics.max_drawdown_duration`) and ``max_drawdown_duration`` (the same drawdown's time
    span from its peak bar's timestamp to its recovery or last bar's; the first bar's timestamp stands in
    for a peak at the starting capital); ``turnover``, ``exposure``, ``avg_gross_exposure`` from
    :func:`~ml4t.metrics.activity_statistics`; the trade columns of
    :func:`~ml4t.metrics.trade_statistics` (closed trades only); ``start`` and ``end`` (first and last bar
    timestamps), ``n_bars``, the ``periods_per_year`` used, and ``final_equity``; then the portfolio's
    ``avg_net_exposure``, ``avg_n_positions``, ``avg_rebalance_turnover`` and ``rebalance_count`` from
    :func:`~ml4t.metrics.activity_statistics` (appended last, so the columns before them keep their places).

    The return columns come from one pass over the equity curve in the compiled core
    (``ml4t._core.return_statistics``: the returns, their moments, the wealth path and its drawdowns, and
    VaR/CVaR by selection rather than a sort), turned into statistics by the sweep's own rules
    (:func:`~ml4t.metrics.statistics_from_moments`). The definitions are those of the array functions; the
    sums run in bar order rather than NumPy's pairwise order, so a value may differ from the array
    function's in its last bits (``tests/metrics`` holds them to 1e-12 relative). The same Result always
    gives the same bits, whichever mode produced it.
    """
    check_result(result)
    ppy = _resolve_periods_per_year(result, periods_per_year)
    rf_p = per_period_rate(risk_free, ppy)  # validate before any work
    check_level(var_level, argument="var_level")

    ts = result.equity["ts_event"]
    n_bars = result.equity.height
    final = result.equity["equity"][-1] if n_bars else None
    values = _return_statistics(result, ppy, rf_p, var_level)
    values.update(n_bars=n_bars, periods_per_year=ppy, final_equity=float("nan") if final is None else float(final))
    activity = activity_statistics(result, ppy).row(0, named=True)
    trades = trade_statistics(result.trades)
    columns: list[pl.Series] = []
    for name, dtype in SUMMARY_SCHEMA.items():
        if name in TRADE_STATS_SCHEMA:
            columns.append(trades[name])
        elif name in ("start", "end"):
            edge = ts.gather([0 if name == "start" else n_bars - 1]) if n_bars else pl.Series([None], dtype=dtype)
            columns.append(edge.alias(name))
        elif name == "max_drawdown_duration":
            columns.append(pl.Series(name, [values[name]], dtype=pl.Int64).cast(dtype))
        else:
            columns.append(pl.Series(name, [activity[name] if name in activity else values[name]], dtype=dtype))
    return pl.DataFrame(columns)
