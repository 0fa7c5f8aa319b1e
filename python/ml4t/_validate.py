"""Validation of settings: the one place that decides what a boolean, a number or a choice may be.

Every public setting of ml4t goes through these helpers (the declared settings of both modes, through the one
validator of ``ml4t.settings``; promotion, the cost models, ``ml4t.data.bars`` / ``load_bars``, the audit), so a
setting is checked the same way everywhere and never coerced: ``"no"`` is not ``False``, ``True`` is not
``1.0``, ``"0.1"`` is not ``0.1``.

- A boolean setting takes ``True`` / ``False`` (a NumPy bool too), nothing else.
- A number takes a real number (``int``, ``float``, NumPy integer or floating), never a ``bool`` or a string;
  NaN is refused, infinity only where the setting says so, and bounds are checked.
- A choice takes one of the listed strings.

Each failure is a :class:`ml4t.ConfigError` naming the argument and the bad value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, TypeGuard

import numpy as np

from ml4t.errors import ConfigError

__all__ = ["check_bool", "check_choice", "check_int", "check_number", "check_optional_number", "is_number"]


def is_number(value: object) -> TypeGuard[int | float | np.integer | np.floating]:
    """Whether ``value`` is a real number: an int or float (NumPy's too), not a bool."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def is_integer(value: object) -> TypeGuard[int | np.integer]:
    """Whether ``value`` is an integer (Python's or NumPy's), not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_bool(name: str, value: object, *, where: str = "") -> bool:
    """``value`` as a Python bool; a ConfigError unless it is ``True``/``False`` (or a NumPy bool)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ConfigError(f"{where}{name} must be True or False, got {value!r}", argument=name)


def check_number(
    name: str,
    value: object,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    positive: bool = False,
    below: float | None = None,
    allow_inf: bool = False,
    where: str = "",
) -> float:
    """``value`` as a float after checking it is a real number within the bounds: ``>= minimum``,
    ``<= maximum``, ``> 0`` (``positive``), ``< below``; NaN always and infinities unless ``allow_inf`` are
    refused. ``where`` prefixes the message (e.g. the cost model's name)."""
    if not is_number(value):
        raise ConfigError(f"{where}{name} must be a number, got {value!r}", argument=name)
    v = float(value)
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise ConfigError(f"{where}{name} must be finite, got {value!r}", argument=name)
    if (
        (minimum is not None and v < minimum)
        or (maximum is not None and v > maximum)
        or (positive and v <= 0)
        or (below is not None and v >= below)
    ):
        bounds = " and ".join(
            b
            for b in (
                f">= {minimum}" if minimum is not None else "",
                f"<= {maximum}" if maximum is not None else "",
                "> 0" if positive else "",
                f"< {below}" if below is not None else "",
            )
            if b
        )
        raise ConfigError(f"{where}{name} must be {bounds}, got {value!r}", argument=name)
    return v


def check_int(name: str, value: object, *, minimum: int | None = None, where: str = "") -> int:
    """``value`` as an int after checking it is an integer (not a bool, not a float) ``>= minimum``."""
    if not is_integer(value):
        raise ConfigError(f"{where}{name} must be an integer, got {value!r}", argument=name)
    if minimum is not None and value < minimum:
        raise ConfigError(f"{where}{name} must be an integer >= {minimum}, got {value!r}", argument=name)
    return int(value)


def check_choice(name: str, value: object, choices: Sequence[str]) -> str:
    """``value`` after checking it is one of the strings ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(f"{name} must be one of {list(choices)}, got {value!r}", argument=name)
    return value


def check_optional_number(name: str, value: Any, **bounds: Any) -> float | None:
    """``None`` or :func:`check_number`'s float."""
    return None if value is None else check_number(name, value, **bounds)
