"""Portfolio workloads (issue #12): a cross-sectional momentum top-k sweep, ml4t against vectorbt.

The strategy, on 100 symbols x 2,520 daily bars (``synthetic_bars``, seed 1): on the first bar of every month
rank the symbols by momentum, ``close / close lookback bars ago - 1``, and hold the ``top_k`` best at
``1 / top_k`` of the account's equity each (the others at 0); between those bars the weights are left alone
(null: the positions drift with their prices). One shared account, 100,000 initial cash, 0.1% fees, fills at
the bar's close, sells before buys. The grid is lookback in 21, 42, ..., 210 x top_k in 5, 10, ..., 50 = 100
combinations, each producing a total return and a Sharpe ratio.

* ml4t: ``VectorizedStrategy(momentum_top_k, scope="panel", cash_sharing=True, order="auto")`` and one
  ``sweep`` call. Timed: evaluating every combination's expressions (Polars), the simulation, the metrics.
  Two rows: the default chunking, and ``chunk_size=10`` (the table's ratios use the first).
* vectorbt: ``Portfolio.from_orders(close, size=W, size_type="targetpercent", group_by=..., cash_sharing=True,
  call_seq="auto", fees=0.001)``, then ``total_return()`` and ``sharpe_ratio()``. Its weight matrices ``W``
  are the very same numbers: the same Polars expressions evaluated once in ``setup`` on the same long frame,
  pivoted to wide (bars x symbols) arrays; computing them is *not* timed for vectorbt (it is for ml4t).
  Two ways are measured and both are shown: ``stacked``, all 100 combinations as 10,000 columns of one
  portfolio in 100 groups (the close tiled 100 times, vectorbt's way for a grid), and ``loop``, one
  ``from_orders`` call per combination on 100 columns; the table's ratio is against the faster of the two.
  vectorbt's numba compilation happens in ``setup`` on a small input with the same types.

The month-start flag is a column of the bars (``month_start``) computed once in ``setup`` for both engines, so
the rebalance bars are the same by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.harness import Workload, workload

N_SYMBOLS = 100
N_BARS = 2_520
LOOKBACKS = tuple(range(21, 211, 21))  # 10 values
TOP_KS = tuple(range(5, 51, 5))  # 10 values
FEES = 0.001
INIT_CASH = 100_000.0
GROUP = "portfolio 100x2520x100"


@dataclass(frozen=True)
class Config:
    n_symbols: int = N_SYMBOLS
    n_bars: int = N_BARS
    lookbacks: tuple[int, ...] = LOOKBACKS
    top_ks: tuple[int, ...] = TOP_KS

    @property
    def combos(self) -> list[tuple[int, int]]:
        """(lookback, top_k) in the order of ml4t's grid (the first parameter varies slowest)."""
        return [(lb, k) for lb in self.lookbacks for k in self.top_ks]


def momentum_top_k(lookback: int, top_k: int) -> dict[str, Any]:
    """The strategy's weights as one panel-scope expression."""
    import polars as pl

    momentum = pl.col("close") / pl.col("close").shift(lookback).over("symbol") - 1
    rank = momentum.rank("ordinal", descending=True).over("ts_event")
    weight = pl.when(~pl.col("month_start")).then(None).when(rank <= top_k).then(1.0 / top_k).otherwise(0.0)
    return {"weights": weight}


def panel_bars(config: Config) -> Any:
    """The synthetic bars with the ``month_start`` column (the first bar of each calendar month)."""
    import polars as pl

    from ml4t.data import bars
    from ml4t.datasets import synthetic_bars

    frame = synthetic_bars(config.n_symbols, config.n_bars, "1d", seed=1).frame
    month = pl.col("ts_event").dt.month()
    frame = frame.sort("symbol", "ts_event").with_columns(
        month_start=(month != month.shift(1).over("symbol")).fill_null(True)
    )
    return bars(frame.drop("ts_arrival").rename({"ts_event": "timestamp"}), freq="1d")


def weight_matrices(bars: Any, config: Config) -> tuple[np.ndarray, list[np.ndarray]]:
    """The close (bars x symbols) and one weight matrix per combination (NaN: leave alone), pivoted to wide.

    Computed with plain Polars on the long frame in (``ts_event``, ``symbol``) order, in two steps (each
    lookback's momentum per symbol, then its rank per bar): a window nested in another window is evaluated
    inside the outer one's groups by Polars, so the one-expression form of :func:`momentum_top_k` is not
    something plain Polars can evaluate. The numbers are those the strategy describes."""
    import polars as pl

    frame = bars.frame.sort("ts_event", "symbol")
    symbols = sorted(frame["symbol"].unique().to_list())
    close = frame.pivot(on="symbol", index="ts_event", values="close").sort("ts_event").select(symbols).to_numpy()
    frame = frame.with_columns(
        (pl.col("close") / pl.col("close").shift(lb).over("symbol") - 1).alias(f"mom{lb}") for lb in config.lookbacks
    )
    out = []
    for lb, k in config.combos:
        rank = pl.col(f"mom{lb}").rank("ordinal", descending=True).over("ts_event")
        weight = pl.when(~pl.col("month_start")).then(None).when(rank <= k).then(1.0 / k).otherwise(0.0)
        w = frame.select("ts_event", "symbol", weight.cast(pl.Float64).alias("w"))
        out.append(w.pivot(on="symbol", index="ts_event", values="w").sort("ts_event").select(symbols).to_numpy())
    return close, out


def vectorbt_stacked(close: np.ndarray, weights: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """All combinations as column groups of one vectorbt portfolio: total return and Sharpe per combination."""
    import vectorbt as vbt

    n = len(weights)
    pf = vbt.Portfolio.from_orders(
        close=np.tile(close, (1, n)),
        size=np.hstack(weights),
        size_type="targetpercent",
        group_by=np.repeat(np.arange(n), close.shape[1]),
        cash_sharing=True,
        call_seq="auto",
        fees=FEES,
        init_cash=INIT_CASH,
        freq="1D",
    )
    return np.asarray(pf.total_return()), np.asarray(pf.sharpe_ratio())


def vectorbt_loop(close: np.ndarray, weights: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """One vectorbt portfolio per combination: total return and Sharpe per combination."""
    import vectorbt as vbt

    total, sharpe = [], []
    for w in weights:
        pf = vbt.Portfolio.from_orders(
            close=close,
            size=w,
            size_type="targetpercent",
            group_by=True,
            cash_sharing=True,
            call_seq="auto",
            fees=FEES,
            init_cash=INIT_CASH,
            freq="1D",
        )
        total.append(float(pf.total_return()))
        sharpe.append(float(pf.sharpe_ratio()))
    return np.array(total), np.array(sharpe)


def ml4t_strategy() -> Any:
    from ml4t.vectorized import VectorizedStrategy

    return VectorizedStrategy(
        momentum_top_k,
        scope="panel",
        cash_sharing=True,
        order="auto",
        execution="close",
        fees=FEES,
        init_cash=INIT_CASH,
        periods_per_year=365.0,  # vectorbt's daily convention, so the two Sharpe ratios are the same number
    )


def ml4t_sweep(
    strategy: Any, bars: Any, config: Config, chunk_size: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """ml4t's sweep: total return and Sharpe per combination, in ``config.combos`` order."""
    import polars as pl

    grid = {"lookback": list(config.lookbacks), "top_k": list(config.top_ks)}
    metrics = strategy.sweep(bars, chunk_size=chunk_size, **grid).metrics
    if "scope" in metrics.columns:
        metrics = metrics.filter(pl.col("scope") == "portfolio")
    metrics = metrics.sort("lookback", "top_k")
    return metrics["total_return"].to_numpy(), metrics["sharpe_ratio"].to_numpy()


def _vectorbt_setup(config: Config) -> tuple[np.ndarray, list[np.ndarray]]:
    close, weights = weight_matrices(panel_bars(config), config)
    # Warm-up (not timed): compile vectorbt's kernels with the same types on a small input.
    vectorbt_stacked(close[:60, :4], [w[:60, :4] for w in weights[:2]])
    vectorbt_loop(close[:60, :4], [w[:60, :4] for w in weights[:2]])
    return close, weights


@workload
def portfolio_sweep_vectorbt_stacked() -> Workload:
    """vectorbt: the 100 combinations as 100 groups of one portfolio (10,000 columns)."""
    config = Config()

    def run(state: Any) -> Any:
        return vectorbt_stacked(*state)

    return Workload(
        lambda: _vectorbt_setup(config), run, items=len(config.combos), unit="combos", group=GROUP, engine="vectorbt"
    )


@workload
def portfolio_sweep_vectorbt_loop() -> Workload:
    """vectorbt: one ``from_orders`` per combination."""
    config = Config()

    def run(state: Any) -> Any:
        return vectorbt_loop(*state)

    return Workload(
        lambda: _vectorbt_setup(config),
        run,
        items=len(config.combos),
        unit="combos",
        group=GROUP,
        engine="vectorbt loop",
    )


def _ml4t_workload(chunk_size: int | None, engine: str) -> Workload:
    import copy

    config = Config()

    def setup() -> Any:
        return ml4t_strategy(), panel_bars(config)

    def run(state: Any) -> Any:
        strategy, bars = state
        # a fresh Bars: no cached layout (see bench.vectorized)
        return ml4t_sweep(strategy, copy.copy(bars), config, chunk_size)

    return Workload(setup, run, items=len(config.combos), unit="combos", group=GROUP, engine=engine)


@workload
def portfolio_sweep_ml4t() -> Workload:
    """ml4t: the same 100 combinations through one ``VectorizedStrategy.sweep`` in panel scope (its default
    chunking: as many combinations at once as half the available memory allows)."""
    return _ml4t_workload(None, "ml4t")


@workload
def portfolio_sweep_ml4t_chunked() -> Workload:
    """ml4t: the same sweep ten combinations at a time (``chunk_size=10``): less memory, a little more time."""
    return _ml4t_workload(10, "ml4t chunk 10")
