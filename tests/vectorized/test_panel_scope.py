"""``scope="panel"``: the signal expressions see the long frame of all symbols, cross-sections included.

Every cross-sectional value (rank, top-k, z-score, sector-neutral score, a time-series momentum ranked
across symbols) is checked cell by cell against a plain-Python computation per date; the compiled sweep
path is checked against strategies that read those hand-computed values as bar columns in symbol scope.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.parity.test_promotion import assert_same_run

import ml4t
from ml4t._kernel.signals import Grid, compile_chunk, evaluate
from ml4t.data import bars
from ml4t.errors import ConfigError
from ml4t.settings import VectorizedSettings
from ml4t.vectorized import VectorizedStrategy

T0 = dt.datetime(2024, 1, 2, 21, tzinfo=dt.UTC)
SECTORS = {"AAA": "tech", "BBB": "tech", "CCC": "energy", "DDD": "energy", "EEE": "tech", "FFF": "energy"}
PANEL = VectorizedSettings(scope="panel")


def _frame(seed: int, n_bars: int = 40, gaps: bool = True) -> pl.DataFrame:
    """Six symbols with random closes (ties possible); with ``gaps``, BBB lists late, DDD delists early and
    FFF misses some bars."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_bars):
        for sym in SECTORS:
            if gaps and (
                (sym == "BBB" and i < 5) or (sym == "DDD" and i >= n_bars - 7) or (sym == "FFF" and i % 4 == 2)
            ):
                continue
            close = float(rng.integers(20, 40))  # integers: ties in the ranks
            rows.append((T0 + dt.timedelta(days=i), sym, close, close + 1, close - 1, close, 1000.0, SECTORS[sym]))
    schema = ["timestamp", "symbol", "open", "high", "low", "close", "volume", "sector"]
    return pl.DataFrame(rows, schema=schema, orient="row")


def _by_date(frame: pl.DataFrame) -> dict[dt.datetime, dict[str, dict]]:
    out: dict[dt.datetime, dict[str, dict]] = {}
    for row in frame.iter_rows(named=True):
        out.setdefault(row["timestamp"], {})[row["symbol"]] = row
    return out


def _average_rank(values: dict[str, float], descending: bool = False) -> dict[str, float]:
    """Polars' default rank ("average": ties share the mean of their positions), written out."""
    sign = -1 if descending else 1
    return {
        k: sum(sign * w < sign * v for w in values.values()) + (sum(w == v for w in values.values()) + 1) / 2
        for k, v in values.items()
    }


def _cells(b, expected: dict[tuple[dt.datetime, str], float], n_combos: int = 1, combo: int = 0) -> np.ndarray:
    """The expected ``(n_symbols, n_bars)`` block of one combination: NaN where a symbol has no bar."""
    panel = b.panel()
    timeline = panel.ts.to_list()
    out = np.full((len(panel.symbols), len(timeline)), np.nan)
    for (ts, sym), v in expected.items():
        out[panel.symbols.index(sym), timeline.index(ts)] = v
    return out


def _evaluate(fn, b, **params):
    return evaluate(fn, b.panel(), Grid.build(fn, params), [0], PANEL)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**16), st.integers(1, 4), st.booleans())
def test_cross_sections_are_the_values_computed_per_date(seed, k, gaps):
    frame = _frame(seed, gaps=gaps)
    b = bars(frame)

    def rule(k):
        score = pl.col("close")
        z = (score - score.mean().over("ts_event")) / score.std().over("ts_event")
        return {
            "entries": score.rank(descending=True).over("ts_event") <= k,  # top k
            "exits": score.rank().over("ts_event") <= 1,
            "size": score.rank().over("ts_event"),
            "sl_stop": (z.abs() + 1).fill_nan(None) / 10,  # a z-score, as a number key
            "tp_stop": score - score.mean().over("ts_event", "sector") + 100,  # sector-neutral
        }

    got = _evaluate(rule, b, k=k)
    top, bottom, rank, z, neutral = {}, {}, {}, {}, {}
    for ts, day in _by_date(frame).items():
        closes = {s: r["close"] for s, r in day.items()}
        down, up = _average_rank(closes, descending=True), _average_rank(closes)
        mean = statistics.fmean(closes.values())
        sd = statistics.stdev(closes.values()) if len(closes) > 1 else math.nan
        for s, c in closes.items():
            top[ts, s], bottom[ts, s], rank[ts, s] = down[s] <= k, up[s] <= 1, up[s]
            zs = (c - mean) / sd if sd > 0 else math.nan
            z[ts, s] = (abs(zs) + 1) / 10
            peers = [v for p, v in closes.items() if SECTORS[p] == SECTORS[s]]
            neutral[ts, s] = c - statistics.fmean(peers) + 100
    np.testing.assert_array_equal(got["entries"], np.nan_to_num(_cells(b, top)).astype(bool))
    np.testing.assert_array_equal(got["exits"], np.nan_to_num(_cells(b, bottom)).astype(bool))
    np.testing.assert_array_equal(got["size"], _cells(b, rank))
    np.testing.assert_allclose(got["sl_stop"], _cells(b, z), rtol=1e-12)
    np.testing.assert_allclose(got["tp_stop"], _cells(b, neutral), rtol=1e-12)


def test_a_time_series_over_symbol_then_a_rank_across_symbols():
    frame = _frame(3)
    b = bars(frame)

    def momentum(lookback):
        mom = pl.col("close") / pl.col("close").shift(lookback).over("symbol") - 1
        return {"entries": mom.rank(descending=True).over("ts_event") <= 2, "size": mom}

    got = _evaluate(momentum, b, lookback=3)
    moms: dict[tuple[dt.datetime, str], float] = {}
    for sym in SECTORS:  # each symbol's own rows: the shift counts its bars, not the timeline's
        own = [r for r in frame.iter_rows(named=True) if r["symbol"] == sym]
        for j, r in enumerate(own):
            if j >= 3:
                moms[r["timestamp"], sym] = r["close"] / own[j - 3]["close"] - 1
    np.testing.assert_allclose(got["size"], _cells(b, moms), rtol=1e-12)
    top = {}
    for ts in {t for t, _ in moms}:
        day = {s: v for (t, s), v in moms.items() if t == ts}
        # a null momentum (warm-up) is not ranked: Polars ranks nulls as null
        top |= {(ts, s): r <= 2 for s, r in _average_rank(day, descending=True).items()}
    np.testing.assert_array_equal(got["entries"], np.nan_to_num(_cells(b, top)).astype(bool))


def test_the_long_layout_maps_every_row_to_its_cell():
    b = bars(_frame(1))
    panel = b.panel()
    assert panel.long.equals(b.frame)  # the canonical frame, sorted by (ts_event, symbol)
    keys = list(zip(panel.long["ts_event"].to_list(), panel.long["symbol"].to_list(), strict=True))
    assert keys == sorted(keys)
    timeline = panel.ts.to_list()
    for (ts, sym), s, j in zip(keys, panel.long_symbol, panel.long_bar, strict=True):
        assert panel.symbols[s] == sym and timeline[j] == ts
    assert b.panel() is panel  # built once per Bars


def test_symbol_scope_refuses_a_window_over_ts_event_and_points_to_panel_scope():
    b = bars(_frame(2))
    for expr in (
        pl.col("close").rank().over("ts_event") <= 2,
        (pl.col("close") - pl.col("close").mean().over(["ts_event", "sector"])) > 0,
        pl.col("close").rank().over(pl.col("ts_event").dt.date()) <= 2,
    ):
        with pytest.raises(ConfigError, match="scope='panel'") as info:
            VectorizedStrategy(lambda e=expr: {"entries": e}).run(b)
        assert info.value.argument == "scope"
    # a window over the symbol, or a plain ts_event read, is fine in symbol scope (no warning either: it trades)
    ok = VectorizedStrategy(
        lambda: {
            "entries": (pl.col("close") > pl.col("close").shift(1).over("symbol")) & (pl.col("ts_event").dt.day() > 0),
            "exits": pl.col("close") < pl.col("close").shift(1),
        }
    )
    assert ok.run(b).orders.height > 0


def _momentum(frame: pl.DataFrame, lookback: int) -> dict[tuple[dt.datetime, str], float]:
    """Each symbol's return over its own last ``lookback`` bars, by hand."""
    out = {}
    for sym in SECTORS:
        own = [r for r in frame.iter_rows(named=True) if r["symbol"] == sym]
        out |= {
            (r["timestamp"], sym): r["close"] / own[j - lookback]["close"] - 1
            for j, r in enumerate(own)
            if j >= lookback
        }
    return out


def test_panel_scope_runs_like_symbol_scope_on_the_hand_computed_columns():
    """The momentum top-k rule, once as a panel expression and once reading the hand-computed top-k flags
    as bar columns in symbol scope: identical orders in run(), identical metrics in a compiled sweep over
    the lookback and k in one call."""
    frame = _frame(7, n_bars=60)
    cols = []
    for lookback in (2, 5):
        mom = _momentum(frame, lookback)
        for k in (1, 3):
            top = {}
            for ts in {t for t, _ in mom}:
                day = {s: v for (t, s), v in mom.items() if t == ts}
                top |= {(ts, s): r <= k for s, r in _average_rank(day, descending=True).items()}
            values = [top.get((r["timestamp"], r["symbol"])) for r in frame.iter_rows(named=True)]
            cols.append(pl.Series(f"top{lookback}_{k}", values, dtype=pl.Boolean))
    b = bars(frame.with_columns(cols))
    kw = {"cash_sharing": True, "order": "symbol", "size": 10.0, "fees": 0.001}

    def ranked(lookback, k):
        mom = pl.col("close") / pl.col("close").shift(lookback).over("symbol") - 1
        top = mom.rank(descending=True).over("ts_event") <= k
        return {"entries": top, "exits": ~top}

    def given_flags(lookback, k):
        return {"entries": pl.col(f"top{lookback}_{k}"), "exits": ~pl.col(f"top{lookback}_{k}")}

    panel_rule = VectorizedStrategy(ranked, scope="panel", **kw)
    flag_rule = VectorizedStrategy(given_flags, **kw)
    assert panel_rule.run(b, lookback=5, k=3).orders.equals(flag_rule.run(b, lookback=5, k=3).orders)
    grid = {"lookback": [2, 5], "k": [1, 3]}
    compiled = compile_chunk(ranked, b.panel(), Grid.build(ranked, grid), [0, 1, 2, 3], 1 << 30, PANEL)
    assert compiled is not None and not isinstance(compiled, int)  # the sweep below takes the compiled path
    a = panel_rule.sweep(b, **grid).metrics
    assert a.equals(flag_rule.sweep(b, **grid).metrics)
    assert a["trade_count"].min() > 0


def test_nested_windows_are_lifted_once_and_innermost_first():
    frame = _frame(5)
    b = bars(frame)
    ret = pl.col("close").pct_change().over("symbol")
    vol = ret.rolling_std(3).over("symbol")  # a window over a window over the symbol (two levels)

    def fn():
        z = (vol - vol.mean().over("ts_event")) / vol.std().over("ts_event")
        return {"entries": z > 0, "size": z.fill_nan(None) + 10}

    got = _evaluate(fn, b)
    # the same in explicit steps on the whole frame
    steps = (
        b.frame.with_columns(ret=pl.col("close").pct_change().over("symbol"))
        .with_columns(vol=pl.col("ret").rolling_std(3).over("symbol"))
        .with_columns(z=(pl.col("vol") - pl.col("vol").mean().over("ts_event")) / pl.col("vol").std().over("ts_event"))
    )
    want = {(r["ts_event"], r["symbol"]): r["z"] for r in steps.iter_rows(named=True) if r["z"] is not None}
    want = {k: v + 10 for k, v in want.items() if not math.isnan(v)}
    np.testing.assert_allclose(got["size"], _cells(b, want), rtol=1e-12)
    assert np.isfinite(got["size"]).sum() > 50


def test_a_panel_scope_error_names_no_single_symbol_but_a_bad_number_names_its_cell():
    frame = _frame(4)
    b = bars(frame)
    # size <= 0 on one cell: the error names that cell's symbol and timestamp
    fn = lambda: {  # noqa: E731
        "entries": pl.col("close") > 0,
        "size": pl.when((pl.col("symbol") == "CCC") & (pl.col("ts_event") == T0 + dt.timedelta(days=9)))
        .then(-1.0)
        .otherwise(pl.col("close").rank().over("ts_event")),
    }
    with pytest.raises(ConfigError) as info:
        VectorizedStrategy(fn, scope="panel").run(b)
    assert info.value.symbol == "CCC" and info.value.timestamp == T0 + dt.timedelta(days=9)
    with pytest.raises(ConfigError, match="must be boolean") as info:
        VectorizedStrategy(lambda: {"entries": pl.col("close").rank().over("ts_event")}, scope="panel").run(b)
    assert info.value.argument == "entries"


def test_a_nested_window_that_cannot_be_lifted_is_an_error_not_a_silent_null():
    b = bars(_frame(6))
    nan = pl.lit(float("nan")).fill_nan(0.0)  # a NaN literal does not survive Polars' JSON
    fn = lambda: {"entries": (pl.col("close").shift(1).over("symbol") + nan).rank().over("ts_event") <= 2}  # noqa: E731
    with pytest.raises(ConfigError, match="NaN or infinite literal") as info:
        VectorizedStrategy(fn, scope="panel").run(b)
    assert info.value.argument == "signals"
    # not nested: evaluated as written, NaN literal and all
    flat = lambda: {"entries": (pl.col("close") + nan).rank().over("ts_event") <= 2}  # noqa: E731
    assert VectorizedStrategy(flat, scope="panel").run(b).orders.height > 0


def test_a_panel_scope_strategy_promotes_with_its_own_scope():
    """Promotion evaluates the signals with the strategy's settings: the momentum top-k in panel scope runs
    on the event engine exactly as in the vectorized run (without its scope it would be refused)."""
    b = bars(_frame(8, n_bars=50, gaps=False))

    def ranked(lookback, k):
        mom = pl.col("close") / pl.col("close").shift(lookback).over("symbol") - 1
        top = mom.rank(descending=True).over("ts_event") <= k
        return {"entries": top, "exits": ~top}

    strategy = VectorizedStrategy(ranked, scope="panel", cash_sharing=True, size=5.0, fees=0.001)
    vectorized = strategy.run(b, lookback=3, k=2)
    assert vectorized.fills.height > 10
    assert_same_run(vectorized, ml4t.promote(strategy, b, lookback=3, k=2).run())


def test_float_literals_of_a_lifted_expression_keep_their_exact_value():
    """Polars' JSON reader lands some float literals an ulp off (1 / 11): the lifted expression still computes
    with the value written, for every 1 / k weight of a top-k."""
    b = bars(_frame(9, n_bars=12, gaps=False))

    def fn(k):
        mom = pl.col("close") / pl.col("close").shift(2).over("symbol") - 1
        top = mom.rank("ordinal", descending=True).over("ts_event") <= 3
        return {"entries": top, "size": pl.when(top).then(1.0 / k)}

    for k in range(1, 60):
        size = _evaluate(fn, b, k=k)["size"]
        assert set(np.unique(size[~np.isnan(size)])) == {1.0 / k}, k


def test_a_cast_of_a_lifted_expression_is_staged_like_any_other():
    """A cast's dtype serializes as ``{"Literal": "Float64"}``, not a float literal to keep exact (staging it
    used to raise AttributeError)."""
    b = bars(_frame(4, n_bars=12))
    mom = pl.col("close") / pl.col("close").shift(2).over("symbol") - 1
    ranked = mom.rank().over("ts_event")
    cast = _evaluate(lambda: {"weights": ranked.cast(pl.Float64)}, b)["weights"]
    np.testing.assert_array_equal(cast, _evaluate(lambda: {"weights": ranked}, b)["weights"])
