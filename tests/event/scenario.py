"""Helpers for the event engine's scenario tests: tiny hand-made bars, a scripted strategy, and lookups.

Bars are daily by default, stamped 21:00 UTC from 2024-01-01 (``day(i)`` is the stamp of bar ``i``), so every
expected fill can be computed by hand from the rows a test writes out. ``Script`` runs one callable at the
k-th ``on_bar`` call (one call per timestamp), which for one symbol is the k-th bar.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import polars as pl

from ml4t import Result
from ml4t.data import Bars, bars
from ml4t.event import Context, Engine, Strategy

T0 = dt.datetime(2024, 1, 1, 21, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)

Row = tuple[float, float, float, float, float]  # open, high, low, close, volume
FLAT: Row = (100.0, 101.0, 99.0, 100.0, 1e6)


def day(i: int) -> dt.datetime:
    """The stamp of the i-th daily bar."""
    return T0 + i * DAY


def frame(
    rows: Sequence[Row],
    *,
    symbol: str = "X",
    start: dt.datetime = T0,
    step: dt.timedelta = DAY,
    times: Sequence[dt.datetime] | None = None,
    **extra: Sequence[float],
) -> pl.DataFrame:
    stamps = list(times) if times is not None else [start + i * step for i in range(len(rows))]
    return pl.DataFrame(
        {
            "ts_event": stamps,
            "symbol": [symbol] * len(rows),
            "open": [float(r[0]) for r in rows],
            "high": [float(r[1]) for r in rows],
            "low": [float(r[2]) for r in rows],
            "close": [float(r[3]) for r in rows],
            "volume": [float(r[4]) for r in rows],
            **{name: [float(v) for v in values] for name, values in extra.items()},
        }
    )


def make_bars(rows: Sequence[Row], **kwargs: Any) -> Bars:
    """One symbol's bars (``symbol="X"`` unless given); extra keyword sequences become extra columns."""
    return bars(frame(rows, **kwargs))


def panel(per_symbol: Mapping[str, Sequence[Row]], **kwargs: Any) -> Bars:
    """Several symbols on the same timestamps."""
    return bars(pl.concat([frame(rows, symbol=s, **kwargs) for s, rows in per_symbol.items()]))


Action = Callable[[Context], Any]


class Script(Strategy):
    """Runs ``actions[k](ctx)`` at the k-th ``on_bar`` call and keeps what it returned in ``out[k]``."""

    def __init__(self, actions: Mapping[int, Action]) -> None:
        self.actions = dict(actions)
        self.out: dict[int, Any] = {}
        self.step = 0

    def on_bar(self, ctx: Context, bars: Any) -> None:
        action = self.actions.get(self.step)
        if action is not None:
            self.out[self.step] = action(ctx)
        self.step += 1


def run(data: Bars, actions: Mapping[int, Action], **engine: Any) -> tuple[Result, dict[int, Any]]:
    """Run ``Script(actions)`` on ``data`` (``init_cash`` 10,000 unless given); returns the result and the
    actions' return values by bar index."""
    engine.setdefault("init_cash", 10_000.0)
    strategy = Script(actions)
    return Engine(data, strategy, **engine).run(), strategy.out


def order(res: Result, order_id: int) -> dict[str, Any]:
    """The ``Result.orders`` row of ``order_id`` as a dict."""
    rows = res.orders.filter(pl.col("order_id") == order_id).to_dicts()
    assert len(rows) == 1, f"order {order_id} appears {len(rows)} times"
    return rows[0]


def fills(res: Result, order_id: int | None = None) -> list[tuple[dt.datetime, float, float]]:
    """``(ts_event, fill_price, quantity)`` of the fills (of one order), in execution order."""
    f = res.fills if order_id is None else res.fills.filter(pl.col("order_id") == order_id)
    return [tuple(r) for r in f.select("ts_event", "fill_price", "quantity").iter_rows()]  # type: ignore[misc]


def cash(res: Result) -> float:
    """The final cash."""
    return float(res.equity["cash"][-1])
