"""How much a strategy trades and how much of the time it is invested.

Read from ``Result.fills``, ``Result.positions`` and ``Result.equity``; a bar is a row of
``Result.equity``. A result with no fills and no positions (e.g. ``Result.from_equity``) has zero
turnover and zero exposure: it never traded and never held anything.
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
}
"""Columns and dtypes of :func:`activity_statistics`, in order."""


def _float(value: Any) -> float:
    return float("nan") if value is None else float(value)


def activity_statistics(result: ResultShape, periods_per_year: float) -> pl.DataFrame:
    """One row of activity statistics (:data:`ACTIVITY_STATS_SCHEMA`):

    ``traded_value``
        ``sum(quantity * fill_price)`` over all fills, in account currency (both sides count; contract
        multipliers are not in the fills table and are not applied).
    ``turnover``
        Annualized turnover: ``traded_value / mean(equity) * periods_per_year / n_bars``, i.e. how many
        times per year the average capital was traded (a daily strategy that buys and later sells its whole
        equity once a month has a turnover of about 24). 0 when nothing traded; NaN when there are no bars
        or when something traded but the mean equity is not positive.
    ``exposure``
        Fraction of bars with at least one nonzero position (``position_qty != 0``).
    ``avg_gross_exposure``
        Mean over bars of ``sum(|position_value|) / equity`` (1.0 is fully invested without leverage;
        bars without positions count as 0).

    ``exposure`` and ``avg_gross_exposure`` are NaN for a result with no bars.
    """
    check_result(result)
    ppy = check_periods_per_year(periods_per_year)
    equity = result.equity.select("ts_event", "equity")
    n_bars = equity.height

    traded = float(result.fills.select((pl.col("quantity") * pl.col("fill_price")).sum()).item() or 0.0)
    # Result.positions is sorted by ts_event (its documented layout): flag it so grouping and joining take
    # Polars' sorted fast paths instead of hashing a row per bar and symbol
    per_bar = (
        result.positions.with_columns(pl.col("ts_event").set_sorted())
        .group_by("ts_event", maintain_order=True)
        .agg(
            (pl.col("position_qty").fill_null(0.0) != 0).any().alias("invested"),
            pl.col("position_value").abs().sum().alias("gross"),
        )
    )
    bars = (
        equity.with_columns(pl.col("ts_event").set_sorted())
        .join(per_bar, on="ts_event", how="left")
        .with_columns(
            pl.col("invested").fill_null(False).cast(pl.Float64),
            pl.col("gross").fill_null(0.0),
        )
    )
    if n_bars == 0:
        nan = float("nan")
        row = {"turnover": nan, "traded_value": traded, "exposure": nan, "avg_gross_exposure": nan}
        return pl.DataFrame({k: [v] for k, v in row.items()}, schema=ACTIVITY_STATS_SCHEMA)
    means = bars.select(
        pl.col("equity").mean().alias("equity"),
        pl.col("invested").mean().alias("exposure"),
        # a bar without positions is 0 exposed whatever its equity (even 0)
        pl.when(pl.col("gross") == 0).then(0.0).otherwise(pl.col("gross") / pl.col("equity")).mean().alias("gross"),
    ).row(0, named=True)
    mean_equity = _float(means["equity"])
    if traded == 0.0:
        turnover = 0.0
    elif mean_equity > 0:
        turnover = traded / mean_equity * ppy / n_bars
    else:
        turnover = float("nan")
    exposure, gross = _float(means["exposure"]), _float(means["gross"])
    row = {"turnover": turnover, "traded_value": traded, "exposure": exposure, "avg_gross_exposure": gross}
    return pl.DataFrame({k: [v] for k, v in row.items()}, schema=ACTIVITY_STATS_SCHEMA)
