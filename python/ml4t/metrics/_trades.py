"""Statistics of round-trip trades (``Result.trades``).

Only **closed** trades (``status == "closed"``) enter the win rate, profit factor, expectancy, average
return, holding time and best/worst trade: an open trade's P&L is a mark to the last price, not an
outcome. Open trades are counted separately (``open_trade_count``). ``pnl`` is net of fees, as
``Result.trades`` defines it. Null ``pnl``/``trade_return`` values are skipped.

Undefined values: float statistics are NaN when there is no closed trade; the average holding time is
null.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from ml4t._shape import TRADES_SCHEMA
from ml4t.errors import DataError

__all__ = ["TRADE_STATS_SCHEMA", "expectancy", "profit_factor", "trade_statistics", "win_rate"]

TRADE_STATS_SCHEMA: dict[str, pl.DataType] = {
    "trade_count": pl.Int64(),
    "open_trade_count": pl.Int64(),
    "win_rate": pl.Float64(),
    "profit_factor": pl.Float64(),
    "expectancy": pl.Float64(),
    "avg_trade_return": pl.Float64(),
    "avg_holding_time": pl.Duration("ns"),
    "best_trade": pl.Float64(),
    "worst_trade": pl.Float64(),
}
"""Columns and dtypes of :func:`trade_statistics`, in order."""


def _pnl(pnl: Any) -> np.ndarray:
    try:
        arr = np.asarray(pnl, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"pnl must be numeric: {exc}", argument="pnl") from None
    if arr.ndim != 1:
        raise DataError(f"pnl must be 1-D (one value per trade), got {arr.ndim}-D", argument="pnl")
    return arr[~np.isnan(arr)]


def win_rate(pnl: Any) -> float:
    """Share of trades with ``pnl > 0`` (a break-even trade is not a win). NaN when there are none."""
    arr = _pnl(pnl)
    return float(np.count_nonzero(arr > 0) / arr.size) if arr.size else float("nan")


def profit_factor(pnl: Any) -> float:
    """Gross profit over gross loss, ``sum(pnl > 0) / |sum(pnl < 0)|``.

    ``inf`` with profits and no losses, 0 with losses and no profits, NaN when there are no trades or
    every trade broke even.
    """
    arr = _pnl(pnl)
    profit = float(arr[arr > 0].sum())
    loss = float(-arr[arr < 0].sum())
    if loss > 0:
        return profit / loss
    return float("inf") if profit > 0 else float("nan")


def expectancy(pnl: Any) -> float:
    """Mean P&L per trade (account currency). NaN when there are none."""
    arr = _pnl(pnl)
    return float(arr.mean()) if arr.size else float("nan")


def trade_statistics(trades: pl.DataFrame) -> pl.DataFrame:
    """One row of trade statistics from a frame with ``Result.trades``' schema (see the module docstring).

    Columns (:data:`TRADE_STATS_SCHEMA`): ``trade_count`` (closed trades), ``open_trade_count``,
    ``win_rate``, ``profit_factor``, ``expectancy`` (mean ``pnl``), ``avg_trade_return`` (mean
    ``trade_return``), ``avg_holding_time`` (mean ``ts_exit - ts_entry``, rounded to the nanosecond),
    ``best_trade`` and ``worst_trade`` (largest and smallest ``pnl``).
    """
    if not isinstance(trades, pl.DataFrame):
        raise DataError(
            f"trades must be a Polars DataFrame (Result.trades), got {type(trades).__name__}", argument="trades"
        )
    for column in ("status", "pnl", "trade_return", "ts_entry", "ts_exit"):
        if column not in trades.columns:
            raise DataError("trades frame is missing a required column", argument="trades", column=column)
        if trades.schema[column] != TRADES_SCHEMA[column]:
            raise DataError(
                f"trades column has dtype {trades.schema[column]}, expected {TRADES_SCHEMA[column]}",
                argument="trades",
                column=column,
            )
    closed = trades.filter(pl.col("status") == "closed")
    n_open = int((trades["status"] == "open").sum())
    pnl = _pnl(closed["pnl"].drop_nulls().to_numpy())
    returns = _pnl(closed["trade_return"].drop_nulls().to_numpy())
    held = (closed["ts_exit"] - closed["ts_entry"]).dt.total_nanoseconds().drop_nulls().to_list()
    # exact integer mean (Python ints cannot overflow), rounded half up to the nanosecond
    mean_held = (2 * sum(held) + len(held)) // (2 * len(held)) if held else None
    row = {
        "trade_count": closed.height,
        "open_trade_count": n_open,
        "win_rate": win_rate(pnl),
        "profit_factor": profit_factor(pnl),
        "expectancy": expectancy(pnl),
        "avg_trade_return": float(returns.mean()) if returns.size else float("nan"),
        "avg_holding_time": mean_held,
        "best_trade": float(pnl.max()) if pnl.size else float("nan"),
        "worst_trade": float(pnl.min()) if pnl.size else float("nan"),
    }
    frame = pl.DataFrame(
        {k: [v] for k, v in row.items()}, schema={**TRADE_STATS_SCHEMA, "avg_holding_time": pl.Int64()}
    )
    return frame.with_columns(pl.col("avg_holding_time").cast(pl.Duration("ns")))
