"""The signal kernel's inputs from the declared settings: the simulator (``_core.SignalSimulator``, built from
a :class:`ml4t.settings.VectorizedSettings` and nothing else, so it can be rebuilt after unpickling), the
rules of the per-bar numbers, and the ten signal arrays in the kernel's order (:data:`KERNEL_KEYS`), checked.

Each array is ``(n_combinations * n_symbols, n_bars)`` (row = combination * n_symbols + symbol), or a
``(0, 0)`` array when the key is absent: booleans (entries, exits, short_entries, short_exits, rebalance;
absent rebalance = every row) and float64 (size, sl_stop, tp_stop, weights, leverage; NaN = the setting, or
for weights "leave the symbol alone")."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence

import numpy as np

from ml4t import _core
from ml4t._kernel.keys import BOOL_KEYS, KEYS
from ml4t._kernel.signals import Grid, NumberRules, Panel, check_numbers
from ml4t.errors import ConfigError
from ml4t.settings import VectorizedSettings, lower_vectorized_costs

__all__ = [
    "KERNEL_KEYS",
    "KernelSignals",
    "check_percent_reversal",
    "kernel_signals",
    "number_bounds",
    "number_rules",
    "simulator",
]

KERNEL_KEYS = KEYS
"""The signal keys in the kernel's order (``KEYS`` in ``core/src/vectorized/programs.rs``): the one tuple of
:mod:`ml4t._kernel.keys`, under the name the kernel's callers use."""

KernelSignals = tuple[
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
]
_EMPTY_BOOL = np.zeros((0, 0), dtype=bool)
_EMPTY_F64 = np.zeros((0, 0), dtype=np.float64)


def simulator(s: VectorizedSettings) -> _core.SignalSimulator:
    """The compiled simulator of these settings."""
    commission, slippage = lower_vectorized_costs(s)
    return _core.SignalSimulator(
        execution=s.execution,
        size=s.size,
        size_type=s.size_type,
        commission=commission,
        slippage=slippage,
        min_size=s.min_size,
        init_cash=s.init_cash,
        long_conflict=s.conflict,
        short_conflict=s.conflict,
        direction_conflict=s.direction_conflict,
        opposite_entry=s.opposite_entry,
        accumulate=s.accumulate,
        sl_stop=math.nan if s.sl_stop is None else s.sl_stop,
        tp_stop=math.nan if s.tp_stop is None else s.tp_stop,
        sl_trail=s.sl_trail,
        stop_entry_price=s.stop_entry_price,
        order=s.order,
        lot_size=s.lot_size,
        leverage=s.leverage,
    )


Bounds = tuple[float, float, bool, bool]
"""A per-bar number's rule as the kernel checks it: ``(low, high, low included, high included)``."""


def number_bounds(s: VectorizedSettings) -> dict[str, tuple[str, Bounds]]:
    """The rules of the per-bar numbers, in words and as bounds, in the kernel's key order: ``size`` /
    ``sl_stop`` / ``tp_stop`` / ``leverage`` those of the settings of the same name; ``weights`` any finite
    fraction (negative: short). NaN (none) always passes."""
    inf = math.inf
    if s.size_type == "percent":
        size: tuple[str, Bounds] = ("in (0, 1] with size_type='percent'", (0.0, 1.0, False, True))
    else:
        size = ("> 0 (inf: all cash)", (0.0, inf, False, True))
    return {
        "size": size,
        "sl_stop": ("in (0, 1)", (0.0, 1.0, False, False)),
        "tp_stop": ("> 0 and finite", (0.0, inf, False, False)),
        "weights": ("finite", (-inf, inf, False, False)),
        "leverage": ("> 0 and finite", (0.0, inf, False, False)),
    }


def _test(bounds: Bounds) -> Callable[[np.ndarray], np.ndarray]:
    low, high, low_in, high_in = bounds
    return lambda a: ((a >= low) if low_in else (a > low)) & ((a <= high) if high_in else (a < high))


def number_rules(s: VectorizedSettings) -> NumberRules:
    """:func:`number_bounds` as the vectorised tests :func:`ml4t._kernel.signals.check_numbers` applies."""
    return {key: (text, _test(bounds)) for key, (text, bounds) in number_bounds(s).items()}


def check_percent_reversal(s: VectorizedSettings, keys: Collection[str]) -> None:
    """A percent size cannot reverse a position: refused when the strategy has entries of both sides."""
    if s.size_type == "percent" and not s.accumulate and "entries" in keys and "short_entries" in keys:
        raise ConfigError(
            "size_type='percent' cannot reverse a position (a percent of what?); use "
            "'amount' or 'value', or opposite_entry='close'",
            argument="size_type",
        )


def kernel_signals(
    s: VectorizedSettings,
    signals: dict[str, np.ndarray],
    fn: Callable[..., object],
    grid: Grid,
    indices: Sequence[int],
    panel: Panel,
) -> KernelSignals:
    """The kernel's ten signal inputs in :data:`KERNEL_KEYS` order, checked; absent ones are (0, 0) arrays."""
    check_percent_reversal(s, signals.keys())
    check_numbers(signals, number_rules(s), fn, grid, indices, panel)
    e, x, se, sx, size, sl, tp, w, rb, lev = (
        signals.get(k, _EMPTY_BOOL if k in BOOL_KEYS else _EMPTY_F64) for k in KERNEL_KEYS
    )
    return e, x, se, sx, size, sl, tp, w, rb, lev
