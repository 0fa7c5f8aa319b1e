"""``VectorizedStrategy``: Tier 1 of ml4t. Signals are Polars expressions; a compiled kernel simulates.

Semantics follow vectorbt's ``Portfolio.from_signals`` defaults (DESIGN.md §4), so results agree with it to
floating-point precision when the settings match. See the class docstring for every setting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

import ml4t.cache
from ml4t import _core, _progress
from ml4t._assemble import assemble
from ml4t._executor import SECONDS_PER_CELL, kernel_threads, resolve_executor
from ml4t._kernel.inputs import (
    KernelSignals,
    check_percent_reversal,
    kernel_signals,
    number_bounds,
    number_rules,
    simulator,
)
from ml4t._kernel.keys import SIGNAL_KEYS
from ml4t._kernel.leaf_cache import LeafCache
from ml4t._kernel.signals import (
    CompiledChunk,
    Grid,
    Panel,
    call_signal_fn,
    check_compiled_numbers,
    compile_chunk,
    evaluate,
    panel_of,
    plan_size,
)
from ml4t._kernel.timing import check_close_only, check_fill_timing
from ml4t._validate import check_int
from ml4t.cache._reasons import span
from ml4t.data import Bars
from ml4t.errors import ConfigError
from ml4t.lint import lint_before_run
from ml4t.result import Result
from ml4t.settings import RunSpec, VectorizedSettings, signature_of
from ml4t.vectorized._distribute import indicator_axes, order_by_indicators, piece_stats
from ml4t.vectorized._memory import DEFAULT_FRACTION, SweepPlan, available_memory, parse_budget, plan_sweep
from ml4t.vectorized._overfit import RowStats, cscv_blocks
from ml4t.vectorized._result_cache import (
    SweepLevel,
    concat,
    get_signals,
    lookup_blocks,
    put_signals,
    split,
    store_block,
    sweep_level,
)
from ml4t.vectorized._result_cache import blocks as result_blocks
from ml4t.vectorized._silence import warn_if_no_orders, warn_if_sweep_never_traded
from ml4t.vectorized._sweep import Sweep, check_param_names, sweep_metrics, symbol_rows

if TYPE_CHECKING:
    from ml4t.promotion import Promoted

__all__ = ["VectorizedStrategy"]


class VectorizedStrategy:
    """A strategy whose rules are Polars expressions, simulated for one or many parameter combinations.

    The keyword settings below are :class:`ml4t.settings.VectorizedSettings` (their types, bounds and
    defaults are declared there, once); the strategy holds them as ``.settings``. A misspelt name is a
    ConfigError naming the closest setting. The strategy pickles (its compiled simulator is rebuilt from the
    settings), and ``spec(**params)`` is one run of it as a value.

    Parameters
    ----------
    signal_fn:
        ``signal_fn(**params) -> dict`` of Polars expressions over the bar columns (``open``, ``high``,
        ``low``, ``close``, ``volume``, ``ts_event``, ``symbol`` and any extra column of the bars). Nulls are
        no signal (``False``; for numbers, none). It returns one of two modes:

        - **signals**: ``entries`` / ``exits`` (long), ``short_entries`` / ``short_exits`` (short) as
          booleans; optional per-bar ``size``, ``sl_stop``, ``tp_stop`` as numbers (null: no order / no stop).
        - **target weights**: ``weights``, the target fraction of the account's equity per symbol and bar
          (negative: short; they need not sum to one; null: leave that symbol alone, its position drifts
          with its price), with optional ``rebalance`` (when the targets are traded: a boolean expression, a
          calendar period such as ``"1w"`` / ``"1mo"`` / ``"1q"``, or a number of bars; overrides the
          setting) and ``leverage`` (a number or a numeric expression > 0 capping gross exposure; overrides
          the setting). At a rebalance bar each targeted symbol gets the order that brings it to
          ``weight * equity / price`` units, the equity taken once before the bar's orders; sells go first
          so they fund the buys; every cost model, ``min_size`` and ``lot_size`` apply and refusals are
          rejected orders. ``exits``, ``size``, stops and the ``sl_stop`` / ``tp_stop`` / ``accumulate``
          settings do not apply (a ConfigError, as are ``entries`` and ``weights`` together).

        A path-dependent rule can be a Numba function over arrays wrapped as an expression with
        ``pl.col("close").map_batches(fn)``. All combinations of a sweep return the same mode.
    scope:
        ``"symbol"`` (default): the expressions are evaluated on each symbol's bars alone, so a window over
        ``ts_event`` (a cross-section) is refused with a ConfigError. ``"panel"``: once on the long frame of
        all symbols, one row per existing bar and symbol in (``ts_event``, ``symbol``) order: time series
        take ``.over("symbol")`` (``pl.col("close").pct_change(21).over("symbol")``), cross-sections
        ``.over("ts_event")`` (``score.rank(descending=True).over("ts_event") <= k`` is the top k;
        ``(s - s.mean().over("ts_event")) / s.std().over("ts_event")`` a z-score;
        ``.over("ts_event", "sector")`` a sector-neutral one). A window nested in another (a time series
        ranked across symbols) is computed on the whole panel first, as it reads.
    rebalance:
        For target weights, when no ``rebalance`` key is given: ``None`` (every bar), a calendar period
        (the first bar of each period of the common timeline of all symbols, ``ts_event`` truncated in UTC;
        the first bar of the data rebalances), a number of bars ``n`` (bars ``0, n, 2n, ...`` of the common
        timeline) or a boolean expression. Between rebalances the weights drift with prices. A rebalance bar is
        a decision bar: under ``execution="next_open"`` its orders fill at the following bar's open.
    leverage:
        For target weights: the cap on gross exposure (the sum of absolute position values over equity) a
        rebalance may reach; targets above it are scaled down together. ``None``: no cap.
    order:
        The order of a shared account's orders within a bar (``cash_sharing=True``): ``"pro_rata"``
        (default) sells first, then buys that together need more cash than is free share it in proportion
        to what each asked for, so no symbol is favoured by its name; ``"auto"`` sells first then buys in
        order of value (vectorbt's ``call_seq="auto"``); ``"symbol"`` in symbol order (vectorbt's default).
    lot_size:
        Orders are whole multiples of this many units, rounded toward zero (vectorbt's ``size_granularity``).
    execution:
        ``"close"``: a signal on bar ``t`` fills at ``t``'s close (vectorbt's default). ``"next_open"``: at
        bar ``t + 1``'s open (realistic; the event mode's default).
    size, size_type:
        Order size per entry: ``inf`` (default) is all available cash. ``"amount"`` is units, ``"value"``
        currency at the order price, ``"percent"`` a fraction of available cash (cannot reverse a position).
    fees, fixed_fees, slippage, commission:
        ``fees`` is a fraction of traded value, ``fixed_fees`` currency per order; ``slippage`` a fraction
        by which buys fill higher and sells lower (stop exits fill at their level without slippage). These
        floats are shorthands for ``ml4t.costs`` models, which may be given instead: ``commission=`` any
        commission model (``costs.PerShare(0.005, minimum=1.0)``, ``costs.Tiered(...)``; not together with
        ``fees`` / ``fixed_fees``) and ``slippage=`` a price-only slippage model (``costs.Bps(5)``).
    init_cash, cash_sharing:
        Starting cash. Without cash sharing each symbol trades its own ``init_cash`` (the run's total is
        ``init_cash * n_symbols``); with it all symbols share one pool, their orders within a bar sequenced
        by ``order``.
    sl_stop, tp_stop, sl_trail, stop_entry_price:
        Stop-loss / take-profit as fractions of the entry price (``"fill"``: the fill price, default;
        ``"close"``: the entry bar's close, vectorbt's default); ``sl_trail`` trails the stop behind the
        best price. Checked intrabar from the bar after the entry: SL before TP, so SL wins when both touch.
    accumulate, conflict, direction_conflict, opposite_entry:
        The deviations from vectorbt's defaults a user may choose: ``accumulate`` lets entries add to and
        exits reduce a position by ``size``; ``conflict`` decides an entry and an exit on one bar (default
        ``"ignore"`` drops both); ``direction_conflict`` a long and a short entry on one bar (``"ignore"``
        drops both); ``opposite_entry`` what an entry against the position does (``"reverse"``).
    min_size:
        Orders smaller than this are rejected (vectorbt's default 1e-8).
    periods_per_year:
        Annualization of the metrics; default inferred from the bars' calendar.

    Notes
    -----
    A run that places no order at all, or a sweep in which no combination trades, warns
    (``ml4t.errors.NoOrdersWarning``) naming the keys that never fired.
    """

    def __init__(self, signal_fn: Callable[..., dict[str, Any]], **settings: Any) -> None:
        if not callable(signal_fn):
            raise ConfigError(f"signal_fn must be callable, got {type(signal_fn).__name__}", argument="signal_fn")
        self.signal_fn = signal_fn
        self.settings = VectorizedSettings.build(**settings)
        """The declared settings (:class:`ml4t.settings.VectorizedSettings`); defaults are stated there."""
        self._simulator = simulator(self.settings)

    __init__.__signature__ = signature_of(VectorizedSettings, "self", "signal_fn")  # type: ignore[attr-defined]

    def __getstate__(self) -> dict[str, Any]:
        """The description (signal function and settings), not the compiled simulator."""
        return {"signal_fn": self.signal_fn, "settings": self.settings}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.signal_fn = state["signal_fn"]
        self.settings = state["settings"]
        self._simulator = simulator(self.settings)

    def __repr__(self) -> str:
        default = VectorizedSettings()
        # an expression (rebalance=) never equals a default: compare it by identity, not with ==
        changed = {
            k: v
            for k, v in self.settings.to_dict().items()
            if ((v is not default[k]) if isinstance(v, pl.Expr) or default[k] is None else v != default[k])
        }
        return f"VectorizedStrategy({getattr(self.signal_fn, '__name__', self.signal_fn)!s}, {changed})"

    def spec(self, bars: Bars | None = None, **params: Any) -> RunSpec:
        """This strategy with one value per parameter as a :class:`ml4t.settings.RunSpec` (with the
        fingerprint of ``bars`` when given)."""
        data = None if bars is None else bars.fingerprint()
        return RunSpec(strategy=self.signal_fn, params=dict(params), settings=self.settings, data=data)

    def promote(self, bars: Bars, **params: Any) -> Promoted:
        """The run of one parameter combination on the event engine: ``ml4t.promote(self, bars, **params)``."""
        from ml4t.promotion import Promoted

        return Promoted(self, bars, params)

    def _arrays(
        self, signals: dict[str, np.ndarray], grid: Grid, indices: Sequence[int], panel: Panel
    ) -> KernelSignals:
        """The kernel's signal inputs in order, checked; absent ones are (0, 0) arrays."""
        return kernel_signals(self.settings, signals, self.signal_fn, grid, indices, panel)

    def _periods_per_year(self, bars: Bars) -> float | None:
        ppy = self.settings.periods_per_year
        return ppy if ppy is not None else bars.periods_per_year

    def run(self, bars: Bars, **params: Any) -> Result:
        """Simulate one parameter combination in full: every order, fill, position and trade."""
        return self._run(bars, params, None)

    def run_symbol(self, bars: Bars, symbol: str, **params: Any) -> Result:
        """One symbol's own account in the run of one combination (without cash sharing each symbol trades
        its own ``init_cash``): the same simulation as :meth:`run`, keeping that symbol's orders, fills,
        positions and equity. ConfigError under cash sharing (one account, no per-symbol equity)."""
        if self.settings.cash_sharing:
            raise ConfigError(
                "run_symbol() needs cash_sharing=False: with one shared account a symbol has no equity of its own",
                argument="symbol",
            )
        if symbol not in bars.symbols:
            raise ConfigError(f"symbol {symbol!r} is not in the bars", argument="symbol")
        return self._run(bars, params, symbol)

    def _run(self, bars: Bars, params: dict[str, Any], symbol: str | None) -> Result:
        lint_before_run(self.signal_fn, f"the signal function {_name(self.signal_fn)}", self.settings.scope)
        panel = panel_of(bars)
        check_fill_timing(bars, self.settings.execution)
        grid = Grid.build(self.signal_fn, params)
        if len(grid.combos) != 1:
            raise ConfigError("run() takes one value per parameter; use sweep() for grids", argument="params")
        signals = evaluate(self.signal_fn, panel, grid, [0], self.settings)
        check_close_only(bars, self.settings, signals.keys())
        arrays = self._arrays(signals, grid, [0], panel)
        cash_sharing = self.settings.cash_sharing
        # with a symbol (no cash sharing): that symbol's own account alone, on the same timeline
        own = None if symbol is None else panel.symbols.index(symbol)
        ts = panel.ts.dt.epoch("ns").to_numpy()
        raw = self._simulator.run(panel.prices, arrays, cash_sharing=cash_sharing, ts=ts, symbol=own)
        del ts  # the records hold their own copy: keep one at the peak
        symbols = list(panel.symbols) if symbol is None else [symbol]
        meta = {
            "mode": "vectorized",
            "strategy": getattr(self.signal_fn, "__name__", repr(self.signal_fn)),
            "params": dict(params),
            "settings": self.settings.to_dict(),
            "symbols": symbols,
        }
        result = assemble(
            raw,
            symbols,
            init_cash=self.settings.init_cash * (1 if cash_sharing else len(symbols)),
            periods_per_year=self._periods_per_year(bars),
            meta=meta,
            bars=bars,
        )
        if symbol is None:
            warn_if_no_orders(result, signals, self.settings.scope, stacklevel=4)
        return result

    def sweep(
        self,
        bars: Bars,
        *,
        chunk_size: int | None = None,
        memory_budget: int | float | str | None = None,
        progress: bool | None = None,
        cache: bool | ml4t.cache.Store | None = None,
        executor: Any = None,
        **grids: Any,
    ) -> Sweep:
        """Simulate every combination of the parameter grids (``name=iterable``; a scalar is a grid of one).

        How it stays fast: the elementwise top of each combination's expressions (comparisons, ``&``, ``|``,
        ``~``, ``+ - * /``, ``abs``, ``clip``, casts, ``fill_null``, ``when/then/otherwise``; see
        ``core/src/vectorized/expr.rs``) is compiled and evaluated inside the Rust kernel, so Polars evaluates
        each *distinct* sub-expression (a moving average of a given window, a rank) once, not once per
        combination, and no combinations x bars signal matrix is built. Expressions outside that subset fall
        back, per chunk, to one Polars query per chunk.

        How it stays within memory: ``memory_budget`` (bytes, or a size such as ``"4GB"`` or ``"512MiB"``;
        default half of the memory available when the sweep starts) bounds the whole sweep, results
        included. The combinations are simulated in chunks sized from the budget (and at most
        ``chunk_size`` each, when given); a grid whose results alone, or whose single combination, cannot
        fit is refused with a ConfigError naming ``memory_budget`` and the estimate, before any simulation.
        The chunking never changes the results. See ``ml4t.vectorized._memory`` for the estimate.

        Progress: a sweep that lasts over a second shows a bar on stderr (a widget in a notebook) counting
        combinations, with their rate and the best portfolio ``sharpe_ratio`` so far; ``progress=False``,
        or the environment variable ``ML4T_PROGRESS=0`` when ``progress`` is not given, hides it. Ctrl-C
        stops the kernel at its next combination and raises ``KeyboardInterrupt``: no Sweep is returned
        and nothing is left half-done. Neither changes the results.

        Cache (issue #16): ``cache=True`` uses ``ml4t.cache.store()``, ``cache=False`` does not touch it,
        ``None`` (the default) follows ``ml4t.cache.settings().enabled`` (off until ``ml4t.cache.configure()``;
        ``ml4t run`` turns it on), and an ``ml4t.cache.Store`` is used as given. Three levels, each keyed by
        what it is computed from (the data's fingerprint, the code or Polars' plan, the settings it depends on,
        the versions): the results of blocks of 256 combinations (a warm rerun simulates nothing; an
        interrupted sweep resumes from its finished blocks; see ``ml4t.vectorized._result_cache``), the
        signal arrays of chunks outside the compiled subset, and the distinct indicator leaves of compiled
        chunks (``ml4t._kernel.leaf_cache``: a rerun with another exit rule or other fees computes only what
        changed). The results are the same bit for bit; ``Sweep.cache`` says per level what hit and why each
        miss missed.

        Executor (issue #17): ``executor=None`` runs the kernel in this process, on every core. A
        ``concurrent.futures.Executor`` (a ThreadPoolExecutor, or a ProcessPoolExecutor that spawns its workers:
        ``ml4t.spawn_pool(n)``; one that forks is refused, it would hang), a ``dask.distributed.Client`` or
        ``"ray"`` (the Ray runtime this process is connected to) runs the combinations still to simulate on its
        workers: planned first (the combinations reading one indicator in one piece, so a worker computes it
        once; about four pieces per worker), the bars sent to the cluster once, each piece's kernel on the CPUs
        its task was given, the pieces taken back as they finish and the rows put in grid order: the same
        results bit for bit. A piece whose worker fails is run again once. Work sent to processes is pickled: on
        a ProcessPoolExecutor the signal function must be importable by name (defined in a module, not a
        notebook cell); Dask and Ray pickle a cell's function by value. See ``ml4t._executor`` and
        ``ml4t.vectorized._distribute``.
        """
        exec_ = resolve_executor(executor)
        store = ml4t.cache.resolve(cache)
        lint_before_run(self.signal_fn, f"the signal function {_name(self.signal_fn)}", self.settings.scope)
        prep = self._prepare(bars, grids, chunk_size, memory_budget, store)
        grid, panel, ppy, n_blocks, n = prep.grid, prep.panel, prep.ppy, prep.n_blocks, len(prep.grid.combos)
        parts: list[pl.DataFrame] = []
        kept: list[RowStats] = []
        order: list[Sequence[int]] = []  # the combinations of each part, in the order they came
        counter = _core.Progress()  # combinations done, over every chunk; Ctrl-C cancels it
        best = -np.inf

        def simulate(todo: list[int]) -> Iterable[tuple[list[int], dict[str, Any]]]:
            if exec_ is None:
                return self._simulate(prep, todo, counter, shown)
            if not todo:  # every block was in the cache: nothing to send
                return iter(())
            planned = order_by_indicators(grid, todo, indicator_axes(self.signal_fn, grid, self.settings))
            pieces = exec_.cut(planned, panel.n_bars * len(panel.symbols) * SECONDS_PER_CELL)
            task = partial(piece_stats, self, grids, chunk_size, memory_budget, exec_.threads_per_task)
            done = exec_.unordered(task, pieces, shown, [len(p) for p in pieces], (exec_.share(bars),))
            return ((pieces[i], stats) for i, stats in done)

        def add(indices: Sequence[int], stats: dict[str, Any]) -> None:
            nonlocal best
            part = sweep_metrics(stats, grid, indices, panel, self.settings, ppy)
            parts.append(part)
            kept.append(RowStats.of(stats))
            order.append(indices)
            if shown.shown:
                best = _best_sharpe(part, best)
                shown.note(f"best sharpe_ratio {best:.3g}")

        results = None if store is None else self._result_cache(store, bars, grid, ppy, n_blocks)
        with _progress.bar(progress, total=n, unit="combos", desc="sweep") as shown:
            if results is None or not results.active:
                for indices, stats in simulate(list(range(n))):
                    add(indices, stats)
            else:
                _cached_sweep(results, grid.combos, prep.rows, simulate, add, shown)
        leaf_cache, signal_level = prep.leaf_cache, prep.signal_level
        report = None
        if leaf_cache is not None:
            report = ml4t.cache.SweepCacheReport(
                results=ml4t.cache.CacheReport() if results is None else results.report(),
                signals=ml4t.cache.CacheReport() if signal_level is None else signal_level.report(),
                indicators=leaf_cache.report(),
            )
        parts, kept = _in_grid_order(parts, kept, order, prep.rows, n_blocks)
        sweep = Sweep(self, bars, grid, parts, ppy, kept, n_blocks, cache=report)
        warn_if_sweep_never_traded(sweep.metrics, self.settings.scope)
        return sweep

    def _prepare(
        self,
        bars: Bars,
        grids: Mapping[str, Any],
        chunk_size: int | None,
        memory_budget: int | float | str | None,
        store: ml4t.cache.Store | None,
    ) -> _Prepared:
        """Everything a sweep's simulation needs, checked: the panel, the grid (refused before it is built when
        it cannot fit the budget), the periods per year, the chunk plan, the CSCV blocks and the cache's levels."""
        if chunk_size is not None:
            check_int("chunk_size", chunk_size, minimum=1)
        budget_given = memory_budget is not None
        if memory_budget is not None:
            budget = parse_budget(memory_budget)
        else:
            available = available_memory()
            budget = int(available * DEFAULT_FRACTION) if available is not None else 2**62
        panel = panel_of(bars)
        check_fill_timing(bars, self.settings.execution)
        rows = 1 + len(symbol_rows(panel, self.settings))  # a portfolio row, and one per symbol trading alone

        def plan(n: int, signals: Mapping[str, Any] | None = None) -> SweepPlan:
            plan_bytes, leaves = (0, 0) if signals is None else plan_size(signals)
            keys = SIGNAL_KEYS if signals is None else tuple(signals)
            return plan_sweep(
                budget=budget,
                budget_given=budget_given,
                n_combinations=n,
                rows_per_combination=rows,
                n_symbols=len(panel.symbols),
                n_bars=panel.n_bars,
                plan_bytes=plan_bytes,
                first_leaves=leaves,
                chunk_size=chunk_size,
                signal_keys=keys,
                panel_scope=self.settings.scope == "panel",
            )

        grid = Grid.build(self.signal_fn, grids, check_size=plan)  # refuse before materializing the grid
        check_param_names(grid)
        first = call_signal_fn(self.signal_fn, grid.params(0), self.settings)
        # fail fast on a malformed return value or an impossible sizing
        check_percent_reversal(self.settings, first.keys())
        check_close_only(bars, self.settings, first.keys())
        ppy = self._periods_per_year(bars)
        if ppy is None:
            raise ConfigError(
                "cannot annualize: pass periods_per_year= (the bars are too short to infer it)",
                argument="periods_per_year",
            )
        chunks = plan(len(grid.combos), first)
        n_blocks = cscv_blocks(panel.n_bars)  # per row, the kernel keeps CSCV's block sums (Sweep.overfitting)
        leaf_cache = None if store is None else LeafCache(store, _qualified(self.signal_fn), span(bars))
        signal_level = None if store is None else self._signal_cache(store, bars, grid)
        return _Prepared(panel, grid, ppy, chunks, chunks.chunk, n_blocks, rows, leaf_cache, signal_level)

    def _simulate(
        self,
        prep: _Prepared,
        todo: Sequence[int],
        counter: _core.Progress,
        shown: _progress.Bar,
        threads: int = 0,
    ) -> Iterator[tuple[list[int], dict[str, Any]]]:
        """The kernel's statistics of the combinations ``todo`` (grid indices), chunk by chunk in that order (as
        the memory plan allows), on at most ``threads`` threads (0: every core)."""
        panel, grid, chunks, n_blocks = prep.panel, prep.grid, prep.chunks, prep.n_blocks
        signal_level = prep.signal_level
        threads = kernel_threads(threads)  # a walk-forward fold on a worker: the CPUs its task was given
        start = 0
        while start < len(todo):
            indices = list(todo[start : start + prep.size])
            compiled = compile_chunk(
                self.signal_fn, panel, grid, indices, chunks.signal_bytes, self.settings, prep.leaf_cache
            )
            if isinstance(compiled, int):  # too many distinct leaves for the budget: halve the chunk
                prep.size = max(1, prep.size // 2)
                continue
            if compiled is None:
                indices = indices[: chunks.plain_chunk]
                combos = [grid.combos[i] for i in indices]
                signals = None if signal_level is None else get_signals(signal_level, combos)
                if signals is None:
                    signals = evaluate(self.signal_fn, panel, grid, indices, self.settings)
                    if signal_level is not None:
                        put_signals(signal_level, combos, signals)
                arrays = self._arrays(signals, grid, indices, panel)
                stats = _progress.run_counted(
                    partial(
                        self._simulator.sweep,
                        panel.prices,
                        arrays,
                        cash_sharing=self.settings.cash_sharing,
                        n_blocks=n_blocks,
                        threads=threads,
                    ),
                    counter,
                    shown,
                )
            else:
                stats = self._sweep_programs(compiled, grid, indices, panel, n_blocks, counter, shown, threads)
            yield indices, stats
            start += len(indices)

    def _result_cache(
        self, store: ml4t.cache.Store, bars: Bars, grid: Grid, ppy: float, n_blocks: int
    ) -> SweepLevel | None:
        """The results level of a sweep of ``grid`` on ``bars`` (see ``ml4t.vectorized._result_cache``)."""
        about = {**_grid_key(grid), "periods_per_year": ppy, "n_blocks": n_blocks}
        return sweep_level(store, "results", _qualified(self.signal_fn), self.signal_fn, self.settings, bars, about)

    def _signal_cache(self, store: ml4t.cache.Store, bars: Bars, grid: Grid) -> SweepLevel | None:
        """The signals level of a sweep of ``grid`` on ``bars``: the plain path's chunks."""
        grid_key = _grid_key(grid)
        return sweep_level(store, "signals", _qualified(self.signal_fn), self.signal_fn, self.settings, bars, grid_key)

    def _sweep_programs(
        self,
        compiled: CompiledChunk,
        grid: Grid,
        indices: list[int],
        panel: Panel,
        n_blocks: int,
        counter: _core.Progress,
        shown: _progress.Bar,
        threads: int = 0,
    ) -> dict[str, Any]:
        """The kernel's sweep of a compiled chunk, counted in ``counter`` (see ``_progress.run_counted``). The
        kernel checks every per-bar number against its rule as it evaluates it; when one breaks it, the chunk
        is checked again here to name the first offending combination, key, symbol and timestamp."""
        bounds = [bounds for _, bounds in number_bounds(self.settings).values()]
        try:
            return _progress.run_counted(
                partial(
                    self._simulator.sweep_programs,
                    panel.prices,
                    compiled.programs,
                    compiled.values,
                    compiled.valid,
                    cash_sharing=self.settings.cash_sharing,
                    bounds=bounds,
                    n_blocks=n_blocks,
                    threads=threads,
                ),
                counter,
                shown,
            )
        except ConfigError:
            check_compiled_numbers(compiled, number_rules(self.settings), self.signal_fn, grid, indices, panel)
            raise


def _best_sharpe(part: pl.DataFrame, best: float) -> float:
    """The larger of ``best`` and the best portfolio ``sharpe_ratio`` of a chunk's metrics (NaN ignored)."""
    sharpe = part.filter(pl.col("scope") == "portfolio")["sharpe_ratio"].fill_nan(None).max()
    return best if sharpe is None else max(best, float(sharpe))  # type: ignore[arg-type]


def _qualified(fn: Callable[..., Any]) -> str:
    """The signal function's name for the cache's slots (where a miss's reason is kept across runs)."""
    return f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', _name(fn))}"


def _grid_key(grid: Grid) -> dict[str, Any]:
    return {"grid names": list(grid.names), "grid types": [str(d) for d in grid.dtypes]}


def _cached_sweep(
    results: SweepLevel,
    combos: Sequence[tuple[Any, ...]],
    rows: int,
    simulate: Callable[[list[int]], Iterable[tuple[list[int], dict[str, Any]]]],
    add: Callable[[Sequence[int], dict[str, Any]], None],
    shown: _progress.Bar,
) -> None:
    """The sweep with its results level: every block looked up first; a found block's statistics are added
    (the bar moved past it); the missing blocks' combinations simulated (in any order: chunks here, pieces on
    an executor) and each block stored as soon as its last combination is back (so an interrupted sweep keeps
    the blocks it finished)."""
    cut = result_blocks(len(combos))
    found = lookup_blocks(results, cut, combos)
    size = cut[0][1] if cut else 1  # every block but the last has this many combinations
    todo: list[int] = []
    left: dict[int, int] = {}  # a missing block -> its combinations not back yet
    for b, ((lo, hi), stats) in enumerate(zip(cut, found, strict=True)):
        if stats is not None:
            add(range(lo, hi), stats)
            shown.offset += hi - lo
        else:
            todo.extend(range(lo, hi))
            left[b] = hi - lo
    back: list[dict[str, Any]] = []  # the simulated parts, by arrival
    where: dict[int, tuple[int, int]] = {}  # combination -> (part, its position in the part)
    for indices, stats in simulate(todo):
        add(indices, stats)
        back.append(stats)
        for position, i in enumerate(indices):
            where[i] = (len(back) - 1, position)
            left[i // size] -= 1
        for b in sorted({i // size for i in indices}):
            if left[b] == 0:
                lo, hi = cut[b]
                store_block(results, combos[lo:hi], _gather(back, where, rows, lo, hi))


def _gather(back: Sequence[dict[str, Any]], where: Mapping[int, tuple[int, int]], rows: int, lo: int, hi: int) -> Any:
    """The statistics of combinations ``lo:hi`` from the parts holding them (``where``), in grid order: each
    run of combinations lying consecutively in one part is one slice."""
    pieces = []
    i = lo
    while i < hi:
        part, first = where[i]
        j = i + 1
        while j < hi and where[j] == (part, first + j - i):
            j += 1
        pieces.append(split(back[part], rows, first, first + j - i))
        i = j
    return concat(pieces)


def _in_grid_order(
    parts: list[pl.DataFrame], kept: list[RowStats], order: Sequence[Sequence[int]], rows: int, n_blocks: int
) -> tuple[list[pl.DataFrame], list[RowStats]]:
    """The metrics parts and their statistics as one part each, rows in grid order (parts may come in any order:
    cached blocks, pieces as workers finish them); as given when they already are."""
    combos = np.concatenate([np.asarray(o, dtype=np.int64) for o in order]) if order else np.zeros(0, np.int64)
    if len(combos) < 2 or bool(np.all(np.diff(combos) == 1)):
        return parts, kept
    by_combo = np.argsort(combos, kind="stable")
    taken = (by_combo[:, None] * rows + np.arange(rows)).ravel()  # each combination's rows stay together
    return [pl.concat(parts)[taken]], [RowStats.concat(kept, n_blocks).take(taken)]


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", repr(fn))


@dataclass
class _Prepared:
    """A sweep's checked inputs (see ``VectorizedStrategy._prepare``); ``size`` is the chunk size, halved when a
    chunk's distinct leaves would not fit the budget."""

    panel: Panel
    grid: Grid
    ppy: float
    chunks: SweepPlan
    size: int
    n_blocks: int
    rows: int
    leaf_cache: LeafCache | None
    signal_level: SweepLevel | None
