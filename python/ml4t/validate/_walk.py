"""``walk_forward_sweep``: walk-forward optimisation of a vectorized strategy, and its out-of-sample record.

The contract: on each split the strategy's grid is swept over the training window alone, the best
combination by one metric is chosen from those numbers alone, and the chosen combination is traded on the
test block that follows. What is reported is what that procedure would have earned out of sample: each
fold's test block (``WalkForwardResult.folds``) and the test blocks stitched into one series
(``.returns``, ``.equity``, ``.metrics``), measured by ``ml4t.metrics`` with one annualisation throughout.

How the chosen parameters are run out of sample, and why: the winner is simulated on the whole history up
to the test block's end (``bars.between(None, split.test_end)``) and the fold's returns are that run's
returns on the bars of the test block. Its indicators are warm at the block's first bar, and a position
that the chosen parameters hold when the block starts (opened before it) is carried in: the fold is the
record of a book that has followed the chosen rule all along, which is what a trader switching to new
parameters at the re-optimisation date adopts. A run that starts flat at the block instead would waste its
first bars on warm-up (a 200-bar average has no value for 200 bars) and would miss every position whose
entry signal fired before the block, so short test blocks would measure the warm-up rather than the rule.
The price of the choice: the cost of moving from the previous fold's book to the new one is not charged
(the previous fold's position is not closed at the switch), and a trade opened before the block counts in
the fold's returns but not in its ``trade_count`` (trades opened in the block). Nothing after the test
block's end is simulated, and the test block's bars are never seen by the choice (LeakageError unless the
training window ends before the block starts).

On an executor (``executor=``, issue #17): each fold's whole job (its training sweep, the chosen combination's
run) is one task on a worker, through ``ml4t._executor``'s ``Pool.map`` (folds taken back in order, a fold whose
worker failed with anything but an ml4t error run again once); the bars go to the workers once (``Pool.share``:
scattered on Dask, put in Ray's object store), each task slices its fold's windows from them. A fold computes
exactly what it computes here, so the WalkForwardResult is the local one bit for bit. The cache argument is
resolved here, once (``ml4t.cache.resolve``: the Store a worker uses is the caller's, which pickles as its path),
and each fold's sweep comes back with its cache report; the warnings a fold raised on its worker are raised again
here, in fold order, as a local run raises them.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import polars as pl

import ml4t.cache
from ml4t import _progress
from ml4t import metrics as m
from ml4t._executor import resolve_executor, task_threads
from ml4t._time import TS_DTYPE
from ml4t._validate import check_bool
from ml4t.data import Bars
from ml4t.errors import ConfigError, LeakageError, NoOrdersWarning
from ml4t.result import Result
from ml4t.validate._types import Split
from ml4t.vectorized import Sweep, VectorizedStrategy
from ml4t.vectorized._sweep import METRIC_COLUMNS

__all__ = ["METRICS", "WalkForwardResult", "walk_forward_sweep"]

METRICS = METRIC_COLUMNS
"""The columns of ``Sweep.metrics`` a walk-forward may choose by (its numbers; not ``scope`` or ``symbol``)."""

_FOLD_COLUMNS = ("fold", "train_start", "train_end", "test_start", "test_end")
_OOS_COLUMNS = ("total_return", "annual_return", "sharpe_ratio", "max_drawdown", "trade_count", "n_bars")


@dataclass(frozen=True)
class _Fold:
    """One split's outcome: the chosen combination (None: the fold stayed flat, ``reason`` says why), its
    in-sample numbers, and the out-of-sample returns on the test block's bars."""

    split: Split
    sweep: Sweep
    params: dict[str, Any] | None
    in_sample: float
    in_sample_annual: float
    deflated_sharpe: float
    pbo: float
    result: Result | None
    ts: pl.Series
    returns: np.ndarray
    trade_count: int
    reason: str | None


def walk_forward_sweep(
    strategy: VectorizedStrategy,
    bars: Bars,
    splits: Iterable[Split],
    *,
    metric: str = "sharpe_ratio",
    descending: bool = True,
    progress: bool | None = None,
    cache: bool | ml4t.cache.Store | None = None,
    executor: Any = None,
    **grid: Any,
) -> WalkForwardResult:
    """Re-optimise ``strategy`` on each split's training window and trade the winner on its test block.

    For each split: ``strategy.sweep(bars.between(split.train_start, split.train_end), **grid)``; the
    combination with the best ``metric`` on its portfolio row (highest, or lowest with
    ``descending=False``; among equal values the first in grid order) is chosen; it is then run on
    ``bars.between(None, split.test_end)`` and the fold's out-of-sample returns are that run's returns on
    the bars with ``split.test_start <= ts_event <= split.test_end`` (indicators warm, a position held at
    the block's start carried in; the module docstring argues this choice). A training window where no
    combination has a finite ``metric`` (e.g. none traded, so no Sharpe ratio exists) chooses nothing:
    that fold stays flat (a return of 0 on every bar of its block, no parameters) and its ``reason`` says
    why. A grid of one combination (or none) is allowed: a plain walk-forward evaluation of fixed
    parameters.

    Every number is annualised with one ``periods_per_year``: the strategy's own setting, else the one
    inferred from the whole ``bars`` (so the training windows, the folds and the stitched series are
    measured alike; the sweeps and runs use a copy of the strategy with it set).

    Parameters
    ----------
    strategy:
        A :class:`~ml4t.vectorized.VectorizedStrategy`.
    bars:
        The :class:`~ml4t.data.Bars` the splits were made from (only the splits' time bounds are read).
    splits:
        :class:`~ml4t.validate.Split` objects, e.g. ``ml4t.validate.walk_forward(bars.frame, ...)``; each
        training window must end before its test block starts (LeakageError otherwise: ``cpcv``'s splits
        train on both sides), and the test blocks must follow one another without overlapping (they are
        stitched into one series). Only their time bounds are read: the training window is every bar with
        ``train_start <= ts_event <= train_end`` (all symbols), so splits made from a label frame of the
        same timeline serve as well as splits of ``bars.frame``.
    metric, descending:
        What the choice maximises (``descending=True``) or minimises: one of :data:`METRICS`.
    progress:
        A bar over the folds on stderr when the whole takes over a second (the folds' own sweeps show none);
        ``False``, or the environment variable ``ML4T_PROGRESS=0`` when not given, hides it. Ctrl-C raises
        ``KeyboardInterrupt`` and no result is made.
    cache:
        Each fold's sweep's ``cache`` argument (see :meth:`VectorizedStrategy.sweep`): a rerun with other
        settings or another exit rule reads what did not change, fold by fold. Resolved once, here: on an
        executor the folds use this process's store, and each fold's ``sweeps[i].cache`` reports what it did.
    executor:
        Where the folds run: None (default) one after the other in this process; a
        ``concurrent.futures.Executor`` (a ProcessPoolExecutor must spawn its workers: ``ml4t.spawn_pool(n)``,
        and then the signal function must be importable by name), a ``dask.distributed.Client`` or ``"ray"``:
        each fold (its sweep and its chosen run) is a task on a worker, the bars sent to the workers once. The
        result is the same bit for bit; the progress bar counts finished folds. See ``ml4t._executor``.
    **grid:
        Parameter grids, as :meth:`VectorizedStrategy.sweep` takes them.

    Returns
    -------
    WalkForwardResult
    """
    if not isinstance(strategy, VectorizedStrategy):
        raise ConfigError(f"strategy must be a VectorizedStrategy, got {type(strategy).__name__}", argument="strategy")
    if not isinstance(bars, Bars):
        raise ConfigError(f"bars must be ml4t.data.Bars, got {type(bars).__name__}", argument="bars")
    if not isinstance(metric, str) or metric not in METRICS:
        raise ConfigError(f"unknown metric {metric!r}; choose one of {list(METRICS)}", argument="metric")
    check_bool("descending", descending)
    pool = resolve_executor(executor)
    store = ml4t.cache.resolve(cache)
    columns = _columns(metric)
    for name in grid:
        if name in columns or name == "reason":
            raise ConfigError(
                f"parameter {name!r} has the name of a column of the walk-forward's folds; rename it", argument=name
            )
    chosen = _checked_splits(bars, splits)
    ppy = strategy.settings.periods_per_year
    ppy = bars.periods_per_year if ppy is None else ppy
    if ppy is None:
        raise ConfigError(
            "cannot annualize: pass periods_per_year= to the strategy (the bars are too short to infer it)",
            argument="periods_per_year",
        )
    fixed = VectorizedStrategy(strategy.signal_fn, **strategy.settings.replace(periods_per_year=ppy).to_dict())
    folds: list[_Fold] = []
    given = False if store is None else store  # what each fold's sweep is given: the store resolved here
    with _progress.bar(progress, total=len(chosen), unit="folds", desc="walk-forward") as shown:
        if pool is None:
            for s in chosen:
                folds.append(_fold(fixed, bars, s, metric, descending, grid, given))
                shown.to(len(folds))
        else:
            task = partial(_remote_fold, fixed, metric, descending, grid, given, pool.threads_per_task)
            for fold, caught in pool.map(task, chosen, shown, shared=(pool.share(bars),)):
                for warning in caught:  # in fold order, as the local run raises them
                    warnings.warn(warning, stacklevel=2)
                folds.append(fold)
    return WalkForwardResult(folds, list(grid), metric, ppy)


def _columns(metric: str) -> tuple[str, ...]:
    in_sample = [f"in_sample_{metric}"] + ([] if metric == "annual_return" else ["in_sample_annual_return"])
    return (*_FOLD_COLUMNS, *in_sample, "deflated_sharpe", "pbo", *_OOS_COLUMNS, "efficiency")


def _checked_splits(bars: Bars, splits: object) -> list[Split]:
    """The splits, refused unless each has a training window ending before its test block, both with bars,
    and the test blocks follow one another without overlapping."""
    if isinstance(splits, Split) or not isinstance(splits, Iterable):
        raise ConfigError(
            f"splits must be a list of ml4t.validate.Split, got {type(splits).__name__}", argument="splits"
        )
    out = list(splits)
    if not out:
        raise ConfigError("walk_forward_sweep needs at least one split", argument="splits")
    previous: Split | None = None
    for s in out:
        if not isinstance(s, Split):
            raise ConfigError(
                f"splits must hold ml4t.validate.Split objects (from walk_forward), got {type(s).__name__}",
                argument="splits",
            )
        if s.train_start is None or s.train_end is None:
            raise ConfigError(f"split {s.index} has no training rows", argument="splits")
        if s.train_end >= s.test_start:
            raise LeakageError(
                f"split {s.index}'s training window ends at {s.train_end.isoformat()}, not before its test block "
                "starts: walk-forward optimisation chooses on the past only (a cpcv split trains on both sides of "
                "its test block)",
                argument="splits",
                timestamp=s.test_start,
            )
        if previous is not None and s.test_start <= previous.test_end:
            raise ConfigError(
                f"the test blocks of splits {previous.index} and {s.index} overlap (or are out of order): split "
                f"{s.index}'s starts at {s.test_start.isoformat()}, split {previous.index}'s ends at "
                f"{previous.test_end.isoformat()}; the out-of-sample record stitches the test blocks in order, "
                "so each must start after the previous one ends (cpcv's splits overlap: use walk_forward's)",
                argument="splits",
                timestamp=s.test_start,
            )
        for what, lo, hi in (("training window", s.train_start, s.train_end), ("test block", s.test_start, s.test_end)):
            if bars.between(lo, hi).frame.height == 0:
                raise ConfigError(
                    f"split {s.index}'s {what} ({lo.isoformat()} .. {hi.isoformat()}) has no bars",
                    argument="splits",
                    timestamp=lo,
                )
        previous = s
    return out


def _remote_fold(
    strategy: VectorizedStrategy,
    metric: str,
    descending: bool,
    grid: dict[str, Any],
    cache: ml4t.cache.Store | bool,
    threads: int,
    bars: Bars,
    s: Split,
) -> tuple[_Fold, list[Warning]]:
    """On a worker: the fold of split ``s`` (:func:`_fold`), its sweep's kernel on the ``threads`` CPUs the task
    was given, and the warnings it raised, for the caller to raise."""
    with warnings.catch_warnings(record=True) as caught, task_threads(threads):
        warnings.simplefilter("always")  # every one goes back; the caller's filters decide what they do there
        fold = _fold(strategy, bars, s, metric, descending, grid, cache)
    return fold, [w.message for w in caught if isinstance(w.message, Warning)]


def _fold(
    strategy: VectorizedStrategy,
    bars: Bars,
    s: Split,
    metric: str,
    descending: bool,
    grid: dict[str, Any],
    cache: ml4t.cache.Store | bool,
) -> _Fold:
    with warnings.catch_warnings():  # a window where nothing trades is the fold's reason, not a warning
        warnings.simplefilter("ignore", NoOrdersWarning)
        sweep = strategy.sweep(bars.between(s.train_start, s.train_end), progress=False, cache=cache, **grid)
    rows = sweep.metrics.filter(pl.col("scope") == "portfolio")  # one per combination, in grid order
    values = rows[metric].cast(pl.Float64).fill_null(np.nan).to_numpy()
    finite = np.isfinite(values)
    fit = sweep.overfitting()  # over the portfolio rows: every combination is a trial
    if not finite.any():
        ts = bars.between(s.test_start, s.test_end).frame["ts_event"].unique(maintain_order=True)
        traded = rows.select(pl.col("trade_count", "open_trade_count").sum()).sum_horizontal().item()
        why = "no combination traded" if traded == 0 else f"no combination has a finite {metric}"
        reason = f"{why} on the training window: the fold stays flat"
        return _Fold(s, sweep, None, math.nan, math.nan, math.nan, fit.pbo, None, ts, np.zeros(ts.len()), 0, reason)
    best = np.where(finite, values, -np.inf if descending else np.inf)
    index = int(np.argmax(best) if descending else np.argmin(best))  # the first of equal values
    params = {name: rows[name][index] for name in sweep.params}
    result = strategy.run(bars.between(None, s.test_end), **params)
    inside = pl.col("ts_event").is_between(s.test_start, s.test_end)
    block = result.returns.filter(inside)
    returns = block["return"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    opened = result.trades.filter(pl.col("ts_entry").is_between(s.test_start, s.test_end)).height
    annual = float(rows["annual_return"][index])
    dsr = float(fit.dsr[index])
    return _Fold(
        s, sweep, params, float(values[index]), annual, dsr, fit.pbo, result, block["ts_event"], returns, opened, None
    )


def _ratio(oos: float, in_sample: float) -> float:
    """Walk-forward efficiency: out-of-sample over in-sample annualised return; NaN unless the in-sample
    return is positive and finite (a ratio to a loss or to nothing does not measure efficiency)."""
    return oos / in_sample if math.isfinite(in_sample) and in_sample > 0 else math.nan


class WalkForwardResult:
    """The out-of-sample record of a walk-forward optimisation (see :func:`walk_forward_sweep`).

    Attributes
    ----------
    folds:
        One row per split, in order: ``fold`` (the split's index), ``train_start``, ``train_end``,
        ``test_start``, ``test_end``, the chosen parameters (null when the fold stayed flat),
        ``in_sample_<metric>`` (the chosen combination's value of the metric on its training window) and
        ``in_sample_annual_return``; how much of that choice is selection luck, from the training window's
        sweep (:meth:`~ml4t.vectorized.Sweep.overfitting`, every combination a trial): ``deflated_sharpe``
        (the chosen combination's deflated Sharpe ratio; NaN for a flat fold) and ``pbo`` (the sweep's
        probability of backtest overfitting); out of sample, on the test block's bars: ``total_return``,
        ``annual_return``, ``sharpe_ratio``, ``max_drawdown`` (from the block's start: a position carried
        in counts from there), ``trade_count`` (trades opened in the block), ``n_bars``; ``efficiency``
        (out-of-sample over in-sample annual return, NaN unless the latter is positive) and ``reason``
        (why a fold stayed flat; null otherwise). Every statistic is ``ml4t.metrics``' definition.
    returns:
        The stitched out-of-sample returns: ``ts_event``, ``return``, ``fold``, the test blocks in order.
        Bars between test blocks (when the splits' step exceeds the test length) are not in it, and the
        annualised statistics count only its bars. A return is null where the fold's run had none (after
        its equity reached zero: ruin is absorbing, see ``ml4t.metrics``).
    equity:
        ``ts_event``, ``equity``, ``fold``: the growth of 1 through :attr:`returns` (null returns are flat).
    metrics:
        One row for the stitched series: ``total_return``, ``annual_return``, ``annual_volatility``,
        ``sharpe_ratio``, ``sortino_ratio``, ``calmar_ratio``, ``max_drawdown``, ``var``, ``cvar`` (5%), as
        ``ml4t.metrics`` defines them (the numbers ``Result.metrics`` reports for the same returns), then
        ``n_bars``, ``n_folds``, ``trade_count`` (over the folds), ``periods_per_year``, ``efficiency``.
    efficiency:
        Walk-forward efficiency: the stitched series' annual return over the mean in-sample annual return
        of the chosen combinations (folds that stayed flat have none); NaN unless that mean is positive.
    sweeps, results:
        Per fold, for drill-down: the training window's :class:`~ml4t.vectorized.Sweep`, and the chosen
        parameters' :class:`~ml4t.Result` on the history up to the test block's end (None for a flat fold).
    params, metric, periods_per_year:
        The grid's parameter names, the metric chosen by, the annualisation used throughout.
    """

    def __init__(self, folds: Sequence[_Fold], params: list[str], metric: str, periods_per_year: float) -> None:
        self.params = tuple(params)
        self.metric = metric
        self.periods_per_year = periods_per_year
        self.sweeps: list[Sweep] = [f.sweep for f in folds]
        self.results: list[Result | None] = [f.result for f in folds]
        r = np.concatenate([f.returns for f in folds])  # NaN: the run had no return there (after ruin)
        self.returns = pl.DataFrame(
            {
                "ts_event": pl.concat([f.ts.cast(TS_DTYPE) for f in folds]),
                "return": pl.Series(r).fill_nan(None),
                "fold": np.concatenate([np.full(f.returns.size, f.split.index, dtype=np.int64) for f in folds]),
            }
        )
        self.equity = self.returns.select("ts_event", pl.Series("equity", 1.0 + m.cumulative_returns(r)), "fold")
        self.folds = self._folds_frame(folds)
        in_sample = np.array([f.in_sample_annual for f in folds if f.params is not None])
        in_sample = in_sample[np.isfinite(in_sample)]
        oos = float(m.annual_return(r, periods_per_year))
        self.efficiency = _ratio(oos, float(in_sample.mean()) if in_sample.size else math.nan)
        self.metrics = self._metrics_frame(r, len(folds))

    def _folds_frame(self, folds: Sequence[_Fold]) -> pl.DataFrame:
        ppy = self.periods_per_year
        rows: dict[str, list[Any]] = {name: [] for name in _columns(self.metric)}
        rows |= {name: [] for name in self.params}
        rows["reason"] = []
        for f in folds:
            s, r = f.split, f.returns
            annual = float(m.annual_return(r, ppy))
            values = {
                "fold": s.index,
                "train_start": s.train_start,
                "train_end": s.train_end,
                "test_start": s.test_start,
                "test_end": s.test_end,
                f"in_sample_{self.metric}": f.in_sample,
                "in_sample_annual_return": f.in_sample_annual,
                "deflated_sharpe": f.deflated_sharpe,
                "pbo": f.pbo,
                "total_return": float(m.total_return(r)),
                "annual_return": annual,
                "sharpe_ratio": float(m.sharpe_ratio(r, ppy)),
                "max_drawdown": float(m.max_drawdown(r)),
                "trade_count": f.trade_count,
                "n_bars": int(r.size),
                "efficiency": _ratio(annual, f.in_sample_annual),
                "reason": f.reason,
            }
            for name in self.params:
                values[name] = None if f.params is None else f.params[name]
            for name, column in rows.items():
                column.append(values[name])
        order = [*_FOLD_COLUMNS, *self.params, *[c for c in _columns(self.metric) if c not in _FOLD_COLUMNS], "reason"]
        frame = pl.DataFrame({name: pl.Series(name, rows[name], strict=False) for name in order})
        times = [pl.col(c).cast(TS_DTYPE) for c in _FOLD_COLUMNS[1:]]
        return frame.with_columns(*times, pl.col("reason").cast(pl.String))

    def _metrics_frame(self, r: np.ndarray, n_folds: int) -> pl.DataFrame:
        ppy = self.periods_per_year
        return pl.DataFrame(
            {
                "total_return": [float(m.total_return(r))],
                "annual_return": [float(m.annual_return(r, ppy))],
                "annual_volatility": [float(m.annual_volatility(r, ppy))],
                "sharpe_ratio": [float(m.sharpe_ratio(r, ppy))],
                "sortino_ratio": [float(m.sortino_ratio(r, ppy))],
                "calmar_ratio": [float(m.calmar_ratio(r, ppy))],
                "max_drawdown": [float(m.max_drawdown(r))],
                "var": [float(m.value_at_risk(r))],
                "cvar": [float(m.conditional_value_at_risk(r))],
                "n_bars": [int(r.size)],
                "n_folds": [n_folds],
                "trade_count": [int(self.folds["trade_count"].sum())],
                "periods_per_year": [float(ppy)],
                "efficiency": [self.efficiency],
            }
        )

    def __repr__(self) -> str:
        row = self.metrics.row(0, named=True)
        return (
            f"WalkForwardResult({self.folds.height} folds, chosen by {self.metric} over {list(self.params)}; "
            f"out of sample: {row['n_bars']} bars, total_return {row['total_return']:.4g}, sharpe_ratio "
            f"{row['sharpe_ratio']:.4g}, max_drawdown {row['max_drawdown']:.4g}; efficiency {self.efficiency:.4g})"
        )

    def __str__(self) -> str:
        shown = ["fold", "test_start", "test_end", *self.params, f"in_sample_{self.metric}", "deflated_sharpe", "pbo"]
        shown += _OOS_COLUMNS[:4]
        with pl.Config(tbl_rows=50, tbl_cols=-1, tbl_width_chars=1000, tbl_hide_dataframe_shape=True):
            return f"{self!r}\n{self.folds.select(list(dict.fromkeys(shown)))}"
