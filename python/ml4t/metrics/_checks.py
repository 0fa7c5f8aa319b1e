"""Argument checks and array plumbing shared by the metrics functions (private)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ml4t._shape import ResultShape
from ml4t._validate import is_number
from ml4t.errors import ConfigError, DataError

__all__ = [
    "as_returns",
    "check_result",
    "check_level",
    "check_periods_per_year",
    "finish",
    "nan_moments",
    "per_period_rate",
    "resolved_deviation",
]


def as_returns(returns: Any, *, argument: str = "returns") -> tuple[np.ndarray, bool]:
    """``returns`` as a 2-D float64 array (bars x series) and whether the input was 1-D.

    Accepts anything ``numpy.asarray`` understands (lists, NumPy arrays, Polars Series and frames).
    """
    try:
        arr = np.asarray(returns, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{argument} must be numeric: {exc}", argument=argument) from exc
    if arr.ndim == 1:
        return arr.reshape(-1, 1), True
    if arr.ndim == 2:
        return arr, False
    raise DataError(f"{argument} must be 1-D (one series) or 2-D (bars x series), got {arr.ndim}-D", argument=argument)


def check_result(result: Any, *, argument: str = "result") -> None:
    """ConfigError unless ``result`` is an ``ml4t.Result``."""
    if not isinstance(result, ResultShape):
        raise ConfigError(f"{argument} must be an ml4t.Result, got {type(result).__name__}", argument=argument)


def finish(values: np.ndarray, one_d: bool) -> Any:
    """A Python float for 1-D input, the 1-D per-column array for 2-D input."""
    if one_d:
        return float(values[0])
    return values


def check_periods_per_year(periods_per_year: Any, *, argument: str = "periods_per_year") -> float:
    """A positive, finite annualization factor, or ConfigError naming the argument."""
    if not is_number(periods_per_year):
        raise ConfigError(
            f"{argument} must be a positive number (bars per year, e.g. 252 for US daily bars), "
            f"got {periods_per_year!r}",
            argument=argument,
        )
    value = float(periods_per_year)
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{argument} must be a positive, finite number, got {periods_per_year!r}", argument=argument)
    return value


def per_period_rate(risk_free: Any, periods_per_year: float, *, argument: str = "risk_free") -> float:
    """The per-period equivalent ``(1 + rf) ** (1 / periods_per_year) - 1`` of an annual rate."""
    if not is_number(risk_free):
        raise ConfigError(f"{argument} must be an annual rate such as 0.02, got {risk_free!r}", argument=argument)
    rate = float(risk_free)
    if not (math.isfinite(rate) and rate > -1.0):
        raise ConfigError(f"{argument} must be a finite annual rate above -1, got {risk_free!r}", argument=argument)
    if rate == 0.0:
        return 0.0
    return float((1.0 + rate) ** (1.0 / periods_per_year) - 1.0)


def check_level(level: Any, *, argument: str = "level") -> float:
    """A tail probability strictly between 0 and 1."""
    if not is_number(level):
        raise ConfigError(f"{argument} must be a probability such as 0.05, got {level!r}", argument=argument)
    value = float(level)
    if not 0.0 < value < 1.0:
        raise ConfigError(f"{argument} must be strictly between 0 and 1, got {level!r}", argument=argument)
    return value


def nan_moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column: count of non-NaN values, their mean and their sample variance (ddof=1).

    Computed the way ``numpy.nanmean``/``numpy.nanvar`` do (two passes), but without their warnings:
    the mean is NaN for a column with no values, the variance NaN for fewer than two. A column whose
    values are all equal has variance exactly 0 (not the ~1e-33 residue its rounded mean would leave).
    """
    valid = ~np.isnan(x)
    count = valid.sum(axis=0)
    total = np.where(valid, x, 0.0).sum(axis=0)
    mean = np.full(x.shape[1], np.nan)
    np.divide(total, count, out=mean, where=count > 0)
    with np.errstate(invalid="ignore", over="ignore"):  # only reachable with +-inf in the input
        dev = np.where(valid, x - mean, 0.0)
        sq = (dev * dev).sum(axis=0)
    var = np.full(x.shape[1], np.nan)
    np.divide(sq, count - 1, out=var, where=count > 1)
    high = np.where(valid, x, -np.inf).max(axis=0, initial=-np.inf)
    low = np.where(valid, x, np.inf).min(axis=0, initial=np.inf)
    var[(count > 1) & (high == low)] = 0.0
    return count, mean, var


#: A standard deviation within this many units of rounding of the mean is rounding, not variation.
_ROUNDING_ULPS = 64.0


def resolved_deviation(std: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Where ``std`` measures real variation: above zero and above the rounding of ``mean`` (64 units in the
    last place). Returns that differ only in their last bits (a constant series summed with rounding) have no
    meaningful deviation: a Sharpe ratio of 1e17 from them is an artefact of how the mean was summed, and two
    correct ways of computing it (one pass or two) disagree. Both treat them as constant (NaN ratio)."""
    with np.errstate(invalid="ignore"):
        resolved: np.ndarray = std > _ROUNDING_ULPS * np.finfo(np.float64).eps * np.abs(mean)
    return resolved
