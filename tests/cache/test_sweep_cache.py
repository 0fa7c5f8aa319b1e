"""The sweep's indicator leaves from the cache (issue #16): same results bit for bit, and honest counts.

Every test passes its own Store rooted in a temporary folder (the user's cache is never touched). The grid
``fast in (5, 10)`` x ``slow in (20, 30)`` of a moving-average cross has four distinct leaves (the four moving
averages), so a symbol-scope sweep of three symbols looks up 12 (leaf, symbol) entries, a panel-scope one 4.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ml4t.cache
from ml4t.cache import CacheWarning, Store
from ml4t.data import bars
from ml4t.errors import ConfigError
from ml4t.vectorized import VectorizedStrategy

T0 = dt.datetime(2024, 1, 2, 21, tzinfo=dt.UTC)
SYMBOLS = ("ALFA", "BRAV", "CHAR")
GRID = {"fast": [5, 10], "slow": [20, 30]}


def _frame(seed: int = 0, n_bars: int = 120) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for s, sym in enumerate(SYMBOLS):
        close = 50.0 * (1 + s) * np.exp(np.cumsum(rng.normal(0, 0.02, n_bars)))
        for i in range(n_bars):
            c = float(close[i])
            rows.append((T0 + dt.timedelta(days=i), sym, c, c * 1.01, c * 0.99, c, 1000.0))
    return pl.DataFrame(rows, schema=["timestamp", "symbol", "open", "high", "low", "close", "volume"], orient="row")


def _edit(frame: pl.DataFrame, symbol: str, row: int, factor: float) -> pl.DataFrame:
    """``frame`` with one bar of ``symbol`` (its ``row``-th) scaled by ``factor`` (open, high, low, close)."""
    index = frame.with_row_index("i").filter(pl.col("symbol") == symbol)["i"][row]
    cols = ("open", "high", "low", "close")
    return frame.with_columns(
        pl.when(pl.int_range(pl.len()) == index).then(pl.col(c) * factor).otherwise(pl.col(c)).alias(c) for c in cols
    )


def cross(fast: int, slow: int) -> dict[str, pl.Expr]:
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s, "exits": f < s}


def cross_panel(fast: int, slow: int) -> dict[str, pl.Expr]:
    f = pl.col("close").rolling_mean(fast).over("symbol")
    s = pl.col("close").rolling_mean(slow).over("symbol")
    return {"entries": f > s, "exits": f < s}


def momentum_rank(fast: int, slow: int) -> dict[str, pl.Expr]:
    score = pl.col("close").pct_change(fast).over("symbol") - pl.col("close").pct_change(slow).over("symbol")
    rank = score.rank().over("ts_event")
    return {"entries": rank >= 2, "exits": rank < 2}


def breakout(fast: int, slow: int) -> dict[str, pl.Expr]:
    high = pl.col("high").rolling_max(slow).shift(1)
    return {"entries": pl.col("close") > high, "exits": pl.col("close") < pl.col("close").rolling_min(fast).shift(1)}


RULES = {"symbol": (cross, breakout), "panel": (cross_panel, momentum_rank)}


@pytest.fixture(autouse=True)
def _leaves_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the leaves: the results level (tests/cache/test_sweep_results.py) is kept out, or a
    warm sweep would read its results and look no leaf up."""
    monkeypatch.setattr(VectorizedStrategy, "_result_cache", lambda *args: None)


def _sweep(fn, b, cache, scope="symbol", **grid):
    return VectorizedStrategy(fn, scope=scope).sweep(b, cache=cache, progress=False, **(grid or GRID))


def _assert_same(a, b) -> None:
    assert a.metrics.equals(b.metrics)
    for name, dtype in a.metrics.schema.items():
        if dtype == pl.Float64:
            assert np.array_equal(
                a.metrics[name].to_numpy().view(np.uint64), b.metrics[name].to_numpy().view(np.uint64)
            )


def _assert_same_result(a, b, **params) -> None:
    ra, rb = a.result(**params), b.result(**params)
    for name in ("equity", "orders", "fills", "trades", "positions"):
        fa, fb = getattr(ra, name), getattr(rb, name)
        assert isinstance(fa, pl.DataFrame)
        assert fa.equals(fb), name


def _entries(store: Store) -> list[Path]:
    """The leaf entries (not the slot entries, whose frames are empty) of ``store``."""
    return [e.path for e in store.entries("indicators") if e.describe and "dtype" in e.describe]


@pytest.mark.parametrize(("scope", "fn", "n"), [("symbol", cross, 12), ("panel", cross_panel, 4)])
def test_cold_then_warm_equal_the_uncached_sweep_and_warm_is_all_hits(tmp_path, scope, fn, n):
    b = bars(_frame())
    store = Store(tmp_path, max_bytes=1 << 30)
    plain = _sweep(fn, b, False, scope)
    cold = _sweep(fn, b, store, scope)
    warm = _sweep(fn, b, store, scope)
    assert plain.cache is None
    assert (cold.cache.hits, cold.cache.misses, cold.cache.uncached) == (0, n, 0)
    assert set(cold.cache.reasons) == {"not in the cache"}
    assert (warm.cache.hits, warm.cache.misses) == (n, 0)
    assert len(_entries(store)) == n
    for got in (cold, warm):
        _assert_same(plain, got)
    _assert_same_result(plain, warm, fast=5, slow=30)
    assert repr(warm).splitlines()[-1] == f"cache: {n} hits, 0 misses"


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scope=st.sampled_from(["symbol", "panel"]),
    rule=st.integers(0, 1),
    seed=st.integers(0, 1000),
    symbol=st.sampled_from(SYMBOLS),
    row=st.integers(0, 119),
    factor=st.sampled_from([0.5, 0.999, 1.001, 2.0]),
)
def test_random_rules_and_edits_give_the_uncached_results(scope, rule, seed, symbol, row, factor):
    fn = RULES[scope][rule]
    before, after = bars(_frame(seed)), bars(_edit(_frame(seed), symbol, row, factor))
    with tempfile.TemporaryDirectory() as folder:
        store = Store(folder, max_bytes=1 << 30)
        for b in (before, after):
            cold, warm, plain = _sweep(fn, b, store, scope), _sweep(fn, b, store, scope), _sweep(fn, b, False, scope)
            _assert_same(plain, cold)
            _assert_same(plain, warm)
            assert warm.cache.misses == 0
            assert warm.cache.hits == cold.cache.hits + cold.cache.misses > 0


def test_one_changed_price_misses_only_that_symbols_leaves_and_names_the_row(tmp_path):
    store = Store(tmp_path, max_bytes=1 << 30)
    _sweep(cross, bars(_frame()), store)
    edited = bars(_edit(_frame(), "ALFA", 70, 1.01))
    again = _sweep(cross, edited, store)
    assert (again.cache.hits, again.cache.misses) == (8, 4)
    when = (T0 + dt.timedelta(days=70)).isoformat()  # 2024-03-12T21:00:00+00:00
    assert set(again.cache.reasons) == {f"data changed: 1 row of ALFA from {when}"}
    assert f"4 x data changed: 1 row of ALFA from {when}" in repr(again).splitlines()[-1]
    _assert_same(_sweep(cross, edited, False), again)


def test_panel_scope_misses_every_leaf_when_one_price_changes(tmp_path):
    store = Store(tmp_path, max_bytes=1 << 30)
    _sweep(cross_panel, bars(_frame()), store, "panel")
    edited = bars(_edit(_frame(), "BRAV", 3, 2.0))
    again = _sweep(cross_panel, edited, store, "panel")
    assert (again.cache.hits, again.cache.misses) == (0, 4)
    assert all(r.startswith("data changed: ") and "BRAV" in r for r in again.cache.reasons)


def test_a_changed_window_misses_only_the_leaves_that_use_it(tmp_path):
    store = Store(tmp_path, max_bytes=1 << 30)
    b = bars(_frame())
    _sweep(cross, b, store)
    again = _sweep(cross, b, store, fast=[5, 10], slow=[20, 40])  # the 30-bar average becomes a 40-bar one
    assert (again.cache.hits, again.cache.misses) == (9, 3)
    _assert_same(_sweep(cross, b, False, fast=[5, 10], slow=[20, 40]), again)


def test_cache_off_touches_no_file(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("ML4T_CACHE_DIR", str(folder))
    b = bars(_frame())
    assert ml4t.cache.settings().enabled is False
    assert _sweep(cross, b, False).cache is None
    assert _sweep(cross, b, None).cache is None  # None follows settings().enabled, off by default
    assert not folder.exists()
    on = _sweep(cross, b, True)  # True: the configured store, here ML4T_CACHE_DIR
    assert on.cache.misses == 12
    assert len(_entries(ml4t.cache.store())) == 12


def test_a_corrupt_entry_is_warned_about_recomputed_and_the_result_equal(tmp_path):
    store = Store(tmp_path, max_bytes=1 << 30)
    b = bars(_frame())
    _sweep(cross, b, store)
    damaged = _entries(store)[0]
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.warns(CacheWarning, match="damaged"):
        again = _sweep(cross, b, store)
    assert (again.cache.hits, again.cache.misses) == (11, 1)
    assert again.cache.reasons == ("the entry was not in the cache (evicted, removed or damaged)",)
    _assert_same(_sweep(cross, b, False), again)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _sweep(cross, b, store).cache.hits == 12  # recomputed and stored again


def _triple(s: pl.Series) -> pl.Series:
    return s * 3.0


def test_a_leaf_with_python_code_is_cached_by_its_code_or_evaluated_with_the_reason(tmp_path):
    seen: list[int] = []  # a mutable list the lambda reads: its result may change, no sound key

    def noisy(fast: int, slow: int) -> dict[str, pl.Expr]:
        f = pl.col("close").map_batches(lambda s: s * (1 + len(seen)), return_dtype=pl.Float64)
        return {"entries": f > pl.col("close").rolling_mean(slow), "exits": f < pl.col("close").rolling_mean(fast)}

    def keyed(fast: int, slow: int) -> dict[str, pl.Expr]:
        f = pl.col("close").map_batches(_triple, return_dtype=pl.Float64)
        return {"entries": f > pl.col("close").rolling_mean(slow), "exits": f < pl.col("close").rolling_mean(fast)}

    store = Store(tmp_path, max_bytes=1 << 30)
    b = bars(_frame())
    got = _sweep(noisy, b, store)
    assert (got.cache.hits, got.cache.misses, got.cache.uncached) == (0, 12, 1)  # the 4 averages x 3 symbols
    assert "list" in got.cache.uncached_reasons[0]
    _assert_same(_sweep(noisy, b, False), got)
    assert _sweep(noisy, b, store).cache.uncached == 1
    first = _sweep(keyed, b, store)
    assert (first.cache.hits, first.cache.misses, first.cache.uncached) == (12, 3, 0)  # _triple's leaf is new
    assert (_sweep(keyed, b, store).cache.hits, first.cache.uncached) == (15, 0)
    _assert_same(_sweep(keyed, b, False), first)


@pytest.mark.parametrize("bad", ["yes", 1, Path(".")])
def test_a_bad_cache_argument_is_a_config_error_naming_it(bad):
    with pytest.raises(ConfigError) as info:
        _sweep(cross, bars(_frame()), bad)
    assert info.value.argument == "cache"


def weekly(n: int) -> dict[str, object]:
    return {"weights": (pl.col("close") > pl.col("close").rolling_mean(n)).cast(pl.Float64) * 0.3, "rebalance": "1w"}


def test_a_leaf_reading_the_rebalance_calendar_misses_when_the_timeline_changes_not_the_symbols_rows(tmp_path):
    # 2024-01-08 (row 6) is a Monday: without it the week's first bar is the Tuesday, with it the Monday. ALFA
    # never has that bar, so its rows are the same in both; its rebalance days (on the common timeline) are not.
    monday = T0 + dt.timedelta(days=6)
    full = _frame()
    before = bars(full.filter(pl.col("timestamp") != monday))
    after = bars(full.filter((pl.col("timestamp") != monday) | (pl.col("symbol") != "ALFA")))
    store = Store(tmp_path, max_bytes=1 << 30)
    cold = VectorizedStrategy(weekly).sweep(before, cache=store, progress=False, n=[5, 10])
    per_symbol = cold.cache.misses // 3
    again = VectorizedStrategy(weekly).sweep(after, cache=store, progress=False, n=[5, 10])
    # ALFA's averages hit, its rebalance leaf misses; BRAV and CHAR gained a bar: all theirs miss
    assert (again.cache.hits, again.cache.misses) == (per_symbol - 1, 2 * per_symbol + 1)
    plain = VectorizedStrategy(weekly).sweep(after, cache=False, progress=False, n=[5, 10])
    _assert_same(plain, again)
