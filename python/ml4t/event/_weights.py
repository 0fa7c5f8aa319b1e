"""The rules of :meth:`ml4t.event.Context.order_target_weights` that need no engine: the options' checks,
the leverage cap and the rounding of target units.

The cap is the vectorized weights mode's (``docs`` of ``VectorizedSettings.leverage``): with ``alone`` the
gross exposure of the symbols the call leaves alone (as a fraction of equity) and ``gross`` the sum of the
absolute targets, when ``alone + gross > cap`` every target is multiplied by ``max(0, cap - alone) / gross``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ml4t.errors import OrderError

__all__ = ["check_cap", "check_lot_size", "scale_to_cap", "target_units"]


def _positive(argument: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < float(value) < math.inf:
        raise OrderError(f"{argument} must be a finite number > 0 or None, got {value!r}", argument=argument)
    return float(value)


def check_cap(leverage: object) -> float | None:
    """The ``leverage`` option: None (no cap) or a finite number > 0."""
    return None if leverage is None else _positive("leverage", leverage)


def check_lot_size(lot_size: object, *, fractional: bool) -> float | None:
    """The ``lot_size`` option: None or a finite number > 0, a whole number of units unless ``fractional``
    (a whole-unit engine cannot hold half a lot of 0.5)."""
    if lot_size is None:
        return None
    lot = _positive("lot_size", lot_size)
    if not fractional and lot != math.floor(lot):
        raise OrderError(
            f"lot_size={lot_size!r} is not a whole number of units, and the engine trades whole units: run it "
            "with fractional=True or give a whole lot size",
            argument="lot_size",
        )
    return lot


def scale_to_cap(targets: Mapping[str, float], alone: float, cap: float | None) -> dict[str, float]:
    """``targets`` scaled down in proportion so that ``alone + sum |target|`` stays within ``cap``."""
    gross = math.fsum(abs(w) for w in targets.values())
    if cap is None or gross == 0.0 or alone + gross <= cap:
        return dict(targets)
    factor = max(0.0, cap - alone) / gross
    return {symbol: w * factor for symbol, w in targets.items()}


def target_units(weight: float, equity: float, unit_value: float, lot: float | None, *, fractional: bool) -> float:
    """The units that hold ``weight`` of ``equity`` at ``unit_value`` (price x multiplier) per unit, rounded
    toward zero: to whole lots of ``lot``, then to whole units unless ``fractional``."""
    units = weight * equity / unit_value
    if lot is not None:
        units = lot * math.trunc(units / lot)
    return units if fractional else float(math.trunc(units))
