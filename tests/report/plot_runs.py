"""Runs the single-run figure and report tests draw: one builder per kind of Result (vectorized, event with
stops and unfilled orders, promoted, portfolio, equity-only, never trading, ruined), each cached so a test
module builds it once."""

from __future__ import annotations

import functools
import warnings

import numpy as np
import polars as pl
from tests.event.scenario import FLAT, make_bars, run

import ml4t
from ml4t import Result
from ml4t.data import Bars
from ml4t.datasets import synthetic_bars
from ml4t.demo import SmaCrossWithStop, sma_cross
from ml4t.errors import InsolvencyWarning, NoOrdersWarning, RejectionWarning
from ml4t.event import Engine
from ml4t.vectorized import VectorizedStrategy


@functools.cache
def daily(n_assets: int = 1, n_bars: int = 400) -> Bars:
    return synthetic_bars(n_assets=n_assets, n_bars=n_bars, freq="1d", seed=7)


@functools.cache
def vectorized() -> Result:
    """One symbol, an SMA crossover filling at the next open (about a dozen round trips)."""
    strategy = VectorizedStrategy(sma_cross, execution="next_open", fees=0.001, init_cash=100_000)
    return strategy.run(daily(), fast=10, slow=40)


@functools.cache
def promoted() -> Result:
    strategy = VectorizedStrategy(sma_cross, execution="next_open", fees=0.001, init_cash=100_000)
    return ml4t.promote(strategy, daily(), fast=10, slow=40).run()


@functools.cache
def with_stops() -> Result:
    """The demo's event strategy: all-in entries with an 8% stop-loss re-placed every bar (stop orders that
    fill or are cancelled at the exit)."""
    return Engine(daily(), SmaCrossWithStop(10, 40), init_cash=100_000).run()


@functools.cache
def scripted() -> Result:
    """Five hand-made daily bars of X: on bar 0 an unaffordable order (rejected, insufficient_cash), an IOC
    limit that cannot fill (cancelled, ioc_unfilled), a DAY limit that cannot fill (expired, day_expired), a
    limit buy of 2 that fills at 99.5 and a market buy of 1 that fills at 100; on bar 2 a stop-loss at 95
    still open at the end."""

    def place(ctx):  # type: ignore[no-untyped-def]
        return (
            ctx.order("X", 1000),
            ctx.order("X", 1, tif="ioc", limit=50.0),
            ctx.order("X", 1, tif="day", limit=50.0),
            ctx.order("X", 2, limit=99.5),
            ctx.order("X", 1),
        )

    rows = [FLAT, FLAT, (100.0, 101.0, 99.2, 100.0, 1e6), FLAT, FLAT]
    result, _ = run(make_bars(rows), {0: place, 2: lambda ctx: ctx.order("X", -1, stop=95.0, tag="stop-loss")})
    return result


@functools.cache
def ruined() -> Result:
    """A short gapped through: equity below zero on bar 2, the engine's margin call covers on bar 3."""
    rows = [FLAT, FLAT, (300.0, 301.0, 299.0, 300.0, 1e6), (300.0, 301.0, 299.0, 300.0, 1e6)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsolvencyWarning)
        result, _ = run(make_bars(rows), {0: lambda ctx: ctx.order("X", -10)}, init_cash=1_000.0)
    return result


def momentum_top(k: int) -> dict[str, pl.Expr]:
    """Target weights: the ``k`` symbols with the best 20-bar momentum at ``1 / k`` each."""
    rank = pl.col("close").pct_change(20).over("symbol").rank("ordinal", descending=True).over("ts_event")
    return {"weights": pl.when(rank <= k).then(1.0 / k).otherwise(0.0)}


@functools.cache
def portfolio() -> Result:
    """Thirteen symbols, the top 12 by momentum held at equal weight, rebalanced monthly: more than
    ``TOP_WEIGHTS`` symbols carry weight, so the figure sums the smallest as ``other``."""
    strategy = VectorizedStrategy(momentum_top, scope="panel", rebalance="1mo", cash_sharing=True, fees=0.001)
    return strategy.run(daily(13, 300), k=12)


@functools.cache
def cash_sharing() -> Result:
    """Three symbols sharing one account, all-in SMA crossovers: most orders after the first are rejected."""
    strategy = VectorizedStrategy(sma_cross, execution="next_open", fees=0.001, init_cash=100_000, cash_sharing=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RejectionWarning)
        return strategy.run(daily(3), fast=10, slow=40)


@functools.cache
def never_trades() -> Result:
    strategy = VectorizedStrategy(lambda: {"entries": pl.col("close") < 0, "exits": pl.col("close") < 0})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoOrdersWarning)
        return strategy.run(daily())


@functools.cache
def equity_only() -> Result:
    """A Result from an equity curve alone (no prices, positions or orders), without periods_per_year."""
    rng = np.random.default_rng(3)
    ts = daily().frame["ts_event"]
    equity = 1_000.0 * np.cumprod(1.0 + rng.normal(0.0005, 0.01, len(ts)))
    return Result.from_equity(ts, equity, init_cash=1_000.0)


@functools.cache
def busy() -> Result:
    """Five symbols, one account each, a 2/3-bar crossover: a few hundred round trips."""
    return VectorizedStrategy(sma_cross, fees=0.001, init_cash=100_000).run(daily(5), fast=2, slow=3)
