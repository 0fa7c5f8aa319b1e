"""A vectorized run or sweep that never trades says so: one :class:`~ml4t.errors.NoOrdersWarning`.

A rule that never fires is the commonest silent failure of a signal strategy (a threshold out of range, a
column of nulls, a cross-section evaluated one symbol at a time); a result with no orders looks like a
strategy that chose to stay flat. So:

* a ``run()`` whose ``Result`` has no order at all warns, naming each signal key that never fired (a boolean
  never true, ``weights`` zero or null on every bar) or, when they all fired, why that can still give no order;
* a ``sweep()`` in which no combination traded (no closed and no open trade in any portfolio row) warns once.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import polars as pl

from ml4t._kernel.signals import BOOL_KEYS
from ml4t.errors import NoOrdersWarning
from ml4t.result import Result

__all__ = ["warn_if_no_orders", "warn_if_sweep_never_traded"]

_FIRES = ("entries", "short_entries", "exits", "short_exits", "weights")
"""The keys that can place an order, in the order the hint names them."""


def _scope_hint(scope: str) -> str:
    if scope != "symbol":
        return ""
    return ". In scope='symbol' each symbol is evaluated alone: a rule across symbols (rank, top-k) needs scope='panel'"


def warn_if_no_orders(result: Result, signals: Mapping[str, np.ndarray], scope: str, *, stacklevel: int = 3) -> None:
    """Warn when ``result`` has no order, with the keys of ``signals`` (the run's arrays) that never fired."""
    if result.orders.height:
        return
    silent = [k for k in _FIRES if k in signals and not _fired(k, signals[k])]
    if silent:
        hint = "; ".join(
            f"{k!r} was zero or null on every bar of every symbol" if k == "weights" else f"{k!r} was never true"
            for k in silent
        )
    else:
        hint = (
            "the signals fired, but none became an order (an entry and an exit on one bar, or a long and a "
            "short entry, are both dropped; an entry while in a position and an exit while flat are ignored)"
        )
    warnings.warn(
        f"the run placed no orders: {hint}{_scope_hint(scope)}",
        NoOrdersWarning,
        stacklevel=stacklevel,
    )


def _fired(key: str, values: np.ndarray) -> bool:
    """A boolean key fired where it is true; ``weights`` where it holds a target other than zero (a target of
    zero while flat places no order either)."""
    if key in BOOL_KEYS:
        return bool(values.any())
    with np.errstate(invalid="ignore"):
        return bool((~np.isnan(values) & (values != 0)).any())


def warn_if_sweep_never_traded(metrics: pl.DataFrame, scope: str, *, stacklevel: int = 3) -> None:
    """Warn once when no portfolio row of a sweep's ``metrics`` has a trade (closed or open)."""
    rows = metrics.filter(pl.col("scope") == "portfolio")
    if rows.height and int((rows["trade_count"] + rows["open_trade_count"]).max()) == 0:  # type: ignore[arg-type]
        warnings.warn(
            f"no combination of the sweep traded (0 trades in all {rows.height}): its rules never fired; "
            f"run one combination (sweep.result(...)) to see which keys never did{_scope_hint(scope)}",
            NoOrdersWarning,
            stacklevel=stacklevel,
        )
