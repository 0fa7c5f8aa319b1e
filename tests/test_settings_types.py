"""Settings are validated, never coerced: a boolean takes a bool, a number a real number (not a bool, not a
string), in every public entry point, through the one helper module ``ml4t._validate``."""

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ml4t
from ml4t import ConfigError, costs
from ml4t._validate import check_bool, check_number
from ml4t.datasets import synthetic_bars
from ml4t.event import Engine, Strategy
from ml4t.vectorized import VectorizedStrategy


@pytest.fixture(scope="module")
def universe():
    return synthetic_bars(1, 40, "1d", seed=5)


def sma(fast: int = 3):
    f = pl.col("close").rolling_mean(fast)
    return {"entries": pl.col("close") > f, "exits": pl.col("close") < f}


NOT_BOOLS = ["no", "false", "off", 0, 1, 0.0, None, "True", [True]]
NOT_NUMBERS = [True, False, np.True_, "0.1", "1e5", None, [1.0], b"1"]


@pytest.mark.parametrize("name", ["cash_sharing", "sl_trail", "accumulate"])
@pytest.mark.parametrize("value", NOT_BOOLS)
def test_vectorized_bool_settings_refuse_non_bools(name, value):
    with pytest.raises(ConfigError, match=f"{name} must be True or False") as info:
        VectorizedStrategy(sma, **{name: value})
    assert info.value.argument == name
    assert repr(value) in str(info.value)


@pytest.mark.parametrize("name", ["cash_sharing", "sl_trail", "accumulate"])
def test_vectorized_bool_settings_take_numpy_bools(name):
    assert VectorizedStrategy(sma, **{name: np.bool_(True)}).settings[name] is True


@pytest.mark.parametrize(
    "name",
    ["size", "fees", "fixed_fees", "slippage", "init_cash", "min_size", "sl_stop", "tp_stop", "periods_per_year"],
)
@pytest.mark.parametrize("value", NOT_NUMBERS)
def test_vectorized_number_settings_refuse_non_numbers(name, value):
    if value is None and name in ("sl_stop", "tp_stop", "periods_per_year"):
        return  # None means "no stop" / "infer"
    with pytest.raises(ConfigError, match=f"{name} must be a number") as info:
        VectorizedStrategy(sma, **{name: value})
    assert info.value.argument == name


@pytest.mark.parametrize("name", ["init_cash", "participation", "leverage", "periods_per_year"])
@pytest.mark.parametrize("value", NOT_NUMBERS)
def test_engine_number_settings_refuse_non_numbers(universe, name, value):
    if value is None:
        return
    extra = {"account": "margin"} if name == "leverage" else {}
    with pytest.raises(ConfigError, match=f"{name} must be a number") as info:
        Engine(universe, Strategy(), **{name: value}, **extra)
    assert info.value.argument == name


def test_engine_init_cash_true_is_refused_not_run_with_one(universe):
    with pytest.raises(ConfigError, match=r"init_cash must be a number, got True"):
        Engine(universe, Strategy(), init_cash=True)


@pytest.mark.parametrize("value", NOT_BOOLS)
def test_engine_fractional_refuses_non_bools(universe, value):
    with pytest.raises(ConfigError, match="fractional must be True or False") as info:
        Engine(universe, Strategy(), fractional=value)
    assert info.value.argument == "fractional"


def test_engine_multiplier_must_be_a_number(universe):
    with pytest.raises(ConfigError, match="must be a number") as info:
        Engine(universe, Strategy(), multipliers={universe.symbols[0]: True})
    assert info.value.argument == "multipliers"


@pytest.mark.parametrize(
    ("make", "argument"),
    [
        (lambda v: costs.Percent(v), "rate"),
        (lambda v: costs.PerShare(v), "per_share"),
        (lambda v: costs.PerShare(0.01, minimum=v), "minimum"),
        (lambda v: costs.PerShare(0.01, maximum_rate=v), "maximum_rate"),
        (lambda v: costs.PerOrder(v), "amount"),
        (lambda v: costs.Tiered([(1000.0, v)]), "tiers[0] rate"),
        (lambda v: costs.Tiered([(v, 0.001)]), "tiers[0] bound"),
        (lambda v: costs.Bps(v), "bps"),
        (lambda v: costs.HalfSpread(v), "spread_bps"),
        (lambda v: costs.VolumeImpact(v), "coefficient"),
        (lambda v: costs.VolumeImpact(0.1, exponent=v), "exponent"),
    ],
)
@pytest.mark.parametrize("value", [True, "0.1", None])
def test_cost_models_refuse_non_numbers(make, argument, value):
    with pytest.raises(ConfigError, match="must be a number") as info:
        make(value)
    assert info.value.argument == argument


@pytest.mark.parametrize("value", ["0.1", True])
def test_promotion_run_settings_are_validated(universe, value):
    promoted = ml4t.promote(VectorizedStrategy(sma), universe, fast=3)
    with pytest.raises(ConfigError, match="must be a number") as info:
        promoted.run(participation=value)
    assert info.value.argument == "participation"
    with pytest.raises(ConfigError, match="cash_buffer must be a number") as info:
        promoted.run(cash_buffer=value, participation=0.5)
    with pytest.raises(ConfigError, match="init_cash must be a number") as info:
        promoted.run(init_cash=value)
    with pytest.raises(ConfigError, match="periods_per_year must be a number") as info:
        promoted.run(periods_per_year=value)


@pytest.mark.parametrize("value", NOT_BOOLS)
def test_promotion_fractional_is_validated(universe, value):
    promoted = ml4t.promote(VectorizedStrategy(sma), universe, fast=3)
    with pytest.raises(ConfigError, match="fractional must be True or False"):
        promoted.run(fractional=value)


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_load_bars_adjust_must_be_a_bool(tmp_path, value):
    path = tmp_path / "x.csv"
    synthetic_bars(1, 5, "1d", seed=1).frame.drop("ts_arrival").write_csv(path)
    with pytest.raises(ConfigError, match="adjust must be True or False") as info:
        ml4t.data.load_bars(path, adjust=value)
    assert info.value.argument == "adjust"


@pytest.mark.parametrize("value", [True, 2.0, "3"])
def test_audit_cuts_must_be_an_integer_or_timestamps(universe, value):
    with pytest.raises(ConfigError) as info:
        ml4t.audit.lookahead(VectorizedStrategy(sma), universe, cuts=value, params={"fast": 3})
    assert info.value.argument == "cuts"


@given(st.one_of(st.booleans(), st.text(max_size=5), st.none(), st.floats(), st.integers(-5, 5)))
def test_check_bool_accepts_exactly_the_bools(value):
    if isinstance(value, bool):
        assert check_bool("x", value) is value
    else:
        with pytest.raises(ConfigError, match=r"x must be True or False"):
            check_bool("x", value)


@given(st.one_of(st.booleans(), st.text(max_size=5), st.none(), st.floats(), st.integers(-(10**6), 10**6)))
def test_check_number_accepts_exactly_the_finite_reals(value):
    real = isinstance(value, (int, float)) and not isinstance(value, bool)
    if real and math.isfinite(value):
        assert check_number("x", value) == float(value)
    else:
        with pytest.raises(ConfigError, match=r"x must be (a number|finite)") as info:
            check_number("x", value)
        assert info.value.argument == "x"
