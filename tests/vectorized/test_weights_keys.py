"""The keys of weights mode (``weights``, ``rebalance``, ``leverage``): their checks and their arrays.

The arrays are what the kernel reads (common contract §2-§3): ``weights`` NaN where null or where a symbol
has no bar; ``rebalance`` True on the first bar of each calendar period of the common timeline, on bars
0, n, 2n, ... for a number, or the expression's value; ``leverage`` a number or an expression.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml4t._kernel.signals import KEYS, Grid, compile_chunk, evaluate
from ml4t.data import bars
from ml4t.datasets import synthetic_bars
from ml4t.errors import ConfigError
from ml4t.settings import VectorizedSettings
from ml4t.vectorized import VectorizedStrategy

T0 = dt.datetime(2024, 1, 29, 21, tzinfo=dt.UTC)  # a Monday, three days before February


def _bars(n_bars: int = 80, seed: int = 0, gaps: bool = True, weekdays: bool = True):
    """Three symbols on weekdays (or every day); with ``gaps`` BBB lists at bar 6 and CCC misses bar 0."""
    rng = np.random.default_rng(seed)
    days = [T0 + dt.timedelta(days=i) for i in range(2 * n_bars)]
    days = [d for d in days if not weekdays or d.weekday() < 5][:n_bars]
    rows = []
    for i, d in enumerate(days):
        for sym in ("AAA", "BBB", "CCC"):
            if gaps and ((sym == "BBB" and i < 6) or (sym == "CCC" and i == 0)):
                continue
            c = float(rng.uniform(50, 150))
            rows.append((d, sym, c, c + 1, c - 1, c, 1000.0, float(rng.normal())))
    schema = ["timestamp", "symbol", "open", "high", "low", "close", "volume", "score"]
    return bars(pl.DataFrame(rows, schema=schema, orient="row"))


def _arrays(fn, b, settings: VectorizedSettings | None = None, **params):
    return evaluate(fn, b.panel(), Grid.build(fn, params), [0], settings or VectorizedSettings())


def _expected_first_of_period(b, period: str) -> np.ndarray:
    """By hand: a bar is a rebalance bar when no earlier bar of the timeline is in the same period."""
    seen, out = set(), []
    for ts in b.panel().ts.to_list():
        key = {
            "1w": ts.isocalendar()[:2],
            "1mo": (ts.year, ts.month),
            "1q": (ts.year, (ts.month - 1) // 3),
            "1y": ts.year,
        }[period]
        out.append(key not in seen)
        seen.add(key)
    return np.array(out)


def _has_bar(b) -> np.ndarray:
    return ~np.isnan(b.panel().close)


def test_weights_are_the_expression_values_nan_where_null_or_no_bar():
    b = _bars()

    def fn():
        return {"weights": pl.when(pl.col("score") > 0).then(pl.col("score") / 10)}

    got = _arrays(fn, b)
    assert set(got) == {"weights"}
    panel = b.panel()
    want = np.full_like(panel.close, np.nan)
    for row in b.frame.iter_rows(named=True):
        if row["score"] > 0:
            want[panel.symbols.index(row["symbol"]), panel.ts.to_list().index(row["ts_event"])] = row["score"] / 10
    np.testing.assert_allclose(got["weights"], want, rtol=1e-15)  # NaN where want is NaN


@pytest.mark.parametrize("period", ["1w", "1mo", "1q"])
def test_a_period_rebalances_on_the_first_bar_of_each_period_of_the_common_timeline(period):
    b = _bars(n_bars=150)
    weights = lambda: {"weights": pl.lit(0.3)}  # noqa: E731
    from_setting = _arrays(weights, b, VectorizedSettings(rebalance=period))["rebalance"]
    from_key = _arrays(lambda: {"weights": pl.lit(0.3), "rebalance": period}, b)["rebalance"]
    first = _expected_first_of_period(b, period)
    assert first[0] and first.sum() > 2
    # every symbol's row is the timeline's, where the symbol has a bar (no bar: no order anyway)
    np.testing.assert_array_equal(from_setting, first[None, :] & _has_bar(b))
    np.testing.assert_array_equal(from_key, from_setting)


@settings(max_examples=25, deadline=None)
@given(st.sets(st.integers(0, 500), min_size=1, max_size=120), st.sampled_from(["1w", "1mo", "1q", "1y"]))
def test_periods_on_any_timeline_with_holes(days, period):
    """Any set of dates (holidays, a missing first day of the month, a symbol missing some of them): the
    rebalance bars are the timeline's first bar in each period, for every symbol that has a bar there."""
    rows = []
    for i in sorted(days):
        for sym in ("AAA", "BBB"):
            if sym == "BBB" and i % 3 == 0:
                continue
            rows.append((T0 + dt.timedelta(days=i), sym, 10.0, 11.0, 9.0, 10.0, 1.0))
    b = bars(pl.DataFrame(rows, schema=["timestamp", "symbol", "open", "high", "low", "close", "volume"], orient="row"))
    got = _arrays(lambda: {"weights": pl.lit(0.5), "rebalance": period}, b)["rebalance"]
    np.testing.assert_array_equal(got, _expected_first_of_period(b, period)[None, :] & _has_bar(b))


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 30), st.integers(5, 60))
def test_a_number_of_bars_rebalances_on_bars_0_n_2n(n, n_bars):
    b = _bars(n_bars=n_bars, gaps=False)
    got = _arrays(lambda: {"weights": pl.col("score"), "rebalance": n}, b)["rebalance"]
    want = np.arange(n_bars) % n == 0
    np.testing.assert_array_equal(got, np.broadcast_to(want, got.shape))


def test_the_rebalance_key_overrides_the_setting_and_an_expression_is_taken_as_is():
    b = _bars()
    s = VectorizedSettings(rebalance="1mo")
    got = _arrays(lambda: {"weights": pl.col("score"), "rebalance": pl.col("score") > 1}, b, s)["rebalance"]
    want = np.zeros_like(got)
    panel = b.panel()
    for row in b.frame.iter_rows(named=True):
        want[panel.symbols.index(row["symbol"]), panel.ts.to_list().index(row["ts_event"])] = row["score"] > 1
    np.testing.assert_array_equal(got, want)
    # no key and no setting: no rebalance array (every bar)
    assert "rebalance" not in _arrays(lambda: {"weights": pl.col("score")}, b)


def test_leverage_is_a_number_or_an_expression():
    b = _bars()
    got = _arrays(lambda: {"weights": pl.col("score"), "leverage": 1.5}, b)
    np.testing.assert_array_equal(got["leverage"], np.where(_has_bar(b), 1.5, np.nan))
    got = _arrays(lambda: {"weights": pl.col("score"), "leverage": pl.col("close") / 100}, b)
    np.testing.assert_allclose(got["leverage"], b.panel().close / 100, rtol=1e-15)


@pytest.mark.parametrize(
    ("signals", "argument", "match"),
    [
        ({"weights": pl.lit(0.5), "entries": pl.lit(True)}, "signals", "not both"),
        ({"weights": pl.lit(0.5), "short_entries": pl.lit(True)}, "signals", "not both"),
        ({"weights": pl.lit(0.5), "exits": pl.lit(True)}, "exits", "do not apply"),
        ({"weights": pl.lit(0.5), "size": pl.lit(1.0)}, "size", "do not apply"),
        ({"weights": pl.lit(0.5), "sl_stop": pl.lit(0.1)}, "sl_stop", "do not apply"),
        ({"weights": pl.lit(0.5), "tp_stop": pl.lit(0.1)}, "tp_stop", "do not apply"),
        ({"exits": pl.lit(True)}, "signals", "or 'weights'"),
        ({"entries": pl.lit(True), "rebalance": "1mo"}, "rebalance", "target weights only"),
        ({"entries": pl.lit(True), "leverage": 2.0}, "leverage", "target weights only"),
        ({"weights": pl.lit(0.5), "rebalance": "fortnightly"}, "rebalance", "calendar period"),
        ({"weights": pl.lit(0.5), "rebalance": 0}, "rebalance", ">= 1"),
        ({"weights": pl.lit(0.5), "rebalance": True}, "rebalance", "rebalance"),
        ({"weights": pl.lit(0.5), "rebalance": 2.5}, "rebalance", "rebalance"),
        ({"weights": pl.lit(0.5), "leverage": "2x"}, "leverage", "a number"),
        ({"weights": pl.lit(0.5), "leverage": True}, "leverage", "a number"),
        ({"weights": 0.5}, "weights", "Polars expression"),
    ],
)
def test_bad_keys_of_the_modes_are_refused_by_name(signals, argument, match):
    with pytest.raises(ConfigError, match=match) as info:
        VectorizedStrategy(lambda: signals).run(_bars())
    assert info.value.argument == argument


@pytest.mark.parametrize(
    ("setting", "value", "signals"),
    [
        ("sl_stop", 0.1, {"weights": pl.lit(0.5)}),
        ("tp_stop", 0.1, {"weights": pl.lit(0.5)}),
        ("accumulate", True, {"weights": pl.lit(0.5)}),
        ("rebalance", "1mo", {"entries": pl.lit(True)}),
        ("leverage", 2.0, {"entries": pl.lit(True)}),
    ],
)
def test_a_setting_the_mode_does_not_read_is_refused_by_name(setting, value, signals):
    strategy = VectorizedStrategy(lambda: signals, **{setting: value})
    for call in (lambda: strategy.run(_bars()), lambda: strategy.sweep(_bars())):
        with pytest.raises(ConfigError, match=setting) as info:
            call()
        assert info.value.argument == setting


@pytest.mark.parametrize(
    ("key", "expr", "rule"),
    [
        ("weights", pl.when(pl.col("score") > 1.5).then(float("inf")).otherwise(0.1), "finite"),
        ("leverage", pl.when(pl.col("score") > 1.5).then(0.0).otherwise(1.0), "> 0"),
        ("leverage", pl.when(pl.col("score") > 1.5).then(-2.0).otherwise(1.0), "> 0"),
    ],
)
def test_a_bad_number_names_the_key_the_symbol_and_the_first_timestamp(key, expr, rule):
    b = _bars()
    signals = {"weights": pl.lit(0.1), key: expr}
    first = b.frame.filter(pl.col("score") > 1.5).row(0, named=True)
    with pytest.raises(ConfigError, match=rule) as info:
        VectorizedStrategy(lambda: signals).run(b)
    assert (info.value.argument, info.value.symbol, info.value.timestamp) == (key, first["symbol"], first["ts_event"])


def test_a_sweep_of_one_mode_only():
    def either(use_weights):
        return {"weights": pl.lit(0.5)} if use_weights else {"entries": pl.lit(True)}

    with pytest.raises(ConfigError, match="one mode"):
        VectorizedStrategy(either).sweep(_bars(), use_weights=[False, True])


def test_the_keys_are_in_the_kernel_order():
    assert KEYS == (
        "entries",
        "exits",
        "short_entries",
        "short_exits",
        "size",
        "sl_stop",
        "tp_stop",
        "weights",
        "rebalance",
        "leverage",
    )


def test_the_python_keys_are_the_rust_kernels_in_order():
    # the order is written in both languages (programs.rs KEYS, _kernel/keys.py KEYS): the build checks one
    # against the other
    from ml4t import _core

    assert tuple(_core.KERNEL_KEYS) == KEYS


def topk(lookback, k, every, cap):
    mom = pl.col("close") / pl.col("close").shift(lookback).over("symbol") - 1
    top = mom.rank(descending=True).over("ts_event") <= k
    return {"weights": pl.when(top).then(1.0 / k).otherwise(0.0), "rebalance": every, "leverage": cap}


GRID = {"lookback": [3, 5], "k": [1, 2], "every": ["1w", "1mo", "1q"], "cap": [0.5, 1.0]}


@pytest.mark.parametrize("every", [["1w", "1mo", "1q"], [1, 4, 10]])
def test_rebalance_periods_stay_on_the_compiled_path_as_hidden_leaves(every):
    b = _bars(n_bars=120)
    grid = Grid.build(topk, {**GRID, "every": every})
    indices = list(range(len(grid.combos)))
    s = VectorizedSettings(scope="panel", cash_sharing=True)
    compiled = compile_chunk(topk, b.panel(), grid, indices, 1 << 30, s)
    assert compiled is not None and not isinstance(compiled, int)
    n_sym, n_leaves, n_bars = compiled.values.shape
    values = compiled.values.transpose(1, 0, 2).reshape(n_leaves, -1)
    valid = compiled.valid.transpose(1, 0, 2).reshape(n_leaves, -1)
    plain = evaluate(topk, b.panel(), grid, indices, s)
    for c in indices:
        for key in ("weights", "rebalance", "leverage"):
            got, ok = compiled.programs.evaluate(c, KEYS.index(key), values, valid)
            got = np.where(ok, got, np.nan).reshape(n_sym, n_bars)
            want = plain[key][c * n_sym : (c + 1) * n_sym]
            # where a symbol has no bar the kernel places no order: a literal (valid everywhere) may differ there
            there = _has_bar(b)
            if key == "rebalance":
                np.testing.assert_array_equal(np.nan_to_num(got).astype(bool)[there], want[there])
            else:
                np.testing.assert_array_equal(got[there], want[there])
        every = grid.params(c)["every"]
        first = np.arange(n_bars) % every == 0 if isinstance(every, int) else _expected_first_of_period(b, every)
        np.testing.assert_array_equal(plain["rebalance"][c * n_sym : (c + 1) * n_sym], first & _has_bar(b))


def test_a_sweep_over_lookback_k_period_and_leverage_in_one_call_is_its_runs():
    b = _bars(n_bars=120)
    strategy = VectorizedStrategy(topk, scope="panel", cash_sharing=True, order="auto", fees=0.001)
    sweep = strategy.sweep(b, **GRID)
    assert sweep.metrics.height == 2 * 2 * 3 * 2
    for row in sweep.metrics.iter_rows(named=True):
        params = {k: row[k] for k in GRID}
        want = strategy.run(b, **params).metrics.row(0, named=True)
        for name in ("total_return", "sharpe_ratio", "max_drawdown", "final_equity"):
            assert row[name] == pytest.approx(want[name], rel=1e-12, abs=1e-12, nan_ok=True), (params, name)
    assert sweep.metrics["final_equity"].n_unique() > 1


def test_a_compiled_sweep_checks_the_weights_rule_in_the_kernel():
    """The kernel checks each evaluated weight against its rule (finite) as it evaluates it; a breach names
    the combination, the key, the symbol and the timestamp like the plain path does."""
    universe = synthetic_bars(2, 20, seed=3)

    def scaled(k: float):
        return {"weights": pl.col("close") * 0.0 + k}  # arithmetic: evaluated inside the kernel

    with pytest.raises(ConfigError, match=r"scaled\(k=inf\)\['weights'\] must be finite") as info:
        VectorizedStrategy(scaled, cash_sharing=True).sweep(universe, k=[0.5, math.inf])
    assert (info.value.symbol, info.value.timestamp) == ("A000", universe.frame["ts_event"][0])
