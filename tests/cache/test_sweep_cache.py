"""The sweep's indicator leaves from the cache (issue #16): same results bit for bit, and honest counts.

Every test passes its own Store rooted in a temporary folder (the user's cache is never touched). The grid
``fast in (5, 10)`` x ``slow in (20, 30)`` of a moving-average cross has four distinct leaves (the four moving
averages), so a sweep looks up 4 entries, each holding its leaf's values on every symbol (three here), in
symbol scope as in panel scope.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import threading
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.bitwise import assert_same_sweep

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
            rows.append((T0 + dt.timedelta(days=i), sym, c, c * 1.01, c * 0.99, c, 1000.0 + (i * 37 + s * 11) % 101))
    return pl.DataFrame(rows, schema=["timestamp", "symbol", "open", "high", "low", "close", "volume"], orient="row")


def _edit(
    frame: pl.DataFrame, symbol: str, row: int, factor: float, cols: tuple[str, ...] = ("open", "high", "low", "close")
) -> pl.DataFrame:
    """``frame`` with one bar of ``symbol`` (its ``row``-th) scaled by ``factor`` (in the columns ``cols``)."""
    index = frame.with_row_index("i").filter(pl.col("symbol") == symbol)["i"][row]
    return frame.with_columns(
        pl.when(pl.int_range(pl.len()) == index).then(pl.col(c) * factor).otherwise(pl.col(c)).alias(c) for c in cols
    )


def cross(fast: int, slow: int) -> dict[str, pl.Expr]:
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s, "exits": f < s}


def cross_volume(fast: int, slow: int) -> dict[str, pl.Expr]:
    """A cross confirmed by volume: leaves that read only ``close`` and leaves that read only ``volume``."""
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    busy = pl.col("volume").rolling_mean(fast) > pl.col("volume").rolling_mean(slow)
    return {"entries": (f > s) & busy, "exits": f < s}


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


def _assert_same_result(a, b, **params) -> None:
    ra, rb = a.result(**params), b.result(**params)
    for name in ("equity", "orders", "fills", "trades", "positions"):
        fa, fb = getattr(ra, name), getattr(rb, name)
        assert isinstance(fa, pl.DataFrame)
        assert fa.equals(fb), name


def _entries(store: Store) -> list[Path]:
    """The leaf entries (not the strategy's slot of descriptions) of ``store``."""
    return [e.path for e in store.entries("indicators") if e.describe and "dtype" in e.describe]


def _leaves(store: Store) -> dict[str, str]:
    """The leaf entries of ``store``: key -> the leaf's plan (JSON text)."""
    return {e.key: e.describe["leaf"] for e in store.entries("indicators") if e.describe and "dtype" in e.describe}


@pytest.mark.parametrize(("scope", "fn", "n"), [("symbol", cross, 4), ("panel", cross_panel, 4)])
def test_cold_then_warm_equal_the_uncached_sweep_and_warm_is_all_hits(tmp_path, scope, fn, n):
    b = bars(_frame())
    store = Store(tmp_path, max_bytes=1 << 30)
    plain = _sweep(fn, b, False, scope)
    cold = _sweep(fn, b, store, scope)
    warm = _sweep(fn, b, store, scope)
    assert plain.cache is None
    assert (cold.cache.indicators.hits, cold.cache.indicators.misses, cold.cache.indicators.uncached) == (0, n, 0)
    assert set(cold.cache.indicators.reasons) == {"not in the cache"}
    assert (warm.cache.indicators.hits, warm.cache.indicators.misses) == (n, 0)
    assert len(_entries(store)) == n
    assert len(store.entries("indicators")) == n + 1  # and one slot of the strategy's leaves' descriptions
    rows = [[120, 120, 120]] if scope == "symbol" else [[360]]  # one entry holds every symbol's rows
    assert {str(e.describe["rows"]) for e in store.entries("indicators") if "rows" in (e.describe or {})} == {
        str(r) for r in rows
    }
    for got in (cold, warm):
        assert_same_sweep(plain, got)
    _assert_same_result(plain, warm, fast=5, slow=30)
    assert repr(warm).splitlines()[-1] == f"cache: indicators {n} hits, 0 misses"


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
            assert_same_sweep(plain, cold)
            assert_same_sweep(plain, warm)
            assert warm.cache.indicators.misses == 0
            assert warm.cache.indicators.hits == cold.cache.indicators.hits + cold.cache.indicators.misses > 0


@pytest.mark.parametrize(("column", "other"), [("close", "volume"), ("volume", "close")])
def test_one_changed_value_misses_exactly_the_leaves_that_read_its_column_and_names_the_row(tmp_path, column, other):
    store = Store(tmp_path, max_bytes=1 << 30)
    first = _sweep(cross_volume, bars(_frame()), store)
    before = _leaves(store)
    reading = {k for k, leaf in before.items() if f'"{column}"' in leaf}
    assert reading and len(reading) < len(before)  # some leaves read it, some do not
    assert all(f'"{other}"' in leaf for k, leaf in before.items() if k not in reading)
    edited = bars(_edit(_frame(), "ALFA", 70, 1.01, cols=(column,)))
    again = _sweep(cross_volume, edited, store)
    assert (again.cache.indicators.hits, again.cache.indicators.misses) == (
        first.cache.indicators.misses - len(reading),
        len(reading),
    )
    added = {k: leaf for k, leaf in _leaves(store).items() if k not in before}
    assert len(added) == len(reading) and all(f'"{column}"' in leaf for leaf in added.values())
    when = (T0 + dt.timedelta(days=70)).isoformat()  # 2024-03-12T21:00:00+00:00
    assert set(again.cache.indicators.reasons) == {f"data changed: 1 row of ALFA from {when}"}
    assert f"{len(reading)} x data changed: 1 row of ALFA from {when}" in repr(again).splitlines()[-1]
    assert_same_sweep(_sweep(cross_volume, edited, False), again)


def test_a_changed_row_of_another_symbol_is_named_without_the_previous_data(tmp_path, monkeypatch):
    """Another process (no previous frames kept): the reason names the symbol's block of rows."""
    from collections import OrderedDict

    import ml4t.cache._reasons as reasons

    store = Store(tmp_path, max_bytes=1 << 30)
    _sweep(cross, bars(_frame()), store)
    monkeypatch.setattr(reasons, "_kept", OrderedDict())
    again = _sweep(cross, bars(_edit(_frame(), "CHAR", 3, 2.0)), store)
    assert (again.cache.indicators.hits, again.cache.indicators.misses) == (0, 4)
    assert set(again.cache.indicators.reasons) == {f"data changed: CHAR in the 120 rows from {T0.isoformat()}"}


def test_panel_scope_misses_every_leaf_when_one_price_changes(tmp_path):
    store = Store(tmp_path, max_bytes=1 << 30)
    _sweep(cross_panel, bars(_frame()), store, "panel")
    edited = bars(_edit(_frame(), "BRAV", 3, 2.0))
    again = _sweep(cross_panel, edited, store, "panel")
    assert (again.cache.indicators.hits, again.cache.indicators.misses) == (0, 4)
    assert all(r.startswith("data changed: ") and "BRAV" in r for r in again.cache.indicators.reasons)


def test_a_changed_window_misses_only_the_leaves_that_use_it(tmp_path):
    store = Store(tmp_path, max_bytes=1 << 30)
    b = bars(_frame())
    _sweep(cross, b, store)
    again = _sweep(cross, b, store, fast=[5, 10], slow=[20, 40])  # the 30-bar average becomes a 40-bar one
    assert (again.cache.indicators.hits, again.cache.indicators.misses) == (3, 1)
    assert again.cache.indicators.reasons == ("not in the cache",)
    assert_same_sweep(_sweep(cross, b, False, fast=[5, 10], slow=[20, 40]), again)


def test_cache_off_touches_no_file(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("ML4T_CACHE_DIR", str(folder))
    b = bars(_frame())
    assert ml4t.cache.settings().enabled is False
    assert _sweep(cross, b, False).cache is None
    assert _sweep(cross, b, None).cache is None  # None follows settings().enabled, off by default
    assert not folder.exists()
    on = _sweep(cross, b, True)  # True: the configured store, here ML4T_CACHE_DIR
    assert on.cache.indicators.misses == 4
    assert len(_entries(ml4t.cache.store())) == 4


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
    assert (again.cache.indicators.hits, again.cache.indicators.misses) == (3, 1)
    assert again.cache.indicators.reasons == ("the entry was not in the cache (evicted, removed or damaged)",)
    assert_same_sweep(_sweep(cross, b, False), again)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _sweep(cross, b, store).cache.indicators.hits == 4  # recomputed and stored again


class _Damaging(Store):
    """A store that damages the first leaf entry it writes, right after writing it (a disk going bad)."""

    lock = threading.Lock()  # a chunk's stores run on threads
    damaged: list[Path]

    def put(self, level, key, frame, *, describe):
        entry = super().put(level, key, frame, describe=describe)
        with self.lock:
            if "dtype" in describe and not getattr(self, "damaged", None):
                data = bytearray(entry.path.read_bytes())
                data[len(data) // 3] ^= 0x5A
                entry.path.write_bytes(bytes(data))
                self.damaged = [entry.path]
        return entry


def test_an_entry_damaged_mid_sweep_is_warned_about_recomputed_and_the_result_equal(tmp_path):
    # one combination per chunk: the later chunks look up the leaves the first one stored, one of them damaged
    store = _Damaging(tmp_path, max_bytes=1 << 30)
    b = bars(_frame())
    with pytest.warns(CacheWarning, match="damaged"):
        got = VectorizedStrategy(cross).sweep(b, cache=store, progress=False, chunk_size=1, **GRID)
    assert got.cache.indicators.misses == 4 + 1 and got.cache.indicators.hits == 2 * 4 - got.cache.indicators.misses
    assert "the entry was not in the cache (evicted, removed or damaged)" in got.cache.indicators.reasons
    assert_same_sweep(_sweep(cross, b, False), got)


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
    assert (got.cache.indicators.hits, got.cache.indicators.misses, got.cache.indicators.uncached) == (
        0,
        4,
        1,
    )  # the 4 averages
    assert "list" in got.cache.indicators.uncached_reasons[0]
    assert_same_sweep(_sweep(noisy, b, False), got)
    assert _sweep(noisy, b, store).cache.indicators.uncached == 1
    first = _sweep(keyed, b, store)
    assert (first.cache.indicators.hits, first.cache.indicators.misses, first.cache.indicators.uncached) == (
        4,
        1,
        0,
    )  # _triple's leaf is new
    assert (_sweep(keyed, b, store).cache.indicators.hits, first.cache.indicators.uncached) == (5, 0)
    assert_same_sweep(_sweep(keyed, b, False), first)


@pytest.mark.parametrize("bad", ["yes", 1, Path(".")])
def test_a_bad_cache_argument_is_a_config_error_naming_it(bad):
    with pytest.raises(ConfigError) as info:
        _sweep(cross, bars(_frame()), bad)
    assert info.value.argument == "cache"


def rebalanced(n: int, every: str) -> dict[str, object]:
    return {"weights": (pl.col("close") > pl.col("close").rolling_mean(n)).cast(pl.Float64) * 0.3, "rebalance": every}


def test_a_leaf_reading_the_rebalance_calendar_is_keyed_by_it_and_the_others_are_not(tmp_path):
    store = Store(tmp_path, max_bytes=1 << 30)
    b = bars(_frame())
    weekly = VectorizedStrategy(rebalanced).sweep(b, cache=store, progress=False, n=[5, 10], every="1w")
    hidden = [e.describe["parts"]["data"] for e in store.entries("indicators") if "dtype" in (e.describe or {})]
    calendar = [data for data in hidden if any(name.startswith("__ml4t_") for name in data)]
    assert len(calendar) == 1 and len(hidden) == weekly.cache.indicators.misses > 1
    monthly = VectorizedStrategy(rebalanced).sweep(b, cache=store, progress=False, n=[5, 10], every="1mo")
    assert (monthly.cache.indicators.hits, monthly.cache.indicators.misses) == (
        weekly.cache.indicators.misses - 1,
        1,
    )  # the averages hit
    plain = VectorizedStrategy(rebalanced).sweep(b, cache=False, progress=False, n=[5, 10], every="1mo")
    assert_same_sweep(plain, monthly)


def test_a_changed_timeline_misses_and_gives_the_uncached_result(tmp_path):
    # 2024-01-08 (row 6) is a Monday: without it the week's first bar is the Tuesday, with it the Monday
    monday = T0 + dt.timedelta(days=6)
    full = _frame()
    before = bars(full.filter(pl.col("timestamp") != monday))
    after = bars(full.filter((pl.col("timestamp") != monday) | (pl.col("symbol") != "ALFA")))
    store = Store(tmp_path, max_bytes=1 << 30)
    cold = VectorizedStrategy(rebalanced).sweep(before, cache=store, progress=False, n=[5, 10], every="1w")
    again = VectorizedStrategy(rebalanced).sweep(after, cache=store, progress=False, n=[5, 10], every="1w")
    assert (again.cache.indicators.hits, again.cache.indicators.misses) == (
        0,
        cold.cache.indicators.misses,
    )  # the rows changed: every leaf misses
    plain = VectorizedStrategy(rebalanced).sweep(after, cache=False, progress=False, n=[5, 10], every="1w")
    assert_same_sweep(plain, again)


@pytest.mark.parametrize(
    ("expr", "read"),
    [
        (pl.col("close").rolling_mean(5), {"close"}),
        (pl.col("close").rank().over("ts_event"), {"close", "ts_event"}),
        (pl.col("close").sort_by("volume").cum_sum(), {"close", "volume"}),
        (pl.col("close").filter(pl.col("high") > 1).mean(), {"close", "high"}),
        (pl.len(), set()),
        (pl.sum_horizontal(pl.all()), None),
        (pl.col("^c.*$").sum(), None),
        (pl.nth(0), None),
        (pl.col(pl.Float64).sum(), None),
    ],
)
def test_the_columns_a_leaf_reads_are_those_of_its_plan_or_every_column_with_a_selector(expr, read):
    from ml4t._kernel.leaf_cache import _columns_read

    assert _columns_read(expr, expr.meta.serialize(format="json")) == read
