"""Bad input to the vectorized mode fails with a ConfigError that names the argument."""

import polars as pl
import pytest

from ml4t import ConfigError
from ml4t.datasets import synthetic_bars
from ml4t.vectorized import VectorizedStrategy


@pytest.fixture
def universe():
    return synthetic_bars(2, 60, "1d", seed=3)


def sma(fast: int, slow: int = 20):
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s, "exits": f < s}


def test_expression_referencing_a_missing_column(universe):
    strat = VectorizedStrategy(lambda: {"entries": pl.col("vwap") > 1})
    with pytest.raises(ConfigError, match=r"column the bars do not have.*vwap.*available") as info:
        strat.run(universe)
    assert info.value.symbol == "A000"


def test_non_boolean_entries(universe):
    strat = VectorizedStrategy(lambda: {"entries": pl.col("close") * 2})
    with pytest.raises(ConfigError, match=r"\['entries'\] must be boolean, got Float64") as info:
        strat.run(universe)
    assert info.value.argument == "entries"


@pytest.mark.parametrize(
    ("grids", "argument", "match"),
    [
        ({"fast": []}, "fast", "grid of 'fast' is empty"),
        ({"fast": [2, None]}, "fast", "must be numbers, booleans or strings"),
        ({"fast": [2], "fats": [3]}, "fats", "unknown parameter 'fats'; sma takes"),
        ({"slow": [30]}, "fast", "missing parameter 'fast'"),
        ({"fast": "abc"}, "signal_fn", r"sma\(fast='abc'\) raised TypeError"),
    ],
)
def test_bad_grids(universe, grids, argument, match):
    with pytest.raises(ConfigError, match=match) as info:
        VectorizedStrategy(sma).sweep(universe, **grids)
    assert info.value.argument == argument


def test_result_of_a_combination_not_in_the_sweep(universe):
    sweep = VectorizedStrategy(sma).sweep(universe, fast=[3, 5], slow=[20, 30])
    with pytest.raises(ConfigError, match=r"fast=4 is not in the sweep; its values are \[3, 5\]"):
        sweep.result(fast=4, slow=20)
    with pytest.raises(ConfigError, match="exactly the sweep's parameters"):
        sweep.result(fast=3)
    assert sweep.result(fast=5, slow=30).meta["params"] == {"fast": 5, "slow": 30}


@pytest.mark.parametrize(
    ("returned", "match"),
    [
        ([], "must return a dict"),
        ({"entries": pl.col("close") > 1, "enter": pl.lit(True)}, "unknown key 'enter'"),
        ({"exits": pl.lit(True)}, "must return 'entries' and/or 'short_entries'"),
        ({"entries": [True, False]}, "must be a Polars expression"),
    ],
)
def test_malformed_signal_functions(universe, returned, match):
    with pytest.raises(ConfigError, match=match):
        VectorizedStrategy(lambda: returned).run(universe)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"execution": "open"}, "execution"),
        ({"fees": -0.1}, "fees"),
        ({"slippage": 1.0}, "slippage"),
        ({"init_cash": 0}, "init_cash"),
        ({"sl_stop": 1.5}, "sl_stop"),
        ({"size": 0}, "size"),
        ({"size_type": "percent", "size": 2.0}, "size"),
        ({"size_type": "shares"}, "size_type"),
        ({"conflict": "both"}, "conflict"),
        ({"fees": float("nan")}, "fees"),
    ],
)
def test_bad_settings(kwargs, argument):
    with pytest.raises(ConfigError) as info:
        VectorizedStrategy(sma, **kwargs)
    assert info.value.argument == argument


def test_percent_size_cannot_reverse(universe):
    def both():
        return {"entries": pl.col("close") > 0, "short_entries": pl.col("close") < 0}

    with pytest.raises(ConfigError, match="cannot reverse"):
        VectorizedStrategy(both, size=0.5, size_type="percent").run(universe)
    with pytest.raises(ConfigError, match="cannot reverse"):
        VectorizedStrategy(both, size=0.5, size_type="percent").sweep(universe)


def test_run_takes_single_values_and_bars(universe):
    with pytest.raises(ConfigError, match="one value per parameter"):
        VectorizedStrategy(sma).run(universe, fast=[2, 3])
    with pytest.raises(ConfigError, match=r"ml4t\.data\.Bars"):
        VectorizedStrategy(sma).run(universe.frame, fast=2)
