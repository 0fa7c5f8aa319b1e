"""Running backtrader on ml4t ``Bars`` and collecting what the parity tests compare.

One cerebro per run, one ``PandasDirectData`` feed per symbol (named after it, tz-naive UTC stamps, the bars'
``ts_event``), ``stdstats=False`` (no observers), a stock-like percentage commission set explicitly
(``commtype=COMM_PERC``, ``percabs=True``: ``0.001`` is 0.1% of traded value). Strategies subclass
:class:`Recorder` and implement ``step()`` (called on every bar, also during an indicator warm-up, where
``warm`` is False); the recorder collects every execution, every bar's cash and value and every order's final
status. Everything comes back as Polars frames shaped like ``ml4t.Result``'s so the tests compare column by
column.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import backtrader as bt
import pandas as pd
import polars as pl

from ml4t.data import Bars

__all__ = ["BacktraderRun", "Recorder", "pandas_frames", "run_backtrader", "timestamps"]

# backtrader's order statuses, named like ml4t's where they mean the same thing
STATUS = {
    bt.Order.Created: "open",
    bt.Order.Submitted: "open",
    bt.Order.Accepted: "open",
    bt.Order.Partial: "partially_filled",
    bt.Order.Completed: "filled",
    bt.Order.Canceled: "cancelled",
    bt.Order.Expired: "expired",
    bt.Order.Margin: "margin",
    bt.Order.Rejected: "rejected",
}
EXECTYPE = {
    bt.Order.Market: "market",
    bt.Order.Close: "close",
    bt.Order.Limit: "limit",
    bt.Order.Stop: "stop",
    bt.Order.StopLimit: "stop_limit",
    bt.Order.StopTrail: "trailing_stop",
}


def timestamps(bars: Bars) -> list[dt.datetime]:
    """The bars' distinct ``ts_event`` as naive UTC datetimes, in order (backtrader's clock)."""
    ts = bars.frame["ts_event"].unique().sort().dt.replace_time_zone(None)
    return ts.to_list()


def pandas_frames(bars: Bars) -> dict[str, pd.DataFrame]:
    """One frame per symbol: a naive-UTC DatetimeIndex, then open, high, low, close, volume."""
    frame = bars.frame.sort("symbol", "ts_event", maintain_order=True)
    out = {}
    for part in frame.partition_by("symbol", maintain_order=True):
        df = (
            part.select(pl.col("ts_event").dt.replace_time_zone(None), "open", "high", "low", "close", "volume")
            .to_pandas()
            .set_index("ts_event")
        )
        df.index.name = None
        out[part["symbol"][0]] = df
    return out


class Recorder(bt.Strategy):  # type: ignore[misc]
    """Base strategy: records fills, per-bar cash and value, and all orders; subclasses implement ``step``."""

    def __init__(self) -> None:
        self.fill_rows: list[dict[str, Any]] = []
        self.equity_rows: list[dict[str, Any]] = []
        self.all_orders: list[Any] = []
        self.by_name = {d._name: d for d in self.datas}

    # --- order helpers that remember every order ----------------------------------------------------------
    def place(self, symbol: str, quantity: float, **kwargs: Any) -> Any:
        data = self.by_name[symbol]
        order = (self.buy if quantity > 0 else self.sell)(data=data, size=abs(quantity), **kwargs)
        self.all_orders.append(order)
        return order

    def notify_order(self, order: Any) -> None:
        if order.status == order.Completed:
            self.fill_rows.append(
                {
                    "ts_event": bt.num2date(order.executed.dt),
                    "symbol": order.data._name,
                    "side": "buy" if order.isbuy() else "sell",
                    "quantity": abs(order.executed.size),
                    "fill_price": order.executed.price,
                    "fee": order.executed.comm,
                }
            )

    # --- the clock ----------------------------------------------------------------------------------------
    def _mark(self) -> None:
        self.equity_rows.append(
            {
                "ts_event": self.datas[0].datetime.datetime(0),
                "cash": self.broker.getcash(),
                "equity": self.broker.getvalue(),
            }
        )

    def prenext(self) -> None:
        self._mark()
        self.step(warm=False)

    def nextstart(self) -> None:
        self.next()

    def next(self) -> None:
        self._mark()
        self.step(warm=True)

    def step(self, warm: bool) -> None:
        """The strategy's logic on the current bar (``warm``: every indicator is defined)."""


@dataclass
class BacktraderRun:
    fills: pl.DataFrame  # ts_event (UTC), symbol, side, quantity, fill_price, fee; in execution order
    equity: pl.DataFrame  # ts_event (UTC), cash, equity: one row per bar, after the bar's executions
    orders: pl.DataFrame  # ts_submitted (UTC), symbol, side, order_type, status
    cash: float
    value: float
    strategy: Any


def _utc(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.Datetime("ns")).dt.replace_time_zone("UTC")


def run_backtrader(
    bars: Bars,
    strategy: type[Recorder],
    *,
    init_cash: float,
    commission: float = 0.0,
    coc: bool = False,
    **params: Any,
) -> BacktraderRun:
    """Run ``strategy`` over ``bars`` (all symbols on one broker) and collect the comparable records."""
    cerebro = bt.Cerebro(stdstats=False, preload=True, runonce=True)
    for symbol, df in pandas_frames(bars).items():
        feed = bt.feeds.PandasDirectData(dataname=df, openinterest=-1, timeframe=bt.TimeFrame.Days)
        cerebro.adddata(feed, name=symbol)
    cerebro.addstrategy(strategy, **params)
    cerebro.broker.setcash(init_cash)
    cerebro.broker.setcommission(
        commission=commission, commtype=bt.CommInfoBase.COMM_PERC, percabs=True, stocklike=True
    )
    cerebro.broker.set_coc(coc)
    (strat,) = cerebro.run()
    fills = pl.DataFrame(
        strat.fill_rows,
        schema={
            "ts_event": pl.Datetime("us"),
            "symbol": pl.String,
            "side": pl.String,
            "quantity": pl.Float64,
            "fill_price": pl.Float64,
            "fee": pl.Float64,
        },
    ).with_columns(_utc("ts_event"))
    equity = pl.DataFrame(
        strat.equity_rows, schema={"ts_event": pl.Datetime("us"), "cash": pl.Float64, "equity": pl.Float64}
    ).with_columns(_utc("ts_event"))
    orders = pl.DataFrame(
        [
            {
                "ts_submitted": bt.num2date(o.created.dt),
                "symbol": o.data._name,
                "side": "buy" if o.isbuy() else "sell",
                "order_type": EXECTYPE[o.exectype],
                "status": STATUS[o.status],
            }
            for o in strat.all_orders
        ],
        schema={
            "ts_submitted": pl.Datetime("us"),
            "symbol": pl.String,
            "side": pl.String,
            "order_type": pl.String,
            "status": pl.String,
        },
    ).with_columns(_utc("ts_submitted"))
    return BacktraderRun(fills, equity, orders, cerebro.broker.getcash(), cerebro.broker.getvalue(), strat)
