"""Declared settings (``ml4t.settings``): one frozen struct per mode, one validator, one place for defaults,
unknown or mistyped fields refused with the field's name (and the closest field for a typo), a JSON Schema
listing every field, and a run as a value (``RunSpec``)."""

import inspect
import math
import pickle

import msgspec
import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ml4t import ConfigError, costs
from ml4t.datasets import synthetic_bars
from ml4t.event import Engine, Strategy
from ml4t.settings import EngineSettings, RunSpec, Settings, VectorizedSettings
from ml4t.vectorized import VectorizedStrategy

MODES = [VectorizedSettings, EngineSettings]


def sma(fast: int = 3):
    f = pl.col("close").rolling_mean(fast)
    return {"entries": pl.col("close") > f, "exits": pl.col("close") < f}


@pytest.fixture(scope="module")
def universe():
    return synthetic_bars(1, 40, "1d", seed=5)


def test_both_modes_extend_the_common_settings():
    common = set(Settings.__struct_fields__)
    assert common == {"execution", "init_cash", "periods_per_year", "commission"}
    for cls in MODES:
        assert issubclass(cls, Settings) and common <= set(cls.__struct_fields__)


@pytest.mark.parametrize(("typo", "meant"), [("fess", "fees"), ("cash_share", "cash_sharing"), ("sl_stp", "sl_stop")])
def test_an_unknown_vectorized_setting_names_the_closest_field(typo, meant):
    with pytest.raises(ConfigError, match=f"unknown setting '{typo}'; did you mean '{meant}'") as info:
        VectorizedStrategy(sma, **{typo: 0.1})
    assert info.value.argument == typo


def test_an_unknown_engine_setting_names_the_closest_field(universe):
    with pytest.raises(ConfigError, match="unknown setting 'comission'; did you mean 'commission'") as info:
        Engine(universe, Strategy(), comission=costs.Percent(0.001))
    assert info.value.argument == "comission"


def test_a_name_far_from_every_field_lists_the_fields():
    with pytest.raises(ConfigError, match=r"unknown setting 'zzz'; VectorizedSettings takes \[") as info:
        VectorizedSettings.build(zzz=1)
    assert info.value.argument == "zzz"


@pytest.mark.parametrize(
    ("cls", "name", "value", "expected"),
    [
        (VectorizedSettings, "fees", "0.1", "fees must be a number"),
        (VectorizedSettings, "cash_sharing", 1, "cash_sharing must be True or False"),
        (VectorizedSettings, "conflict", "both", r"conflict must be one of \['ignore', 'entry', 'exit'\]"),
        (VectorizedSettings, "slippage", 1.0, "slippage must be >= 0.0 and < 1.0"),
        (EngineSettings, "participation", 1.5, "participation must be <= 1.0 and > 0"),
        (EngineSettings, "commission", 0.001, "commission must be an ml4t.costs commission model"),
        (EngineSettings, "latency", "soon", "cannot parse duration 'soon'"),
        (EngineSettings, "session_tz", "Mars/Olympus", "unknown session_tz"),
    ],
)
def test_every_construction_validates_and_names_the_field(cls, name, value, expected):
    for build in (lambda: cls(**{name: value}), lambda: cls.build(**{name: value})):
        with pytest.raises(ConfigError, match=expected) as info:
            build()
        assert info.value.argument == name
    with pytest.raises(msgspec.ValidationError, match=name):  # msgspec's own type check first, then ours
        msgspec.convert({name: value}, cls)
    default = cls()
    with pytest.raises(ConfigError, match=expected):
        default.replace(**{name: value})


def test_numpy_values_become_python_values():
    s = VectorizedSettings.build(fees=np.float32(0.5), cash_sharing=np.True_, size=np.int64(3))
    assert type(s.fees) is float and s.cash_sharing is True and s.size == 3.0 and type(s.size) is float


def test_the_constructors_take_their_defaults_from_the_structs(universe):
    assert VectorizedStrategy(sma).settings == VectorizedSettings()
    assert Engine(universe, Strategy()).settings == EngineSettings()
    for cls, ctor in ((VectorizedSettings, VectorizedStrategy), (EngineSettings, Engine)):
        shown = {p.name: p.default for p in inspect.signature(ctor).parameters.values() if p.kind is p.KEYWORD_ONLY}
        assert {k: v for k, v in shown.items() if k != "signals"} == cls().to_dict()


def test_settings_are_frozen_values_read_by_name():
    s = VectorizedSettings(fees=0.001)
    with pytest.raises(AttributeError):
        s.fees = 0.0  # type: ignore[misc]
    assert s["fees"] == s.fees == 0.001 and s == VectorizedSettings.build(fees=0.001)
    with pytest.raises(KeyError):
        s["fess"]


def test_an_engine_resolves_leverage_and_a_timedelta_latency():
    import datetime as dt

    s = EngineSettings(account="margin", latency=dt.timedelta(milliseconds=50))
    assert s.leverage == 2.0 and s.latency == "50ms" and s.latency_ns == 50_000_000
    with pytest.raises(ConfigError, match="leverage applies to account='margin' only"):
        EngineSettings(leverage=2.0)


@pytest.mark.parametrize("cls", MODES)
def test_the_json_schema_lists_every_field_with_its_default(cls):
    schema = cls.schema()
    body = schema["$defs"][cls.__name__]
    assert set(body["properties"]) == set(cls.__struct_fields__)
    assert body["additionalProperties"] is False
    for field in msgspec.structs.fields(cls):
        if isinstance(field.default, float) and math.isinf(field.default):
            continue  # JSON has no infinity
        assert body["properties"][field.name]["default"] == field.default


@pytest.mark.parametrize(
    "settings",
    [
        VectorizedSettings(fees=0.001, sl_stop=0.05, cash_sharing=True),
        EngineSettings(commission=costs.PerShare(0.01, minimum=1.0), slippage=costs.Bps(5.0), account="margin"),
    ],
)
def test_settings_and_run_specs_pickle(settings):
    assert pickle.loads(pickle.dumps(settings)) == settings
    spec = RunSpec(strategy=sma, params={"fast": 3}, settings=settings)
    again = pickle.loads(pickle.dumps(spec))
    assert again.settings == settings and again.strategy is sma and again.params == {"fast": 3}


def test_a_vectorized_strategy_describes_its_run(universe):
    strategy = VectorizedStrategy(sma, fees=0.001)
    spec = strategy.spec(fast=4)
    assert spec.mode == "vectorized" and spec.strategy is sma and spec.settings is strategy.settings
    assert RunSpec(strategy=Strategy, settings=EngineSettings()).mode == "event"
    assert spec.data is None and strategy.spec(universe, fast=4).data == universe.fingerprint()
    assert strategy.promote(universe, fast=4).spec.data == universe.fingerprint()


_REALS = st.one_of(st.floats(allow_nan=True), st.integers(-3, 3), st.booleans(), st.text(max_size=3), st.none())


@given(fees=_REALS, slippage=_REALS, sl_stop=_REALS)
def test_the_validator_agrees_with_the_declared_bounds(fees, slippage, sl_stop):
    """A plain reading of the declared bounds (0 <= fees <= 1, 0 <= slippage < 1, sl_stop None or in (0, 1),
    real non-bool finite numbers) decides exactly what the validator accepts."""

    def real(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

    ok = (
        real(fees)
        and 0 <= fees <= 1
        and real(slippage)
        and 0 <= slippage < 1
        and (sl_stop is None or (real(sl_stop) and 0 < sl_stop < 1))
    )
    try:
        VectorizedSettings(fees=fees, slippage=slippage, sl_stop=sl_stop)
    except ConfigError:
        assert not ok
    else:
        assert ok


def test_a_run_spec_promotes_like_its_strategy(universe):
    import ml4t

    strategy = VectorizedStrategy(sma, fees=0.001)
    by_spec = ml4t.promote(strategy.spec(fast=4), universe).run()
    by_strategy = strategy.promote(universe, fast=4).run()
    assert by_spec.equity.equals(by_strategy.equity) and by_spec.orders.equals(by_strategy.orders)
    with pytest.raises(ConfigError, match=r"promote\(\) takes an ml4t\.vectorized\.VectorizedStrategy") as info:
        ml4t.promote(RunSpec(strategy=Strategy, settings=EngineSettings()), universe)
    assert info.value.argument == "strategy"


def test_vectorized_costs_are_models_or_their_float_shorthands():
    from ml4t.costs import lower_costs
    from ml4t.settings import lower_vectorized_costs

    models = VectorizedSettings(commission=costs.PerShare(0.01), slippage=costs.Bps(5.0))
    assert lower_vectorized_costs(models) == lower_costs(costs.PerShare(0.01), costs.Bps(5.0))
    floats = VectorizedSettings(fees=0.001, fixed_fees=1.0, slippage=0.002)
    assert lower_vectorized_costs(floats) == lower_costs(fees=0.001, fixed_fees=1.0, slippage_rate=0.002)
    with pytest.raises(ConfigError, match="both set the commission") as info:
        VectorizedSettings(commission=costs.Percent(0.001), fees=0.001)  # the struct alone refuses it
    assert info.value.argument == "commission"
    with pytest.raises(ConfigError, match="slippage must be a number") as info:
        VectorizedSettings(slippage="5bps")
    assert info.value.argument == "slippage"
    assert pickle.loads(pickle.dumps(models)) == models
