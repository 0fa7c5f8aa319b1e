"""The point-in-time fill rule in the vectorized mode.

The vectorized mode decides at each bar's arrival and fills without waiting: at the next bar's open under
``execution="next_open"``, at the same bar's close under ``"close"``. That is only honest when the decision
exists before the price it gets: the next bar must start (``ts_start``) at or after the bar's arrival, and
under ``"close"`` the bar must arrive at its own stamp. Bars with a feed latency that breaks this (a bar
arriving after the next one started) are refused here with a DataError pointing to the event mode, whose
engine makes such an order wait for the first bar that starts after it reached the market. Without feed
latency the rule always holds, because a bar never starts before its symbol's previous bar ended.

Close-only bars (:attr:`ml4t.data.Bars.close_only`: no open, high or low) have one price per bar, so they
fill at the close only: ``execution="next_open"`` and stops (which trigger on the high and low) are refused by
:func:`check_close_only` with a ConfigError saying why, rather than filled at a price the data does not have.
"""

from __future__ import annotations

from collections.abc import Collection

import polars as pl

from ml4t._time import from_ns
from ml4t.data import Bars
from ml4t.errors import ConfigError, DataError
from ml4t.settings import VectorizedSettings

__all__ = ["check_close_only", "check_fill_timing"]


def check_close_only(bars: Bars, settings: VectorizedSettings, keys: Collection[str] = ()) -> None:
    """Raise a ConfigError when close-only bars meet a fill that needs the open, high or low: the setting
    ``execution="next_open"``, the settings ``sl_stop``/``tp_stop`` or the signal keys ``sl_stop``/``tp_stop``
    among ``keys`` (the signal function's)."""
    if not bars.close_only:
        return
    if settings.execution != "close":
        raise ConfigError(
            f"the bars are close-only (no open, high or low), so execution={settings.execution!r} has no price to "
            "fill at; use execution='close' (or give bars with an open)",
            argument="execution",
        )
    stops = [name for name in ("sl_stop", "tp_stop") if getattr(settings, name) is not None or name in keys]
    if stops:
        raise ConfigError(
            f"the bars are close-only (no high or low), so {stops[0]} cannot see an intrabar touch: stops need "
            "bars with open, high and low; drop the stop or give full OHLC bars",
            argument=stops[0],
        )


def check_fill_timing(bars: Bars, execution: str) -> None:
    """Raise a DataError when a decision at some bar's arrival would fill at a price from before it."""
    frame = bars.frame
    if frame.height == 0 or bool((frame["ts_arrival"] == frame["ts_event"]).all()):
        return
    arrival = pl.col("ts_arrival").cast(pl.Int64)
    if execution == "close":
        bound, what = pl.col("ts_event").cast(pl.Int64), "its own close (stamped {bound})"
    else:
        bound = pl.col("ts_start").cast(pl.Int64).shift(-1).over("symbol")
        what = "the next bar's open (that bar started at {bound})"
    bad = (
        frame.lazy()
        .select("symbol", pl.col("ts_event").cast(pl.Int64).alias("ts"), arrival.alias("arrival"), bound.alias("bound"))
        .filter(pl.col("arrival") > pl.col("bound"))
        .sort("ts", "symbol")
        .collect()
    )
    if bad.height == 0:
        return
    symbol, ts, arrived, limit = bad.row(0)
    raise DataError(
        f"the bar stamped {from_ns(ts).isoformat()} arrives at {from_ns(arrived).isoformat()} (feed latency), "
        f"so a decision on it would fill under execution={execution!r} at "
        f"{what.format(bound=from_ns(limit).isoformat())}, a price from before the decision ({bad.height} "
        "bars like this). The vectorized mode does not wait; run the strategy in the event mode "
        "(ml4t.event.Engine, or the realistic promotion ml4t.promote(...).run(execution=...)), which fills at the "
        "first bar that starts "
        "after the order reached the market",
        argument="bars",
        symbol=symbol,
        timestamp=ts,
    )
