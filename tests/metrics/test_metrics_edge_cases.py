"""Empty, single-value, constant and all-NaN input: NaN (or the defined value), never a warning.

The suite runs with ``-W error``, so any NumPy RuntimeWarning here fails the test.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import ml4t.metrics as m
from ml4t.errors import ConfigError, DataError

Metric = Callable[..., Any]
PLAIN: list[Metric] = [
    m.total_return,
    m.max_drawdown,
    m.max_drawdown_duration,
    m.value_at_risk,
    m.conditional_value_at_risk,
]
ANNUALIZED: list[Metric] = [
    m.annual_return,
    m.annual_volatility,
    m.calmar_ratio,
    m.sharpe_ratio,
    m.sortino_ratio,
    m.downside_deviation,
]


def call(fn: Metric, x: np.ndarray) -> Any:
    return fn(x, 252) if fn in ANNUALIZED else fn(x)


@pytest.mark.parametrize("fn", PLAIN + ANNUALIZED, ids=lambda f: f.__name__)
@pytest.mark.parametrize("x", [np.array([]), np.array([np.nan]), np.full(5, np.nan)], ids=["empty", "nan", "all-nan"])
def test_no_data_is_nan(fn: Metric, x: np.ndarray) -> None:
    assert math.isnan(call(fn, x))
    out = call(fn, x.reshape(-1, 1).repeat(3, axis=1))
    assert out.shape == (3,)
    assert np.isnan(out).all()


@pytest.mark.parametrize("fn", PLAIN + ANNUALIZED, ids=lambda f: f.__name__)
def test_two_dimensional_shapes_without_rows_or_columns(fn: Metric) -> None:
    assert np.isnan(call(fn, np.empty((0, 4)))).all()
    assert call(fn, np.empty((10, 0))).shape == (0,)


def test_single_return() -> None:
    r = np.array([-0.02])
    assert m.total_return(r) == pytest.approx(-0.02)
    assert m.annual_return(r, 252) == pytest.approx(0.98**252 - 1)
    assert m.max_drawdown(r) == pytest.approx(-0.02)  # the loss on the first bar counts
    assert m.max_drawdown_duration(r) == 1.0
    assert m.value_at_risk(r) == -0.02
    assert m.conditional_value_at_risk(r) == -0.02
    assert m.calmar_ratio(r, 252) == pytest.approx((0.98**252 - 1) / 0.02)
    for fn in (m.annual_volatility, m.sharpe_ratio, m.sortino_ratio):
        assert math.isnan(fn(r, 252))  # a dispersion needs two values


@pytest.mark.parametrize("value", [0.0, 0.001, -0.003, 0.1])
def test_constant_returns(value: float) -> None:
    r = np.full(50, value)
    assert math.isnan(m.sharpe_ratio(r, 252))  # zero deviation: no Sharpe ratio (empyrical: +-inf)
    assert math.isnan(m.sharpe_ratio(r, 252, risk_free=0.02))
    assert m.annual_volatility(r, 252) == 0.0
    assert m.value_at_risk(r) == value
    assert m.conditional_value_at_risk(r) == pytest.approx(value)
    sortino = m.sortino_ratio(r, 252)
    if value > 0:
        assert sortino == math.inf  # no downside at all
    elif value == 0:
        assert math.isnan(sortino)
    else:
        assert sortino == pytest.approx(-math.sqrt(252))
    if value >= 0:
        assert m.max_drawdown(r) == 0.0
        assert math.isnan(m.calmar_ratio(r, 252))


def test_wealth_below_zero_has_no_growth_rate() -> None:
    assert m.annual_return([-1.0, 0.1], 252) == -1.0
    assert math.isnan(m.annual_return([-1.5, 0.1], 252))
    assert m.max_drawdown([-1.5]) == pytest.approx(-1.5)  # wealth 1 -> -0.5


def test_overflowing_growth_is_inf_without_warning() -> None:
    assert m.annual_return([1.0, 1.0], 1e6) == math.inf


def test_infinite_returns_propagate_silently() -> None:
    r = np.array([0.01, np.inf, -0.02])
    assert math.isnan(m.sharpe_ratio(r, 252))
    assert m.total_return(r) == math.inf


@pytest.mark.parametrize("bad", [0, -1.0, math.nan, math.inf, "252", True, None])
def test_periods_per_year_is_validated(bad: object) -> None:
    with pytest.raises(ConfigError) as info:
        m.sharpe_ratio([0.01, 0.02], bad)  # type: ignore[arg-type]
    assert info.value.argument == "periods_per_year"


def test_other_arguments_are_validated() -> None:
    with pytest.raises(ConfigError) as info:
        m.sharpe_ratio([0.01, 0.02], 252, risk_free=-1.0)
    assert info.value.argument == "risk_free"
    for level in (0.0, 1.0, -0.1, math.nan):
        with pytest.raises(ConfigError) as info:
            m.value_at_risk([0.01], level)
        assert info.value.argument == "level"
    with pytest.raises(DataError) as data_info:
        m.total_return(np.zeros((2, 2, 2)))
    assert data_info.value.argument == "returns"
    with pytest.raises(DataError):
        m.total_return(["a", "b"])
