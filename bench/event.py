"""Event-driven workloads: ml4t's ``Engine`` against backtrader and backtesting.py on identical data and rules.

The rule (every engine, every workload but ``idle``): per asset, an SMA(fast)/SMA(slow) crossover evaluated in
Python on every bar. When SMA(fast) goes from <= SMA(slow) on the previous bar to > on this one and the
position is flat, buy 100 shares; when it goes from > to <= and the position is long, sell the whole position.
A cross needs both averages defined on this bar and the previous one, so the first possible signal is on bar
index ``slow`` (0-based) in every engine. Market orders fill at the next bar's open (an order placed on the
last bar never fills), 0.1% of traded value in fees, 10,000,000 initial cash (nothing is ever rejected for
cash). All engines see the same ``ml4t.datasets.synthetic_bars`` data (seed 1).

* ``panel`` - 100 assets x 2,520 daily bars, SMA(20)/SMA(100), one shared cash account. backtesting.py is
  single-asset only, so its row runs 100 separate ``Backtest``s one after the other, each with its own
  10,000,000 cash (no shared account) and its own statistics at the end.
* ``single`` - 1 asset x 100,000 one-minute bars, SMA(10)/SMA(50).
* ``idle`` - the same single asset and a strategy that does nothing: pure engine overhead per bar.

The rate is bars processed (assets x bars) per second.

Timed (``run``), for every engine: building the engine from the prepared data (backtrader's cerebro and
feeds, backtesting.py's ``Backtest``, ml4t's ``Engine``), loading the feeds, computing the indicators, the
event loop with the Python strategy, and whatever result each engine builds at the end (backtesting.py always
computes its statistics; backtrader runs with ``stdstats=False``, i.e. no observers; ml4t builds its
``Result``). Not timed (``setup``): generating the bars and converting them to one pandas DataFrame per asset
(the peers' input format; ml4t takes the ``Bars`` as is). ml4t's ``Bars`` cache is cleared before every
repeat so no repeat reuses work from the previous one.

Peer settings, each as fast as the engine allows with the rule unchanged:

* backtrader: ``PandasDirectData`` feeds (itertuples; the ``PandasData`` feed reads every field through
  ``DataFrame.iloc``, which made the idle run ~1.8x slower: 4.1 s instead of 2.3 s), ``preload=True``,
  ``runonce=True`` (indicators computed in one vectorised pass; ``runonce=False`` took 5.9 s instead of 3.7 s on
  ``single``), ``stdstats=False``. The crossover logic runs in ``next()``.
* backtesting.py: ``trade_on_close=False`` (next-open fills), ``exclusive_orders=False``, indicators through
  ``self.I`` (pandas rolling means, computed once), tqdm's progress bar disabled. Its warnings about trades
  still open at the end are silenced inside ``run``.

Each strategy counts the entries and exits it submits; ``run`` returns them so tests can check that the
engines do the same work (``tests/test_bench_event.py``). The three SMA implementations (polars and pandas
rolling means, backtrader's ``math.fsum`` windows) round differently in the last bits, so a bar where the two
averages are within ~1e-12 of each other could in principle flip a crossing in one engine only; on this data
the counts agree exactly (panel: 1,618 entries and 1,536 exits; single: 1,383 and 1,382).
"""

from __future__ import annotations

import copy
import functools
import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.harness import Workload, workload

PANEL_ASSETS, PANEL_BARS, PANEL_FAST, PANEL_SLOW = 100, 2_520, 20, 100
SINGLE_BARS, SINGLE_FAST, SINGLE_SLOW = 100_000, 10, 50
SIZE = 100
FEES = 0.001
INIT_CASH = 10_000_000
SEED = 1

PANEL_GROUP = "event panel 100x2520"
SINGLE_GROUP = "event single 100k 1m"
IDLE_GROUP = "event idle 100k 1m"

Counts = tuple[int, int]
"""(entries, exits) submitted by a strategy."""


def panel_bars(n_assets: int = PANEL_ASSETS, n_bars: int = PANEL_BARS) -> Any:
    from ml4t.datasets import synthetic_bars

    return synthetic_bars(n_assets, n_bars, "1d", seed=SEED)


def single_bars(n_bars: int = SINGLE_BARS) -> Any:
    from ml4t.datasets import synthetic_bars

    return synthetic_bars(1, n_bars, "1m", seed=SEED)


def pandas_frames(bars: Any) -> list[Any]:
    """One DataFrame per symbol, in symbol order: columns Open, High, Low, Close, Volume (the names both peers
    look for) and a tz-naive DatetimeIndex holding the UTC wall-clock stamps (ts_event)."""
    import polars as pl

    frame = bars.frame.sort("symbol", "ts_event", maintain_order=True)
    frames = []
    for part in frame.partition_by("symbol", maintain_order=True):
        df = (
            part.select(
                pl.col("ts_event").dt.replace_time_zone(None),
                Open="open",
                High="high",
                Low="low",
                Close="close",
                Volume="volume",
            )
            .to_pandas()
            .set_index("ts_event")
        )
        df.index.name = None
        frames.append(df)
    return frames


# --- backtrader --------------------------------------------------------------------------------------------


@functools.cache
def _backtrader_strategies() -> tuple[type, type]:
    import backtrader as bt

    class Cross(bt.Strategy):  # type: ignore[misc]
        params = (("fast", PANEL_FAST), ("slow", PANEL_SLOW))

        def __init__(self) -> None:
            sma = bt.indicators.SimpleMovingAverage
            self.legs = [(d, sma(d.close, period=self.p.fast), sma(d.close, period=self.p.slow)) for d in self.datas]
            self._prev_above: list[bool | None] = [None] * len(self.datas)  # None: no previous defined bar
            self.entries = self.exits = 0

        def next(self) -> None:  # first called once every SMA is defined (backtrader's minimum period)
            prev_above = self._prev_above
            for i, (data, fast, slow) in enumerate(self.legs):
                above = fast[0] > slow[0]
                prev = prev_above[i]
                prev_above[i] = above
                if prev is None or above == prev:
                    continue
                size = self.getposition(data).size
                if above:
                    if size == 0:
                        self.buy(data=data, size=SIZE)
                        self.entries += 1
                elif size > 0:
                    self.sell(data=data, size=size)
                    self.exits += 1

    class Idle(bt.Strategy):  # type: ignore[misc]
        pass

    return Cross, Idle


def backtrader_run(frames: list[Any], strategy: str, fast: int = 0, slow: int = 0, minutes: bool = False) -> Counts:
    """One cerebro with a feed per frame; ``strategy`` is ``"cross"`` or ``"idle"``."""
    import backtrader as bt

    cross, idle = _backtrader_strategies()
    cerebro = bt.Cerebro(stdstats=False, preload=True, runonce=True)
    timeframe = bt.TimeFrame.Minutes if minutes else bt.TimeFrame.Days
    for df in frames:
        # itertuples rows: index (datetime) at 0, then Open..Volume at 1..5; no open interest column
        cerebro.adddata(bt.feeds.PandasDirectData(dataname=df, openinterest=-1, timeframe=timeframe))
    if strategy == "cross":
        cerebro.addstrategy(cross, fast=fast, slow=slow)
    else:
        cerebro.addstrategy(idle)
    cerebro.broker.setcash(INIT_CASH)
    cerebro.broker.setcommission(commission=FEES)  # percabs=True by default here: 0.001 is 0.1%
    (strat,) = cerebro.run()
    return getattr(strat, "entries", 0), getattr(strat, "exits", 0)


# --- backtesting.py -----------------------------------------------------------------------------------------


def _sma(values: Any, n: int) -> Any:
    import pandas as pd

    return pd.Series(values).rolling(n).mean().to_numpy()


@functools.cache
def _backtesting_strategies() -> tuple[type, type]:
    from backtesting import Strategy

    class Cross(Strategy):  # type: ignore[misc]
        fast = PANEL_FAST
        slow = PANEL_SLOW

        def init(self) -> None:
            self.sma_fast = self.I(_sma, self.data.Close, self.fast)
            self.sma_slow = self.I(_sma, self.data.Close, self.slow)
            self.entries = self.exits = 0

        def next(self) -> None:
            # backtesting.py first calls next() one bar after every indicator is defined, so [-2] is always
            # defined here: the same first signal bar as the stateful check in the other engines.
            fast, slow = self.sma_fast, self.sma_slow
            above = fast[-1] > slow[-1]
            if above == (fast[-2] > slow[-2]):
                return
            if above:
                if not self.position:
                    self.buy(size=SIZE)
                    self.entries += 1
            elif self.position.size > 0:
                self.position.close()  # a market order for the whole position
                self.exits += 1

    class Idle(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            pass

        def next(self) -> None:
            pass

    return Cross, Idle


def backtesting_run(frames: list[Any], strategy: str, fast: int = 0, slow: int = 0) -> Counts:
    """One ``Backtest`` per frame, one after the other (backtesting.py has no multi-asset portfolio)."""
    from backtesting import Backtest

    cross, idle = _backtesting_strategies()
    params = {"fast": fast, "slow": slow} if strategy == "cross" else {}
    entries = exits = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Some trades remain open at the end of backtest"
        for df in frames:
            test = Backtest(
                df,
                cross if strategy == "cross" else idle,
                cash=INIT_CASH,
                commission=FEES,
                trade_on_close=False,
                exclusive_orders=False,
            )
            strat = test.run(**params)._strategy
            entries += getattr(strat, "entries", 0)
            exits += getattr(strat, "exits", 0)
    return entries, exits


# --- ml4t ---------------------------------------------------------------------------------------------------


@functools.cache
def _ml4t_strategies() -> tuple[type, type, type]:
    """The ml4t strategies, built on first use so the peers' workloads run whatever state ml4t.event is in."""
    import polars as pl

    from ml4t.event import Strategy

    class PanelCross(Strategy):
        """Vectorised across symbols: one numpy comparison per timestamp, Python only for the orders."""

        indicators = {  # noqa: RUF012
            "fast": pl.col("close").rolling_mean(PANEL_FAST),
            "slow": pl.col("close").rolling_mean(PANEL_SLOW),
        }

        def on_start(self, ctx: Any) -> None:
            # per symbol (by universe position): -1 undefined, 0 fast <= slow, 1 fast > slow
            self._above = np.full(len(ctx.symbols), -1, dtype=np.int8)
            self.entries = self.exits = 0

        def on_bar(self, ctx: Any, bars: Any) -> None:
            symbols = bars.symbols
            rows = bars.index
            fast, slow = bars["fast"], bars["slow"]
            state = np.where(np.isnan(fast) | np.isnan(slow), -1, fast > slow).astype(np.int8)
            prev = self._above[rows]
            self._above[rows] = state
            for i in np.flatnonzero((state == 1) & (prev == 0)):
                symbol = symbols[i]
                if ctx.position(symbol) == 0:
                    ctx.order(symbol, SIZE)
                    self.entries += 1
            for i in np.flatnonzero((state == 0) & (prev == 1)):
                symbol = symbols[i]
                held = ctx.position(symbol)
                if held > 0:
                    ctx.order(symbol, -held)
                    self.exits += 1

    class SingleCross(Strategy):
        """Plain per-bar style on one asset."""

        indicators = {  # noqa: RUF012
            "fast": pl.col("close").rolling_mean(SINGLE_FAST),
            "slow": pl.col("close").rolling_mean(SINGLE_SLOW),
        }

        def on_start(self, ctx: Any) -> None:
            self._prev_above: bool | None = None
            self.entries = self.exits = 0

        def on_bar(self, ctx: Any, bars: Any) -> None:
            fast = bars["fast"][0]
            slow = bars["slow"][0]
            if slow != slow:  # NaN: warming up
                return
            above = bool(fast > slow)
            prev, self._prev_above = self._prev_above, above
            if prev is None or above == prev:
                return
            symbol = bars.symbols[0]
            held = ctx.position(symbol)
            if above:
                if held == 0:
                    ctx.order(symbol, SIZE)
                    self.entries += 1
            elif held > 0:
                ctx.order(symbol, -held)
                self.exits += 1

    class Idle(Strategy):
        pass

    return PanelCross, SingleCross, Idle


def ml4t_run(bars: Any, strategy: str) -> Counts:
    """``strategy``: ``"panel"``, ``"single"`` or ``"idle"``."""
    import ml4t.costs as costs
    from ml4t.event import Engine

    panel, single, idle = _ml4t_strategies()
    strat = {"panel": panel, "single": single, "idle": idle}[strategy]()
    bars = copy.copy(bars)  # a fresh Bars: no repeat reuses layouts cached on the Bars by an earlier one
    engine = Engine(bars, strat, init_cash=INIT_CASH, execution="next_open", commission=costs.Percent(FEES))
    engine.run()
    return getattr(strat, "entries", 0), getattr(strat, "exits", 0)


# --- workloads ----------------------------------------------------------------------------------------------


def _workload(group: str, engine: str, run: Callable[[Any], Counts], repeat: int) -> Workload:
    """ml4t gets the ``Bars``, the peers one pandas DataFrame per asset; both built in the untimed setup."""
    make_bars = panel_bars if group == PANEL_GROUP else single_bars
    items = PANEL_ASSETS * PANEL_BARS if group == PANEL_GROUP else SINGLE_BARS

    def setup() -> Any:
        if engine == "ml4t":
            return make_bars()
        os.environ["TQDM_DISABLE"] = "1"  # backtesting.py wraps its loop in tqdm when tqdm is installed
        return pandas_frames(make_bars())

    return Workload(setup, run, items, "bars", group, engine, repeat)


@workload
def event_panel_100x2520_ml4t() -> Workload:
    """ml4t: 100 assets in one Engine, one shared cash account, strategy vectorised across symbols."""
    return _workload(PANEL_GROUP, "ml4t", lambda b: ml4t_run(b, "panel"), repeat=3)


@workload
def event_panel_100x2520_backtrader() -> Workload:
    """backtrader: one cerebro, 100 feeds, one shared broker."""
    return _workload(PANEL_GROUP, "backtrader", lambda f: backtrader_run(f, "cross", PANEL_FAST, PANEL_SLOW), 2)


@workload
def event_panel_100x2520_backtesting() -> Workload:
    """backtesting.py: 100 separate single-asset Backtests in sequence, each with its own cash (no shared
    account: backtesting.py cannot hold more than one asset)."""
    return _workload(PANEL_GROUP, "backtesting.py", lambda f: backtesting_run(f, "cross", PANEL_FAST, PANEL_SLOW), 2)


@workload
def event_single_100k_1m_ml4t() -> Workload:
    return _workload(SINGLE_GROUP, "ml4t", lambda b: ml4t_run(b, "single"), repeat=3)


@workload
def event_single_100k_1m_backtrader() -> Workload:
    run = functools.partial(backtrader_run, strategy="cross", fast=SINGLE_FAST, slow=SINGLE_SLOW, minutes=True)
    return _workload(SINGLE_GROUP, "backtrader", run, repeat=2)


@workload
def event_single_100k_1m_backtesting() -> Workload:
    run = functools.partial(backtesting_run, strategy="cross", fast=SINGLE_FAST, slow=SINGLE_SLOW)
    return _workload(SINGLE_GROUP, "backtesting.py", run, repeat=2)


@workload
def event_idle_100k_1m_ml4t() -> Workload:
    return _workload(IDLE_GROUP, "ml4t", lambda b: ml4t_run(b, "idle"), repeat=3)


@workload
def event_idle_100k_1m_backtrader() -> Workload:
    return _workload(IDLE_GROUP, "backtrader", lambda f: backtrader_run(f, "idle", minutes=True), repeat=2)


@workload
def event_idle_100k_1m_backtesting() -> Workload:
    return _workload(IDLE_GROUP, "backtesting.py", lambda f: backtesting_run(f, "idle"), repeat=2)
