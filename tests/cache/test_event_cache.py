"""The event mode's indicators from the cache (issue #16): same Result bit for bit, honest counts and reasons.

Every test passes its own Store rooted in a temporary folder (the user's cache is never touched). The strategy
below declares three indicators (two moving averages and a boolean), so a run looks up three entries.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ml4t
import ml4t.cache
from ml4t.cache import CacheWarning, Store
from ml4t.cache import _config as cache_config
from ml4t.data import Bars
from ml4t.datasets import synthetic_bars
from ml4t.errors import ConfigError
from ml4t.event import Engine, Strategy
from ml4t.vectorized import VectorizedStrategy

FRAMES = ("orders", "fills", "equity", "positions", "trades")
BARS = synthetic_bars(3, 150, "1d", seed=4)


class Cross(Strategy):
    """Long while the fast average is above the slow one; reads the indicators as bar fields."""

    def __init__(self, fast: int = 5, slow: int = 20) -> None:
        self.fast, self.slow = fast, slow

    def indicators(self) -> dict[str, pl.Expr]:
        close = pl.col("close")
        return {
            "fast": close.rolling_mean(self.fast),
            "slow": close.rolling_mean(self.slow),
            "up": close > close.shift(1),
        }

    def on_bar(self, ctx, bars):
        for bar in bars:
            if bar.fast > bar.slow and bar.up and ctx.position(bar.symbol) == 0:
                ctx.order_target_percent(bar.symbol, 0.3)
            elif bar.fast < bar.slow and ctx.position(bar.symbol) > 0:
                ctx.order_target_percent(bar.symbol, 0.0)


MUTABLE_SCALE = [2.0]


class WithPython(Cross):
    """One indicator through Python code that reads a mutable global: it cannot be keyed soundly."""

    def indicators(self) -> dict[str, pl.Expr]:
        scaled = pl.col("close").map_batches(lambda s: s * MUTABLE_SCALE[0], return_dtype=pl.Float64)
        return {**super().indicators(), "scaled": scaled}


@pytest.fixture(autouse=True)
def _library_default(monkeypatch, tmp_path):
    """The library default (off until configured), with the default directory pointed at a temporary one."""
    monkeypatch.setenv("ML4T_CACHE_DIR", str(tmp_path / "default-cache"))
    cache_config._reset()
    yield
    cache_config._reset()
    assert not (tmp_path / "default-cache").exists()


def _store(tmp_path: Path) -> Store:
    return Store(tmp_path / "cache", max_bytes=10**9)


def _run(data: Bars, strategy: Strategy | None = None, **kwargs) -> tuple[ml4t.Result, Engine]:
    engine = Engine(data, strategy or Cross(), init_cash=100_000.0)
    return engine.run(progress=False, **kwargs), engine


def _same(a: ml4t.Result, b: ml4t.Result) -> None:
    for name in FRAMES:
        assert getattr(a, name).equals(getattr(b, name)), name
    assert a.metrics.equals(b.metrics)


def _edited(index: int, factor: float) -> Bars:
    """BARS with the prices of the frame's row ``index`` (open, high, low, close) scaled by ``factor``."""
    frame, parts = BARS.to_parts()
    at = pl.int_range(pl.len()) == index
    prices = [
        pl.when(at).then(pl.col(c) * factor).otherwise(pl.col(c)).alias(c) for c in ("open", "high", "low", "close")
    ]
    return Bars.from_parts(frame.with_columns(prices), **parts)


def _entries(store: Store) -> int:
    return store.usage()["event"][0]


def test_a_cached_run_is_the_uncached_run_bit_for_bit_and_a_warm_one_hits_everything(tmp_path):
    plain, engine = _run(BARS)
    assert engine.cache is None and not (tmp_path / "cache").exists()
    store = _store(tmp_path)
    cold, engine = _run(BARS, cache=store)
    _same(cold, plain)
    assert engine.cache is not None
    assert (engine.cache.hits, engine.cache.misses, engine.cache.uncached) == (0, 3, 0)
    assert engine.cache.reasons == ("not in the cache",) * 3
    assert _entries(store) == 6  # three indicators, and the slot of each (its last description)
    warm, engine = _run(BARS, cache=store)
    _same(warm, plain)
    assert (engine.cache.hits, engine.cache.misses) == (3, 0)
    assert engine.cache.summary() == "cache: 3 hits, 0 misses"
    assert _entries(store) == 6


def test_an_entry_is_the_indicator_column_only_in_the_bars_row_order(tmp_path):
    store = _store(tmp_path)
    _run(BARS, cache=store)
    reference = BARS.with_indicators(Cross().indicators()).frame
    values = []
    for info in store.entries("event"):
        entry = store.get("event", info.key)
        assert entry is not None
        if entry.frame.width:  # a slot entry is an empty frame holding only a description
            assert entry.frame.columns == ["value"] and entry.frame.height == BARS.frame.height
            values.append(entry.frame["value"])
    assert sorted(v.dtype == pl.Boolean for v in values) == [False, False, True]
    for name in ("fast", "slow", "up"):
        assert sum(v.equals(reference[name].alias("value")) for v in values) == 1, name


def test_one_changed_price_misses_with_the_data_as_reason_and_the_result_follows_the_data(tmp_path):
    store = _store(tmp_path)
    _run(BARS, cache=store)
    frame = BARS.frame
    row = frame.with_row_index("i").filter(pl.col("symbol") == "A001")["i"][70]
    edited = _edited(row, 1.05)
    plain, _ = _run(edited)
    cached, engine = _run(edited, cache=store)
    _same(cached, plain)
    assert (engine.cache.hits, engine.cache.misses) == (0, 3)
    when = BARS.frame["ts_event"][int(row)].strftime("%Y-%m-%dT%H:%M:%S+00:00")
    assert engine.cache.reasons == (f"data changed: 1 row of A001 from {when}",) * 3
    _, engine = _run(BARS, cache=store)  # the original data's entries are still there
    assert (engine.cache.hits, engine.cache.misses) == (3, 0)


def test_a_changed_window_misses_only_that_indicator(tmp_path):
    store = _store(tmp_path)
    _run(BARS, cache=store)
    plain, _ = _run(BARS, Cross(slow=30))
    cached, engine = _run(BARS, Cross(slow=30), cache=store)
    _same(cached, plain)
    assert (engine.cache.hits, engine.cache.misses) == (2, 1)
    assert engine.cache.reasons == ("expression changed: indicator",)


def test_a_damaged_entry_is_warned_about_recomputed_and_replaced(tmp_path):
    store = _store(tmp_path)
    plain, _ = _run(BARS, cache=store)
    victim = next(info for info in store.entries("event") if (info.describe or {}).get("indicator") == "fast")
    data = bytearray(victim.path.read_bytes())
    data[len(data) // 3] ^= 0xFF
    victim.path.write_bytes(bytes(data))
    with pytest.warns(CacheWarning, match="damaged"):
        again, engine = _run(BARS, cache=store)
    _same(again, plain)
    assert (engine.cache.hits, engine.cache.misses) == (2, 1)
    assert engine.cache.reasons == ("the entry was not in the cache (evicted, removed or damaged)",)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, engine = _run(BARS, cache=store)
    assert (engine.cache.hits, engine.cache.misses) == (3, 0)


def test_an_indicator_that_cannot_be_keyed_is_computed_not_cached_and_says_why(tmp_path):
    store = _store(tmp_path)
    plain, _ = _run(BARS, WithPython())
    for expected in ((0, 3), (3, 0)):
        cached, engine = _run(BARS, WithPython(), cache=store)
        _same(cached, plain)
        assert (engine.cache.hits, engine.cache.misses, engine.cache.uncached) == (*expected, 1)
        (reason,) = engine.cache.uncached_reasons
        assert reason.startswith("the indicator `scaled` is not cached: ") and "MUTABLE_SCALE" in reason


def test_the_cache_argument_follows_the_settings_and_refuses_anything_else(tmp_path):
    _, engine = _run(BARS)  # the library default: off
    assert engine.cache is None
    ml4t.cache.configure(dir=tmp_path / "configured")
    _, engine = _run(BARS)
    assert engine.cache is not None and engine.cache.misses == 3
    assert _entries(Store(tmp_path / "configured", max_bytes=10**9)) == 6
    _, engine = _run(BARS, cache=False)
    assert engine.cache is None
    with pytest.raises(ConfigError) as error:
        _run(BARS, cache="yes")
    assert error.value.argument == "cache"
    ml4t.cache.configure(dir=tmp_path / "other", enabled=False)
    _, engine = _run(BARS, cache=True)  # True is the configured store, even when library calls keep it off
    assert engine.cache is not None and engine.cache.misses == 3
    assert _entries(Store(tmp_path / "other", max_bytes=10**9)) == 6


def test_a_promoted_run_is_unaffected_by_the_cache(tmp_path):
    def cross(fast: int, slow: int) -> dict[str, pl.Expr]:
        f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
        return {"entries": f > s, "exits": f < s}

    strategy = VectorizedStrategy(cross, init_cash=100_000.0)
    one = BARS.select(["A000"])
    engine = {"execution": "next_open"}  # with an engine setting: the event-driven follower
    plain = [ml4t.promote(strategy, one, fast=5, slow=20).run(progress=False, **kw) for kw in ({}, engine)]
    ml4t.cache.configure(dir=tmp_path / "configured")
    for kw, reference in zip(({}, engine), plain, strict=True):
        _same(ml4t.promote(strategy, one, fast=5, slow=20).run(progress=False, **kw), reference)
    assert _entries(Store(tmp_path / "configured", max_bytes=10**9)) == 0


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fast=st.integers(2, 8),
    slow=st.integers(9, 30),
    symbol=st.sampled_from(["A000", "A001", "A002"]),
    row=st.integers(0, 149),
    factor=st.floats(0.8, 1.2),
)
def test_property_cached_runs_equal_uncached_ones_over_windows_and_price_edits(fast, slow, symbol, row, factor):
    with tempfile.TemporaryDirectory() as folder:
        store = Store(folder, max_bytes=10**9)
        _run(BARS, Cross(fast, slow), cache=store)  # warm with the original data
        frame = BARS.frame
        edited = _edited(frame.with_row_index("i").filter(pl.col("symbol") == symbol)["i"][row], factor)
        for data in (BARS, edited):
            plain, _ = _run(data, Cross(fast, slow))
            for _ in range(2):
                cached, engine = _run(data, Cross(fast, slow), cache=store)
                _same(cached, plain)
        assert engine.cache is not None and engine.cache.misses == 0
