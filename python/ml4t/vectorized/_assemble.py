"""Turning the kernel's detailed output for one combination into an ``ml4t.Result``, and saying what the run
must say out loud (``ml4t._run_report``).

Conventions shared with the event mode (a promoted run gives the same frames): an order's ``ts_submitted`` is
the bar it was decided on (the fill bar under close execution, the bar before it under next-open: the signal's
bar), its ``ts_closed`` and its fill's ``ts_event`` the bar it filled or was rejected on; an order that did not
fill has a null ``avg_fill_price``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from ml4t import _core
from ml4t._kernel.signals import Panel
from ml4t._roundtrips import round_trips
from ml4t._run_report import report_run
from ml4t._time import TS_DTYPE
from ml4t.result import FILLS_SCHEMA, ORDERS_SCHEMA, POSITIONS_SCHEMA, Result

__all__ = ["assemble"]


def assemble(
    raw: Mapping[str, Any],
    panel: Panel,
    *,
    init_cash: float,
    cash_sharing: bool,
    execution: str,
    periods_per_year: float | None,
    meta: Mapping[str, Any],
) -> Result:
    n_bars, n_sym = panel.n_bars, len(panel.symbols)
    n_groups = int(raw["n_groups"])
    width = n_sym if cash_sharing else 1
    ts = panel.ts.cast(TS_DTYPE)
    cash = raw["cash"].reshape(n_groups, n_bars).sum(axis=0)
    equity_curve = raw["equity"].reshape(n_groups, n_bars).sum(axis=0)
    equity = pl.DataFrame({"ts_event": ts, "cash": cash, "equity": equity_curve})

    # positions: per group bar-major (n_bars, width) -> (n_bars, n_sym)
    pos = raw["positions"].reshape(n_groups, n_bars, width).transpose(1, 0, 2).reshape(n_bars, n_sym)
    marks = pl.DataFrame({s: panel.close[i] for i, s in enumerate(panel.symbols)}).select(
        pl.all().fill_nan(None).forward_fill()
    )
    mark = marks.to_numpy()
    positions = pl.DataFrame(
        {
            "ts_event": ts.gather(np.repeat(np.arange(n_bars), n_sym)),
            "symbol": pl.Series(panel.symbols, dtype=pl.String).gather(np.tile(np.arange(n_sym), n_bars)),
            "position_qty": pos.ravel(),
            "market_price": mark.ravel(),
            "position_value": (pos * np.nan_to_num(mark)).ravel(),
        }
    ).cast(pl.Schema(POSITIONS_SCHEMA))

    order = np.lexsort((raw["col"], raw["bar"]))  # execution order: by bar, then column
    bar, col = raw["bar"][order], raw["col"][order]
    status, side = raw["status"][order], raw["side"][order]
    size, price, fees = raw["size"][order], raw["price"][order], raw["fees"][order]
    requested, raw_price = raw["requested"][order], raw["raw_price"][order]
    filled = status == 0
    symbols = (
        pl.Series(panel.symbols, dtype=pl.String).gather(col % n_sym) if len(col) else pl.Series([], dtype=pl.String)
    )
    when = ts.gather(bar) if len(bar) else pl.Series([], dtype=TS_DTYPE)
    decided = np.maximum(bar - 1, 0) if execution == "next_open" else bar
    submitted = ts.gather(decided) if len(bar) else pl.Series([], dtype=TS_DTYPE)
    sides = np.where(side > 0, "buy", "sell")
    quantity = np.where(filled, size, np.where(np.isfinite(requested), np.abs(requested), np.nan))
    orders = pl.DataFrame(
        {
            "order_id": np.arange(len(bar), dtype=np.int64),
            "ts_submitted": submitted,
            "symbol": symbols,
            "side": sides,
            "order_type": np.full(len(bar), "market"),
            "quantity": quantity,
            "limit_price": np.full(len(bar), np.nan),
            "stop_price": np.full(len(bar), np.nan),
            "time_in_force": np.full(len(bar), "ioc"),
            "status": np.where(filled, "filled", "rejected"),
            "reason": [None if s == 0 else _core.reject_reason(int(s)) for s in status],
            "reason_code": pl.Series([None if s == 0 else _core.reject_code(int(s)) for s in status], dtype=pl.String),
            "filled_quantity": np.where(filled, size, 0.0),
            "avg_fill_price": np.where(filled, price, np.nan),
            "ts_closed": when,
            "tag": pl.Series([None] * len(bar), dtype=pl.String),
        },
        schema_overrides=ORDERS_SCHEMA,
    ).with_columns(pl.col("quantity", "limit_price", "stop_price", "avg_fill_price").fill_nan(None))
    fills = (
        orders.filter(pl.col("status") == "filled")
        .select(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("fill_id"),
            "order_id",
            pl.col("ts_closed").alias("ts_event"),
            "symbol",
            "side",
            pl.col("filled_quantity").alias("quantity"),
            pl.col("avg_fill_price").alias("fill_price"),
            pl.Series("fee", fees[filled]),
            pl.Series("slippage", np.abs(price[filled] - raw_price[filled]) * size[filled]),
        )
        .cast(pl.Schema(FILLS_SCHEMA))
    )
    last = {s: float(marks[s][-1]) for s in panel.symbols}
    trades = round_trips(fills, last)
    result = Result(
        equity=equity,
        positions=positions,
        orders=orders,
        fills=fills,
        trades=trades,
        init_cash=init_cash * (1 if cash_sharing else n_sym),
        periods_per_year=periods_per_year,
        meta=dict(meta),
    )
    report_run(result, stacklevel=4)
    return result
