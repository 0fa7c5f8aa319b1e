"""Evaluating a strategy's signal expressions for many parameter combinations at once.

For each chunk of combinations, every combination's expressions go into ONE lazy Polars query (Polars
computes common sub-expressions such as a shared moving average once): per symbol on that symbol's bars
(``scope="symbol"``), or once on the long frame of all symbols in (``ts_event``, ``symbol``) order
(``scope="panel"``: time series take ``.over("symbol")``, cross-sections ``.over("ts_event")``). The results
are scattered to the layout the kernel wants: ``(n_combinations * n_symbols, n_bars)`` arrays on the common
timeline of all symbols (row ``combination * n_symbols + symbol``), ``False`` / NaN where a symbol has no bar.
Nulls (e.g. a moving average's warm-up) are no signal: ``False`` for booleans, NaN for numbers (no order, no
stop, leave the symbol alone, the leverage setting). The keys and their modes are :mod:`ml4t._kernel.keys`'.
"""

from __future__ import annotations

import inspect
import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from ml4t import _core
from ml4t._kernel.keys import (
    BOOL_KEYS,
    KEYS,
    NUMBER_KEYS,
    call_signal_fn,
    describe,
    is_weights,
    rebalance_columns,
)
from ml4t._kernel.leaf_cache import LeafCache
from ml4t._kernel.leaves import collect as _collect
from ml4t._kernel.leaves import evaluate_leaves
from ml4t._kernel.leaves import parts_of as _parts
from ml4t._kernel.panel_scope import stage_windows
from ml4t._kernel.shared_windows import share_windows
from ml4t.data import Bars
from ml4t.data._panel import Panel
from ml4t.errors import ConfigError
from ml4t.settings import VectorizedSettings

__all__ = [
    "BOOL_KEYS",
    "KEYS",
    "NUMBER_KEYS",
    "Grid",
    "NumberRules",
    "Panel",
    "call_signal_fn",
    "check_compiled_numbers",
    "check_numbers",
    "compile_chunk",
    "evaluate",
    "panel_of",
    "plan_size",
]

_SCALARS = (bool, int, float, str, np.bool_, np.integer, np.floating)

NumberRules = Mapping[str, tuple[str, Callable[[np.ndarray], np.ndarray]]]
"""Per number key: the rule in words and a vectorised test of the values (NaN never reaches it)."""


def panel_of(bars: Bars) -> Panel:
    """The kernel's layout of ``bars`` (``Bars.panel``, built once per ``Bars``), after checking the argument."""
    if not isinstance(bars, Bars):
        raise ConfigError(
            f"bars must be ml4t.data.Bars (see ml4t.data.bars), got {type(bars).__name__}", argument="bars"
        )
    if len(bars) == 0:
        raise ConfigError("bars is empty", argument="bars")
    return bars.panel()


@dataclass(frozen=True)
class Grid:
    """The parameter combinations of a sweep, in ``itertools.product`` order of the grids given."""

    names: tuple[str, ...]
    combos: list[tuple[Any, ...]]
    dtypes: tuple[pl.DataType, ...] = ()
    """Per parameter, the type of its column in the metrics: Boolean, String, Int64, or Float64 when the grid
    holds a float (a grid of numbers may mix ints and floats); decided by the whole grid, never by a chunk."""

    @classmethod
    def build(
        cls, fn: Callable[..., Any], grids: Mapping[str, Any], check_size: Callable[[int], object] | None = None
    ) -> Grid:
        """The grid of ``grids``; ``check_size(n)`` is called with the number of combinations before they are
        materialized (to refuse a grid that cannot fit in memory)."""
        _check_names(fn, grids)
        values = []
        for name, grid in grids.items():
            seq = [grid] if isinstance(grid, _SCALARS) else _as_list(name, grid)
            if not seq:
                raise ConfigError(f"the grid of {name!r} is empty", argument=name)
            for v in seq:
                if not isinstance(v, _SCALARS):
                    raise ConfigError(
                        f"parameter {name!r} values must be numbers, booleans or strings; "
                        f"got {type(v).__name__} ({v!r})",
                        argument=name,
                    )
            kinds = {_kind(v) for v in seq}
            if len(kinds) > 1:
                raise ConfigError(
                    f"the grid of {name!r} mixes {' and '.join(sorted(kinds))}; give one type per parameter",
                    argument=name,
                )
            values.append([v.item() if isinstance(v, np.generic) else v for v in seq])
        if check_size is not None:
            check_size(math.prod(len(v) for v in values))
        return cls(tuple(grids), list(itertools.product(*values)), tuple(_dtype(seq) for seq in values))

    def params(self, index: int) -> dict[str, Any]:
        return dict(zip(self.names, self.combos[index], strict=True))

    def check_combination(self, params: Mapping[str, Any], what: str) -> None:
        """ConfigError unless ``params`` is one combination of the grid (``what`` names the caller)."""
        if set(params) != set(self.names):
            raise ConfigError(
                f"{what} needs exactly the sweep's parameters {list(self.names)}, got {sorted(params)}",
                argument="params",
            )
        for k, name in enumerate(self.names):
            value = params[name]
            values = sorted({c[k] for c in self.combos})
            if not isinstance(value, _SCALARS) or value not in values:
                raise ConfigError(
                    f"{name}={value!r} is not in the sweep; its values are {values[:20]}"
                    f"{' ...' if len(values) > 20 else ''}",
                    argument=name,
                )
        if tuple(params[n] for n in self.names) not in set(self.combos):
            raise ConfigError(f"the combination {dict(params)} is not in the sweep", argument="params")


def _dtype(values: Sequence[Any]) -> pl.DataType:
    kind = _kind(values[0])
    if kind != "numbers":
        return pl.Boolean() if kind == "booleans" else pl.String()
    return pl.Float64() if any(isinstance(v, float) for v in values) else pl.Int64()


def _kind(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "booleans"
    return "strings" if isinstance(value, str) else "numbers"


def _as_list(name: str, grid: Any) -> list[Any]:
    if isinstance(grid, (str, bytes)) or not isinstance(grid, Iterable):
        raise ConfigError(f"parameter {name!r} must be a value or an iterable of values, got {grid!r}", argument=name)
    return list(grid)


def _check_names(fn: Callable[..., Any], params: Mapping[str, Any]) -> None:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins without a signature: let the call report problems
        return
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    known = [n for n, p in sig.parameters.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    unknown = [n for n in params if n not in known]
    if unknown and not accepts_any:
        raise ConfigError(f"unknown parameter {unknown[0]!r}; {_name(fn)} takes {known}", argument=unknown[0])
    missing = [
        n
        for n, p in sig.parameters.items()
        if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n not in params
    ]
    if missing:
        raise ConfigError(f"missing parameter {missing[0]!r} of {_name(fn)}", argument=missing[0])


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", repr(fn))


def evaluate(
    fn: Callable[..., Any],
    panel: Panel,
    grid: Grid,
    indices: Sequence[int],
    settings: VectorizedSettings,
) -> dict[str, np.ndarray]:
    """Signal arrays for the combinations ``indices``: ``key -> (len(indices) * n_symbols, n_bars)``; keys the
    function never returns are absent. The strategy's ``settings`` give the scope, the rebalance rule and the
    mode checks (:func:`ml4t._kernel.keys.call_signal_fn`): required, because evaluating a panel-scope or a
    rebalancing strategy under defaults would give other signals, not an error."""
    s = settings
    per_combo = _call_all(fn, grid, indices, s)
    keys = [k for k in KEYS if any(k in d for d in per_combo)]
    n_sym, n_bars = len(panel.symbols), panel.n_bars
    shape = (len(indices) * n_sym, n_bars)
    out = {k: np.zeros(shape, dtype=bool) if k in BOOL_KEYS else np.full(shape, np.nan) for k in keys}
    exprs, slots = [], []  # slots[j] = (key, combination) of result column j
    for c, signals in enumerate(per_combo):
        for key in keys:
            if key in signals:
                exprs.append(signals[key].alias(f"{key}\x1f{c}"))
                slots.append((key, c))
    # panel scope lifts nested windows; symbol scope the rolling windows several expressions share (Polars
    # computes a rolling function once per occurrence): the same values, computed once
    stages, exprs = stage_windows(exprs) if s.scope == "panel" else share_windows(exprs)
    for frame, sym, bar, symbol in _parts(panel, s.scope, rebalance_columns(per_combo)):
        result = _collect(frame, stages, exprs, fn, grid, indices, symbol)
        dtypes = result.dtypes
        for j, (key, c) in enumerate(slots):
            _check_dtype(dtypes[j], key, fn, grid.params(indices[c]), symbol)
        # a symbol's rows are its timeline positions in order: as many as bars, they are every bar (a slice
        # copy, not a scatter through the index)
        whole = isinstance(sym, int) and len(bar) == n_bars
        # one cast per kind of column, nulls -> no signal; each column converted on its own (a 1-D copy, no
        # 2-D block to stack and slice)
        for kind, fill, dtype in ((BOOL_KEYS, False, pl.Boolean), (NUMBER_KEYS, np.nan, pl.Float64)):
            js = [j for j, (key, _) in enumerate(slots) if key in kind]
            if not js:
                continue
            block = result.select(pl.nth(js).cast(dtype).fill_null(fill))
            for j, column in zip(js, block.iter_columns(), strict=True):
                key, c = slots[j]
                if whole:
                    out[key][c * n_sym + sym] = column.to_numpy()
                else:
                    out[key][c * n_sym + sym, bar] = column.to_numpy()
    return out


def _call_all(
    fn: Callable[..., Any], grid: Grid, indices: Sequence[int], s: VectorizedSettings
) -> list[dict[str, pl.Expr]]:
    """Each combination's resolved signals; the combinations of one run or sweep share one mode."""
    per_combo = [call_signal_fn(fn, grid.params(i), s) for i in indices]
    modes = {is_weights(d) for d in per_combo}
    if len(modes) > 1:
        w = next(i for i, d in zip(indices, per_combo, strict=True) if is_weights(d))
        e = next(i for i, d in zip(indices, per_combo, strict=True) if not is_weights(d))
        raise ConfigError(
            f"{describe(fn, grid.params(w))} returns 'weights' but {describe(fn, grid.params(e))} returns "
            "entries: every combination of a sweep must be of one mode",
            argument="signals",
        )
    return per_combo


def _check_dtype(
    dtype: pl.DataType, key: str, fn: Callable[..., Any], params: Mapping[str, Any], symbol: str | None
) -> None:
    if key in BOOL_KEYS and dtype not in (pl.Boolean, pl.Null):
        raise ConfigError(
            f"{describe(fn, params)}[{key!r}] must be boolean, got {dtype} (compare it, e.g. fast > slow)",
            argument=key,
            symbol=symbol,
        )
    if key in NUMBER_KEYS and not (dtype.is_numeric() or dtype == pl.Null):
        raise ConfigError(f"{describe(fn, params)}[{key!r}] must be numeric, got {dtype}", argument=key, symbol=symbol)


_NONE = {
    "size": "no order",
    "sl_stop": "no stop",
    "tp_stop": "no stop",
    "weights": "leave the symbol alone",
    "leverage": "the leverage setting",
}


def check_numbers(
    arrays: Mapping[str, np.ndarray],
    rules: NumberRules,
    fn: Callable[..., Any],
    grid: Grid,
    indices: Sequence[int],
    panel: Panel,
) -> None:
    """Check the per-bar number arrays (``size``, ``sl_stop``, ``tp_stop``, ``weights``, ``leverage``;
    ``(len(indices) * n_symbols, n_bars)``) against ``rules``: NaN is none; any other value breaking its
    rule, on any bar, is a ConfigError naming the key, the first offending combination, its symbol and
    first timestamp."""
    n_sym = len(panel.symbols)
    for key in NUMBER_KEYS:
        a = arrays.get(key)
        if a is None or a.size == 0:
            continue
        with np.errstate(invalid="ignore"):
            bad = ~np.isnan(a) & ~rules[key][1](a)
        if not bad.any():
            continue
        by_combo = bad.reshape(len(indices), n_sym, -1)
        c = int(np.argmax(by_combo.any(axis=(1, 2))))
        bar = int(np.argmax(by_combo[c].any(axis=0)))
        s = int(np.argmax(by_combo[c][:, bar]))
        raise ConfigError(
            f"{describe(fn, grid.params(indices[c]))}[{key!r}] must be {rules[key][0]} on every bar "
            f"(NaN or null: {_NONE[key]}), got {float(a[c * n_sym + s, bar])!r}",
            argument=key,
            symbol=panel.symbols[s],
            timestamp=panel.ts[bar],
        )


def check_compiled_numbers(
    compiled: CompiledChunk,
    rules: NumberRules,
    fn: Callable[..., Any],
    grid: Grid,
    indices: Sequence[int],
    panel: Panel,
) -> None:
    """:func:`check_numbers` for a compiled chunk: each number program is evaluated on the chunk's leaves
    (one call per combination and key, into buffers of ~16 MB checked at once; nothing when the strategy
    returns no number key). The kernel checks the same rules as it evaluates (``number_bounds``); this
    second evaluation runs only once it reported a breach, to name the first offending cell."""
    if not compiled.numbers:
        return
    n_sym, n_leaves, n_bars = compiled.values.shape
    width = n_sym * n_bars
    values = compiled.values.transpose(1, 0, 2).reshape(n_leaves, width)
    valid = compiled.valid.transpose(1, 0, 2).reshape(n_leaves, width)
    batch = max(1, (16 << 20) // (9 * max(width, 1)))
    for key in NUMBER_KEYS:
        k = KEYS.index(key)
        combos = [c for c, slot in compiled.numbers if slot == k]
        for start in range(0, len(combos), batch):
            part = combos[start : start + batch]
            got = np.empty((len(part), width))
            ok = np.empty((len(part), width), dtype=bool)
            for i, c in enumerate(part):
                got[i], ok[i] = compiled.programs.evaluate(c, k, values, valid)
            with np.errstate(invalid="ignore"):
                bad = ok & ~np.isnan(got) & ~rules[key][1](got)
            if bad.any():
                i = int(np.argmax(bad.any(axis=1)))
                column = np.where(ok[i], got[i], np.nan).reshape(n_sym, n_bars)
                check_numbers({key: column}, rules, fn, grid, [indices[part[i]]], panel)


def plan_size(signals: Mapping[str, pl.Expr]) -> tuple[int, int]:
    """(bytes of the serialized plan, number of distinct compiled leaves) of one combination's signals: what
    the sweep's memory estimate scales with."""
    compiled = _compile_one(signals)
    if compiled is None:  # an expression Polars cannot serialize (the plain path evaluates it): assume large
        return 4096, sum(k in signals for k in KEYS)
    text, leaves = compiled
    return len(text), len(leaves)


def leaves_of(signals: Mapping[str, pl.Expr]) -> frozenset[str] | None:
    """The distinct compiled leaves (serialized Polars expressions) one combination's signals read, or None when
    they are outside the compiled subset (the plain path evaluates them whole)."""
    compiled = _compile_one(signals)
    return None if compiled is None else frozenset(compiled[1])


_KEY_INDEX = {key: k for k, key in enumerate(KEYS)}
"""Each key's index in :data:`KEYS` (the kernel's slot of the key)."""


def _compile_one(signals: Mapping[str, pl.Expr]) -> tuple[str, list[str]] | None:
    """One combination's signals serialized and compiled: (the plan's JSON, its distinct leaves), or None when
    Polars cannot serialize them or the compiler does not take them."""
    fields = [signals[k] for k in KEYS if k in signals]
    slots = [(0, k) for k, key in enumerate(KEYS) if key in signals]
    try:
        text = pl.struct(fields).meta.serialize(format="json")
        return text, list(_core.SignalPrograms(text, slots, 1).leaves())
    except Exception:
        return None


@dataclass(frozen=True)
class CompiledChunk:
    """A chunk of combinations whose signals the kernel evaluates itself: the compiled programs and the
    distinct Polars leaves they read, ``(n_symbols, n_leaves, n_bars)`` values and validity."""

    programs: _core.SignalPrograms
    values: np.ndarray
    valid: np.ndarray
    numbers: list[tuple[int, int]]  # (combination, key index) of the per-bar number programs


def compile_chunk(
    fn: Callable[..., Any],
    panel: Panel,
    grid: Grid,
    indices: Sequence[int],
    max_bytes: int,
    settings: VectorizedSettings,
    cache: LeafCache | None = None,
) -> CompiledChunk | int | None:
    """Compile the chunk's expressions. Returns the compiled chunk; ``None`` when some expression needs the
    plain Polars path (an operation outside the compiled subset, a non-numeric leaf, a key of the wrong
    type: the plain path then evaluates it, or raises the precise error); or the number of leaves when
    their arrays would exceed ``max_bytes`` (the caller splits the chunk). The leaves are evaluated like
    :func:`evaluate`'s expressions (per symbol, or once on the long frame in panel scope) and laid out
    ``(n_symbols, n_leaves, n_bars)``: the programs are elementwise, so they hold on the scattered leaves
    (:func:`ml4t._kernel.leaves.evaluate_leaves`, through the ``cache`` when one is given)."""
    s = settings
    per_combo = _call_all(fn, grid, indices, s)
    # each combination's keys, in KEYS order (call_signal_fn resolves them in that order)
    slots = [(c, _KEY_INDEX[key]) for c, signals in enumerate(per_combo) for key in signals]
    fields = [expr for signals in per_combo for expr in signals.values()]
    # one serialize call for the whole chunk: the fields of a struct, mapped back through `slots` (the struct
    # is only serialized, never evaluated, so its fields need no unique names)
    try:
        text = pl.struct(fields).meta.serialize(format="json")
    except pl.exceptions.PolarsError:
        return None  # an expression Polars cannot serialize (a function closing over a lock): the plain path
    programs = _core.SignalPrograms(text, slots, len(per_combo))
    leaf_json = programs.leaves()
    n_sym, n_bars, n_leaves = len(panel.symbols), panel.n_bars, len(leaf_json)
    if n_leaves * n_sym * n_bars * 9 > max_bytes and len(indices) > 1:
        return n_leaves
    got = evaluate_leaves(leaf_json, panel, s.scope, rebalance_columns(per_combo), fn, grid, indices, cache)
    if got is None:
        return None
    values, valid, dtype_names = got
    types = programs.result_types(dtype_names)
    for c, signals in enumerate(per_combo):
        for k, key in enumerate(KEYS):
            if key in signals and types[c][k] is not (key in BOOL_KEYS):
                return None
    numbers = [(c, k) for c, k in slots if KEYS[k] in NUMBER_KEYS]
    return CompiledChunk(programs, values, valid, numbers)
