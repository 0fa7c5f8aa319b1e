"""Per-bar ``size``, ``sl_stop`` and ``tp_stop`` returned by a signal function obey the rules of the settings of
the same name (NaN / null: no order, no stop). A bad value is a ConfigError naming the key, the combination,
the symbol and the first offending timestamp, in ``run``, in both sweep paths and in promotion."""

import datetime as dt
import math

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ml4t
from ml4t import ConfigError
from ml4t.data import bars
from ml4t.vectorized import VectorizedStrategy

T0 = dt.datetime(2024, 1, 1, 21, tzinfo=dt.UTC)


def panel(values: dict[str, list[float]]) -> ml4t.data.Bars:
    """Bars of constant prices with a per-bar column ``v`` per symbol."""
    rows = []
    for symbol, vs in values.items():
        for i, v in enumerate(vs):
            rows.append(
                {
                    "timestamp": T0 + dt.timedelta(days=i),
                    "symbol": symbol,
                    "open": 10.0,
                    "high": 11.0,
                    "low": 9.0,
                    "close": 10.0,
                    "volume": 1e6,
                    "v": v,
                }
            )
    return bars(pl.DataFrame(rows))


def uses(key: str):
    def rule(k: float = 1.0):
        return {"entries": pl.col("close") > 0, key: pl.col("v") * k}

    rule.__name__ = f"uses_{key}"
    return rule


def uses_plain(key: str):
    """The same rule through the plain Polars path (a NaN literal cannot be compiled)."""

    def rule(k: float = 1.0):
        return {"entries": pl.col("close") > pl.lit(math.nan).fill_nan(0.0), key: pl.col("v") * k}

    rule.__name__ = f"uses_{key}"
    return rule


def ok(key: str, v: float, size_type: str) -> bool:
    """The reference rule, written from the settings' documentation."""
    if math.isnan(v):
        return True
    if key == "size":
        return 0 < v <= 1 if size_type == "percent" else v > 0
    if key == "sl_stop":
        return 0 < v < 1
    return 0 < v < math.inf


def first_bad(values: dict[str, list[float]], key: str, size_type: str) -> tuple[str, int] | None:
    """(symbol, bar) of the first bad value in time order, symbols in order within a bar."""
    n = max(len(v) for v in values.values())
    for i in range(n):
        for symbol in sorted(values):
            vs = values[symbol]
            if i < len(vs) and not ok(key, vs[i], size_type):
                return symbol, i
    return None


@pytest.mark.parametrize(
    ("key", "bad"),
    [("size", -1.0), ("size", 0.0), ("size", -math.inf), ("sl_stop", -0.05), ("sl_stop", 1.0), ("tp_stop", 0.0)],
)
def test_run_refuses_a_bad_per_bar_value(key, bad):
    data = panel({"A": [0.5, 0.5, bad, 0.5], "B": [0.5, 0.5, 0.5, bad]})
    with pytest.raises(ConfigError, match=rf"uses_{key}\(k=1\.0\)\[{key!r}\] must be .*got {bad}") as info:
        VectorizedStrategy(uses(key)).run(data, k=1.0)
    assert (info.value.argument, info.value.symbol) == (key, "A")
    assert info.value.timestamp == T0 + dt.timedelta(days=2)


def test_percent_size_above_one_is_refused():
    data = panel({"A": [0.5, 1.5, 0.5]})
    with pytest.raises(ConfigError, match=r"size_type='percent'") as info:
        VectorizedStrategy(uses("size"), size_type="percent", size=1.0).run(data, k=1.0)
    assert info.value.timestamp == T0 + dt.timedelta(days=1)
    VectorizedStrategy(uses("size")).run(data, k=1.0)  # 1.5 units is fine for size_type='amount'


@pytest.mark.parametrize("make", [uses, uses_plain])
def test_sweep_names_the_offending_combination(make):
    data = panel({"A": [0.5] * 5, "B": [0.5] * 5})
    with pytest.raises(ConfigError, match=r"\(k=-2\.0\)\['sl_stop'\] must be") as info:
        VectorizedStrategy(make("sl_stop")).sweep(data, k=[1.0, -2.0, 1.5])
    assert (info.value.symbol, info.value.timestamp) == ("A", T0)


def test_promotion_checks_per_bar_values():
    data = panel({"A": [0.5, -0.5, 0.5]})
    with pytest.raises(ConfigError, match=r"\['tp_stop'\] must be") as info:
        ml4t.promote(VectorizedStrategy(uses("tp_stop")), data, k=1.0)
    assert info.value.timestamp == T0 + dt.timedelta(days=1)


def test_nan_and_null_are_no_order_not_an_error():
    data = panel({"A": [math.nan, 0.5, math.nan]})
    for key in ("size", "sl_stop", "tp_stop"):
        VectorizedStrategy(uses(key)).run(data, k=1.0)
        VectorizedStrategy(uses(key)).sweep(data, k=[1.0, 0.5])


values = st.lists(
    st.one_of(st.floats(0.01, 0.99), st.sampled_from([math.nan, -0.1, 0.0, 1.0, 2.0, math.inf, -math.inf])),
    min_size=3,
    max_size=6,
)


@settings(max_examples=60)
@pytest.mark.filterwarnings("ignore::ml4t.errors.NoOrdersWarning")  # all-NaN sizes legitimately never trade
@given(
    a=values,
    b=values,
    key=st.sampled_from(["size", "sl_stop", "tp_stop"]),
    size_type=st.sampled_from(["amount", "percent"]),
    plain=st.booleans(),
)
def test_rejected_exactly_when_the_reference_rule_says(a, b, key, size_type, plain):
    """Property: the strategy raises iff some value breaks the rule, at the reference's first (symbol, bar)."""
    n = min(len(a), len(b))
    data_values = {"A": a[:n], "B": b[:n]}
    data = panel(data_values)
    make = uses_plain if plain else uses
    strategy = VectorizedStrategy(make(key), size_type=size_type, size=1.0 if size_type == "percent" else math.inf)
    expected = first_bad(data_values, key, size_type)
    if expected is None:
        strategy.sweep(data, k=[1.0])
        return
    with pytest.raises(ConfigError) as info:
        strategy.sweep(data, k=[1.0])
    assert info.value.argument == key
    assert (info.value.symbol, info.value.timestamp) == (expected[0], T0 + dt.timedelta(days=expected[1]))
