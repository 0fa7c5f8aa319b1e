"""How much a strategy trades, how much of the time it is invested, and how a portfolio sits over time.

Read from ``Result.fills`` and the frames the shape derives from its ``positions``, ``equity`` and ``fills``
(``Result.exposure``, ``Result.turnover``: one definition of each, in ``ml4t._shape``; the exposure's means
through ``Result.exposure_means``, which an engine's result computes in one pass over its position arrays,
building neither the positions nor the exposure frame); a bar is a row of ``Result.equity``. A result with
no fills and no positions (e.g. ``Result.from_equity``) has zero turnover and zero exposure: it never traded
and never held anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from ml4t.metrics._checks import check_periods_per_year, check_result

if TYPE_CHECKING:
    from ml4t._shape import ResultShape

__all__ = ["ACTIVITY_STATS_SCHEMA", "activity_statistics"]

ACTIVITY_STATS_SCHEMA: dict[str, pl.DataType] = {
    "turnover": pl.Float64(),
    "traded_value": pl.Float64(),
    "exposure": pl.Float64(),
    "avg_gross_exposure": pl.Float64(),
    "avg_net_exposure": pl.Float64(),
    "avg_n_positions": pl.Float64(),
    "avg_rebalance_turnover": pl.Float64(),
    "rebalance_count": pl.Int64(),
}
"""Columns and dtypes of :func:`activity_statistics`, in order."""


def _float(value: Any) -> float:
    return float("nan") if value is None else float(value)


def activity_statistics(result: ResultShape, periods_per_year: float) -> pl.DataFrame:
    """One row of activity statistics (:data:`ACTIVITY_STATS_SCHEMA`). Turnover is two-sided throughout
    (buys and sells both count, as in pyfolio: moving the whole equity from one symbol to another trades
    twice the equity); fractions of equity follow ``ml4t._shape``'s one rule (null, and so skipped by the
    averages, at a bar whose equity is ``<= 0`` while something is held).

    ``traded_value``
        ``sum(quantity * fill_price)`` over all fills, in account currency (both sides count; contract
        multipliers are not in the fills table and are not applied).
    ``turnover``
        Annualized average turnover: ``traded_value / mean(equity) * periods_per_year / n_bars``, i.e. how
        many times per year the average capital was traded (a daily strategy that buys and later sells its
        whole equity once a month has a turnover of about 24). 0 when nothing traded; NaN when there are no
        bars or when something traded but the mean equity is not positive.
    ``exposure``
        Fraction of bars with at least one nonzero position (``position_qty != 0``).
    ``avg_gross_exposure``, ``avg_net_exposure``
        Mean over bars of ``Result.exposure``'s ``gross`` (``sum(|position_value|) / equity``; 1.0 is fully
        invested without leverage) and ``net`` (``sum(position_value) / equity``); a bar without positions
        counts as 0, a bar without a fraction (equity ``<= 0`` while holding) is skipped.
    ``avg_n_positions``
        Mean over bars of ``Result.exposure``'s ``n_positions`` (symbols held).
    ``rebalance_count``, ``avg_rebalance_turnover``
        The bars with fills (rows of ``Result.turnover``), and the mean of their ``turnover``
        (``traded_value / equity`` of the bar): how much of the account one rebalance trades. NaN when
        nothing traded.

    The averages over bars are NaN for a result with no bars.
    """
    check_result(result)
    ppy = check_periods_per_year(periods_per_year)
    rebalances = result.turnover
    n_bars = result.equity.height

    traded = float(result.fills.select((pl.col("quantity") * pl.col("fill_price")).sum()).item() or 0.0)
    mean_equity = _float(result.equity.select(pl.col("equity").mean()).item())
    means = result.exposure_means()  # from the positions' arrays in one pass when it can (see there)
    if n_bars == 0:
        turnover = float("nan")
    elif traded == 0.0:
        turnover = 0.0
    elif mean_equity > 0:
        turnover = traded / mean_equity * ppy / n_bars
    else:
        turnover = float("nan")
    row = {
        "turnover": turnover,
        "traded_value": traded,
        **means,
        "avg_rebalance_turnover": _float(rebalances["turnover"].mean()),
        "rebalance_count": rebalances.height,
    }
    return pl.DataFrame({k: [v] for k, v in row.items()}, schema=ACTIVITY_STATS_SCHEMA)
