"""``VectorizedStrategy``: Tier 1 of ml4t. Signals are Polars expressions; a compiled kernel simulates.

Semantics follow vectorbt's ``Portfolio.from_signals`` defaults (DESIGN.md §4), so results agree with it to
floating-point precision when the settings match. See the class docstring for every setting.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import numpy as np

from ml4t import _core
from ml4t._validate import check_bool, check_choice, check_int, check_number, check_optional_number
from ml4t.costs import Commission, Slippage, lower_costs
from ml4t.data import Bars
from ml4t.errors import ConfigError
from ml4t.lint import lint_before_run
from ml4t.result import Result
from ml4t.vectorized._assemble import assemble
from ml4t.vectorized._memory import DEFAULT_FRACTION, SweepPlan, available_memory, parse_budget, plan_sweep
from ml4t.vectorized._signals import (
    BOOL_KEYS,
    NUMBER_KEYS,
    Grid,
    NumberRules,
    Panel,
    call_signal_fn,
    check_compiled_numbers,
    check_numbers,
    compile_chunk,
    evaluate,
    panel_of,
    plan_size,
)
from ml4t.vectorized._sweep import Sweep, check_param_names, sweep_metrics, symbol_rows
from ml4t.vectorized._timing import check_fill_timing

__all__ = ["VectorizedStrategy"]

_KernelSignals = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
_EMPTY_BOOL = np.zeros((0, 0), dtype=bool)
_EMPTY_F64 = np.zeros((0, 0), dtype=np.float64)
_CHOICES = {
    "execution": ("close", "next_open"),
    "size_type": ("amount", "value", "percent"),
    "conflict": ("ignore", "entry", "exit"),
    "direction_conflict": ("ignore", "long", "short"),
    "opposite_entry": ("reverse", "close", "ignore"),
    "stop_entry_price": ("fill", "close"),
}


class VectorizedStrategy:
    """A strategy whose rules are Polars expressions, simulated for one or many parameter combinations.

    Parameters
    ----------
    signal_fn:
        ``signal_fn(**params) -> dict`` of Polars expressions over the bar columns (``open``, ``high``,
        ``low``, ``close``, ``volume`` and any extra column of the bars), evaluated per symbol. Keys:
        ``entries`` / ``exits`` (long), ``short_entries`` / ``short_exits`` (short) as booleans; optional
        per-bar ``size``, ``sl_stop``, ``tp_stop`` as numbers. Nulls are no signal (``False``; for numbers,
        no order / no stop). A path-dependent rule can be a Numba function over arrays wrapped as an
        expression with ``pl.col("close").map_batches(fn)``.
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
        ``init_cash * n_symbols``); with it all symbols share one pool, ordered by symbol within a bar.
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
    """

    def __init__(
        self,
        signal_fn: Callable[..., dict[str, Any]],
        *,
        execution: str = "close",
        size: float = math.inf,
        size_type: str = "amount",
        fees: float = 0.0,
        fixed_fees: float = 0.0,
        slippage: float | Slippage = 0.0,
        commission: Commission | None = None,
        init_cash: float = 100_000.0,
        cash_sharing: bool = False,
        sl_stop: float | None = None,
        tp_stop: float | None = None,
        sl_trail: bool = False,
        stop_entry_price: str = "fill",
        accumulate: bool = False,
        conflict: str = "ignore",
        direction_conflict: str = "ignore",
        opposite_entry: str = "reverse",
        min_size: float = 1e-8,
        periods_per_year: float | None = None,
    ) -> None:
        if not callable(signal_fn):
            raise ConfigError(f"signal_fn must be callable, got {type(signal_fn).__name__}", argument="signal_fn")
        for name, value in (
            ("execution", execution),
            ("size_type", size_type),
            ("conflict", conflict),
            ("direction_conflict", direction_conflict),
            ("opposite_entry", opposite_entry),
            ("stop_entry_price", stop_entry_price),
        ):
            check_choice(name, value, _CHOICES[name])
        check_number("size", size, positive=True, allow_inf=True)
        check_number("fees", fees, minimum=0.0)
        check_number("fixed_fees", fixed_fees, minimum=0.0)
        slippage_model, slippage_rate = (slippage, 0.0) if isinstance(slippage, Slippage) else (None, slippage)
        check_number("slippage", slippage_rate, minimum=0.0, below=1.0)
        check_number("init_cash", init_cash, positive=True)
        check_number("min_size", min_size, minimum=0.0)
        check_optional_number("sl_stop", sl_stop, positive=True, below=1.0)
        check_optional_number("tp_stop", tp_stop, positive=True)
        check_optional_number("periods_per_year", periods_per_year, positive=True)
        for name, flag in (("cash_sharing", cash_sharing), ("sl_trail", sl_trail), ("accumulate", accumulate)):
            check_bool(name, flag)
        if size_type == "percent" and not 0 < size <= 1:
            raise ConfigError(f"with size_type='percent', size must be in (0, 1], got {size!r}", argument="size")
        self.signal_fn = signal_fn
        self.settings: dict[str, Any] = {
            "execution": execution,
            "size": float(size),
            "size_type": size_type,
            "fees": float(fees),
            "fixed_fees": float(fixed_fees),
            "slippage": slippage if slippage_model is not None else float(slippage_rate),
            "commission": commission,
            "init_cash": float(init_cash),
            "cash_sharing": bool(cash_sharing),
            "sl_stop": sl_stop,
            "tp_stop": tp_stop,
            "sl_trail": bool(sl_trail),
            "stop_entry_price": stop_entry_price,
            "accumulate": bool(accumulate),
            "conflict": conflict,
            "direction_conflict": direction_conflict,
            "opposite_entry": opposite_entry,
            "min_size": float(min_size),
            "periods_per_year": periods_per_year,
        }
        s = self.settings
        lowered_commission, lowered_slippage = lower_costs(
            commission, slippage_model, fees=s["fees"], fixed_fees=s["fixed_fees"], slippage_rate=float(slippage_rate)
        )
        self._simulator = _core.SignalSimulator(
            execution=execution,
            size=s["size"],
            size_type=size_type,
            commission=lowered_commission,
            slippage=lowered_slippage,
            min_size=s["min_size"],
            init_cash=s["init_cash"],
            long_conflict=conflict,
            short_conflict=conflict,
            direction_conflict=direction_conflict,
            opposite_entry=opposite_entry,
            accumulate=s["accumulate"],
            sl_stop=math.nan if sl_stop is None else float(sl_stop),
            tp_stop=math.nan if tp_stop is None else float(tp_stop),
            sl_trail=s["sl_trail"],
            stop_entry_price=stop_entry_price,
        )

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.settings.items() if v != _DEFAULTS.get(k)}
        return f"VectorizedStrategy({getattr(self.signal_fn, '__name__', self.signal_fn)!s}, {changed})"

    def _arrays(
        self, signals: dict[str, np.ndarray], grid: Grid, indices: Sequence[int], panel: Panel
    ) -> _KernelSignals:
        """The kernel's seven signal inputs in order, checked; absent ones are (0, 0) arrays."""
        self._check_percent_reversal(signals.keys())
        check_numbers(signals, self._number_rules(), self.signal_fn, grid, indices, panel)
        e, x, se, sx = (signals.get(k, _EMPTY_BOOL) for k in BOOL_KEYS)
        size, sl, tp = (signals.get(k, _EMPTY_F64) for k in NUMBER_KEYS)
        return e, x, se, sx, size, sl, tp

    def _number_rules(self) -> NumberRules:
        """The rules of per-bar ``size`` / ``sl_stop`` / ``tp_stop``: those of the settings of the same name."""
        if self.settings["size_type"] == "percent":
            size: tuple[str, Callable[[np.ndarray], np.ndarray]] = (
                "in (0, 1] with size_type='percent'",
                lambda a: (a > 0) & (a <= 1),
            )
        else:
            size = ("> 0 (inf: all cash)", lambda a: a > 0)
        return {
            "size": size,
            "sl_stop": ("in (0, 1)", lambda a: (a > 0) & (a < 1)),
            "tp_stop": ("> 0 and finite", lambda a: (a > 0) & (a < math.inf)),
        }

    def _check_percent_reversal(self, keys: Collection[str]) -> None:
        s = self.settings
        if s["size_type"] == "percent" and not s["accumulate"] and "entries" in keys and "short_entries" in keys:
            raise ConfigError(
                "size_type='percent' cannot reverse a position (a percent of what?); use "
                "'amount' or 'value', or opposite_entry='close'",
                argument="size_type",
            )

    def _periods_per_year(self, bars: Bars) -> float | None:
        ppy = self.settings["periods_per_year"]
        return float(ppy) if ppy is not None else bars.periods_per_year

    def run(self, bars: Bars, **params: Any) -> Result:
        """Simulate one parameter combination in full: every order, fill, position and trade."""
        return self._run(bars, params, None)

    def run_symbol(self, bars: Bars, symbol: str, **params: Any) -> Result:
        """One symbol's own account in the run of one combination (without cash sharing each symbol trades
        its own ``init_cash``): the same simulation as :meth:`run`, keeping that symbol's orders, fills,
        positions and equity. ConfigError under cash sharing (one account, no per-symbol equity)."""
        if self.settings["cash_sharing"]:
            raise ConfigError(
                "run_symbol() needs cash_sharing=False: with one shared account a symbol has no equity of its own",
                argument="symbol",
            )
        if symbol not in bars.symbols:
            raise ConfigError(f"symbol {symbol!r} is not in the bars", argument="symbol")
        return self._run(bars, params, symbol)

    def _run(self, bars: Bars, params: dict[str, Any], symbol: str | None) -> Result:
        lint_before_run(self.signal_fn, f"the signal function {_name(self.signal_fn)}")
        panel = panel_of(bars)
        check_fill_timing(bars, self.settings["execution"])
        grid = Grid.build(self.signal_fn, params)
        if len(grid.combos) != 1:
            raise ConfigError("run() takes one value per parameter; use sweep() for grids", argument="params")
        signals = evaluate(self.signal_fn, panel, grid, [0])
        arrays = self._arrays(signals, grid, [0], panel)
        raw = self._simulator.run(panel.prices, arrays, cash_sharing=self.settings["cash_sharing"])
        if symbol is not None:
            raw, panel = _one_symbol(raw, panel, panel.symbols.index(symbol))
        meta = {
            "mode": "vectorized",
            "strategy": getattr(self.signal_fn, "__name__", repr(self.signal_fn)),
            "params": dict(params),
            "settings": dict(self.settings),
            "symbols": list(panel.symbols),
        }
        return assemble(
            raw,
            panel,
            init_cash=self.settings["init_cash"],
            cash_sharing=self.settings["cash_sharing"],
            execution=self.settings["execution"],
            periods_per_year=self._periods_per_year(bars),
            meta=meta,
        )

    def sweep(
        self, bars: Bars, *, chunk_size: int | None = None, memory_budget: int | float | str | None = None, **grids: Any
    ) -> Sweep:
        """Simulate every combination of the parameter grids (``name=iterable``; a scalar is a grid of one).

        How it stays fast: the elementwise top of each combination's expressions (comparisons, ``&``, ``|``,
        ``~``, ``fill_null``) is compiled and evaluated inside the Rust kernel, so Polars evaluates each
        *distinct* sub-expression (a moving average of a given window) once, not once per combination, and
        no combinations x bars signal matrix is built. Expressions outside that subset fall back, per chunk,
        to one Polars query per chunk.

        How it stays within memory: ``memory_budget`` (bytes, or a size such as ``"4GB"`` or ``"512MiB"``;
        default half of the memory available when the sweep starts) bounds the whole sweep, results
        included. The combinations are simulated in chunks sized from the budget (and at most
        ``chunk_size`` each, when given); a grid whose results alone, or whose single combination, cannot
        fit is refused with a ConfigError naming ``memory_budget`` and the estimate, before any simulation.
        The chunking never changes the results. See ``ml4t.vectorized._memory`` for the estimate.
        """
        if chunk_size is not None:
            check_int("chunk_size", chunk_size, minimum=1)
        budget_given = memory_budget is not None
        if memory_budget is not None:
            budget = parse_budget(memory_budget)
        else:
            available = available_memory()
            budget = int(available * DEFAULT_FRACTION) if available is not None else 2**62
        lint_before_run(self.signal_fn, f"the signal function {_name(self.signal_fn)}")
        panel = panel_of(bars)
        check_fill_timing(bars, self.settings["execution"])
        rows = 1 + len(symbol_rows(panel, self.settings))  # a portfolio row, and one per symbol trading alone

        def plan(n: int, signals: Mapping[str, Any] | None = None) -> SweepPlan:
            plan_bytes, leaves = (0, 0) if signals is None else plan_size(signals)
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
            )

        grid = Grid.build(self.signal_fn, grids, check_size=plan)  # refuse before materializing the grid
        check_param_names(grid)
        first = call_signal_fn(self.signal_fn, grid.params(0))
        # fail fast on a malformed return value or an impossible sizing
        self._check_percent_reversal(first.keys())
        ppy = self._periods_per_year(bars)
        if ppy is None:
            raise ConfigError(
                "cannot annualize: pass periods_per_year= (the bars are too short to infer it)",
                argument="periods_per_year",
            )
        n = len(grid.combos)
        chunks = plan(n, first)
        size = chunks.chunk
        parts, start = [], 0
        while start < n:
            indices = list(range(start, min(start + size, n)))
            compiled = compile_chunk(self.signal_fn, panel, grid, indices, chunks.signal_bytes)
            if isinstance(compiled, int):  # too many distinct leaves for the budget: halve the chunk
                size = max(1, size // 2)
                continue
            if compiled is None:
                indices = indices[: chunks.plain_chunk]
                signals = evaluate(self.signal_fn, panel, grid, indices)
                stats = self._simulator.sweep(
                    panel.prices,
                    self._arrays(signals, grid, indices, panel),
                    cash_sharing=self.settings["cash_sharing"],
                )
            else:
                check_compiled_numbers(compiled, self._number_rules(), self.signal_fn, grid, indices, panel)
                stats = self._simulator.sweep_programs(
                    panel.prices,
                    compiled.programs,
                    compiled.values,
                    compiled.valid,
                    cash_sharing=self.settings["cash_sharing"],
                )
            parts.append(sweep_metrics(stats, grid, indices, panel, self.settings, ppy))
            start += len(indices)
        return Sweep(self, bars, grid, parts, ppy)


_DEFAULTS: dict[str, Any] = {
    "execution": "close",
    "size": math.inf,
    "size_type": "amount",
    "fees": 0.0,
    "fixed_fees": 0.0,
    "slippage": 0.0,
    "commission": None,
    "init_cash": 100_000.0,
    "cash_sharing": False,
    "sl_stop": None,
    "tp_stop": None,
    "sl_trail": False,
    "stop_entry_price": "fill",
    "accumulate": False,
    "conflict": "ignore",
    "direction_conflict": "ignore",
    "opposite_entry": "reverse",
    "min_size": 1e-8,
    "periods_per_year": None,
}


_PER_BAR = ("cash", "equity", "positions")
"""Keys of the kernel's detailed output laid out per group and bar; every other array is per order."""


def _one_symbol(raw: Mapping[str, Any], panel: Panel, k: int) -> tuple[dict[str, Any], Panel]:
    """The detailed output of symbol ``k``'s own group (no cash sharing: one group per symbol, in order),
    and the panel of that symbol alone on the same timeline."""
    n = panel.n_bars
    mine = raw["col"] == k
    one: dict[str, Any] = {"n_groups": 1}
    for key, value in raw.items():
        if key in _PER_BAR:
            one[key] = value[k * n : (k + 1) * n]
        elif isinstance(value, np.ndarray):
            one[key] = value[mine]
    alone = Panel(
        panel.ts,
        [panel.symbols[k]],
        panel.open[k : k + 1],
        panel.high[k : k + 1],
        panel.low[k : k + 1],
        panel.close[k : k + 1],
        panel.frames[k : k + 1],
        panel.rows[k : k + 1],
    )
    return one, alone


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", repr(fn))
