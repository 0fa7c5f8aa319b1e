"""The sweep's results level (issue #16): blocks of combinations stored once simulated, read instead of simulated.

Each test passes its own Store rooted in a temporary folder. The grid ``fast`` (0..19) x ``slow`` (30, 40, 50)
has 60 combinations; with ``BLOCK`` patched to 16 that is four blocks (16, 16, 16, 12), so a chunk size of 10
makes chunks that straddle blocks, and blocks that straddle chunks.
"""

from __future__ import annotations

import tempfile

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.bitwise import assert_same_sweep

import ml4t.vectorized._result_cache as result_cache
from ml4t.cache import CacheWarning, Store
from ml4t.data import bars as make_bars
from ml4t.datasets import synthetic_bars
from ml4t.vectorized import VectorizedStrategy

GRID = {"fast": list(range(2, 22)), "slow": [30, 40, 50]}
BARS = synthetic_bars(3, 200, "1d", seed=7)


def cross(fast: int, slow: int) -> dict[str, pl.Expr]:
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s, "exits": f < s}


def cross_with_a_stop(fast: int, slow: int) -> dict[str, pl.Expr]:
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s, "exits": f < s * 0.98}


@pytest.fixture(autouse=True)
def _small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(result_cache, "BLOCK", 16)


def _sweep(cache, fn=cross, bars=BARS, grid=None, **settings):
    strat = VectorizedStrategy(fn, **settings)
    return strat.sweep(bars, cache=cache, progress=False, chunk_size=10, **(grid or GRID))


def _kernel_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """Record the combinations of every chunk the kernel simulates."""
    calls: list[list[int]] = []
    original = VectorizedStrategy._sweep_programs

    def spy(self, compiled, grid, indices, *args):
        calls.append(list(indices))
        return original(self, compiled, grid, indices, *args)

    monkeypatch.setattr(VectorizedStrategy, "_sweep_programs", spy)
    return calls


@pytest.mark.parametrize("settings", [{}, {"cash_sharing": True, "fees": 0.001, "size": 0.3, "size_type": "percent"}])
def test_cold_and_warm_equal_the_uncached_sweep_and_warm_simulates_nothing(tmp_path, monkeypatch, settings):
    store = Store(tmp_path, max_bytes=1 << 30)
    plain = _sweep(False, **settings)
    cold = _sweep(store, **settings)
    assert plain.cache is None
    assert (cold.cache.results.hits, cold.cache.results.misses) == (0, 4)
    calls = _kernel_calls(monkeypatch)
    warm = _sweep(store, **settings)
    assert calls == []
    assert (warm.cache.results.hits, warm.cache.results.misses) == (4, 0)
    assert (warm.cache.indicators.hits, warm.cache.indicators.misses) == (0, 0)  # no leaf was needed
    for sweep in (cold, warm):
        assert_same_sweep(plain, sweep)
    params = {"fast": 7, "slow": 40}
    assert warm.result(**params).equity.equals(plain.result(**params).equity)
    assert repr(warm).endswith("\ncache: results 4 hits, 0 misses")


def test_an_interrupted_sweep_resumes_from_the_blocks_it_finished(tmp_path, monkeypatch):
    store = Store(tmp_path, max_bytes=1 << 30)
    calls = _kernel_calls(monkeypatch)
    original = VectorizedStrategy._sweep_programs

    def interrupted(self, compiled, grid, indices, *args):
        if indices[0] >= 40:  # chunks 0-9 ... 30-39 ran: blocks 0-15 and 16-31 are whole
            raise KeyboardInterrupt
        return original(self, compiled, grid, indices, *args)

    monkeypatch.setattr(VectorizedStrategy, "_sweep_programs", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _sweep(store)
    assert len(store.entries("results")) == 2 + 1  # two blocks, and the slot that explains misses
    monkeypatch.undo()
    monkeypatch.setattr(result_cache, "BLOCK", 16)
    calls = _kernel_calls(monkeypatch)
    resumed = _sweep(store)
    assert (resumed.cache.results.hits, resumed.cache.results.misses) == (2, 2)
    assert calls == [list(range(32, 42)), list(range(42, 52)), list(range(52, 60))]
    assert_same_sweep(_sweep(False), resumed)


def test_a_changed_setting_misses_every_block_and_says_which(tmp_path):
    store = Store(tmp_path, max_bytes=1 << 30)
    _sweep(store, fees=0.001)
    again = _sweep(store, fees=0.002)
    assert (again.cache.results.hits, again.cache.results.misses) == (0, 4)
    assert set(again.cache.results.reasons) == {"parameters changed: fees 0.001 -> 0.002"}
    assert_same_sweep(_sweep(False, fees=0.002), again)
    assert again.cache.indicators.hits > 0 and again.cache.indicators.misses == 0  # the leaves: read, not computed


def test_a_changed_rule_misses_with_the_expression_named_and_a_renamed_copy_hits(tmp_path):
    store = Store(tmp_path, max_bytes=1 << 30)
    _sweep(store)
    cross_with_a_stop.__qualname__ = cross.__qualname__  # as if `cross` had been edited in its notebook cell
    changed = _sweep(store, fn=cross_with_a_stop)
    assert changed.cache.results.misses == 4
    assert set(changed.cache.results.reasons) == {"expression changed: strategy"}

    def renamed_copy(fast: int, slow: int) -> dict[str, pl.Expr]:
        # the same computation under another name, with a comment: the same key
        f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
        return {"entries": f > s, "exits": f < s}

    same = _sweep(store, fn=renamed_copy)
    assert (same.cache.results.hits, same.cache.results.misses) == (4, 0)


def test_one_changed_price_misses_every_block_and_names_the_row(tmp_path):
    store = Store(tmp_path, max_bytes=1 << 30)
    _sweep(store)
    frame = BARS.frame
    at = frame["ts_event"][130]
    edited = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 130).then(pl.col(c) * 1.01).otherwise(pl.col(c)).alias(c)
        for c in ("open", "high", "low", "close")
    )
    changed = make_bars(edited.drop("ts_arrival"), freq="1d")
    again = _sweep(store, bars=changed)
    assert again.cache.results.misses == 4
    reason = again.cache.results.reasons[0]
    assert reason.startswith("data changed: 1 row of ") and str(at.date()) in reason, reason
    assert_same_sweep(_sweep(False, bars=changed), again)


def test_a_grid_extended_along_its_first_parameter_reads_the_old_blocks(tmp_path):
    store = Store(tmp_path, max_bytes=1 << 30)
    _sweep(store)
    grid = {"fast": [*GRID["fast"], 22, 23, 24, 25], "slow": GRID["slow"]}  # 72 combinations, the first 60 alike
    wider = _sweep(store, grid=grid)
    assert (wider.cache.results.hits, wider.cache.results.misses) == (3, 2)  # blocks 0-47 hit; 48-63, 64-71 new
    assert set(wider.cache.results.reasons) == {"new combinations"}
    assert_same_sweep(_sweep(False, grid=grid), wider)


def test_a_damaged_block_is_warned_about_recomputed_and_the_sweep_equal(tmp_path):
    store = Store(tmp_path, max_bytes=1 << 30)
    _sweep(store)
    blocks = [e for e in store.entries("results") if e.describe and "n" in e.describe]
    path = blocks[0].path
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.warns(CacheWarning, match="damaged"):
        again = _sweep(store)
    assert (again.cache.results.hits, again.cache.results.misses) == (3, 1)
    assert_same_sweep(_sweep(False), again)


STATE: list[float] = [0.0]


def reads_state(fast: int, slow: int) -> dict[str, pl.Expr]:
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s + STATE[0], "exits": f < s}


def test_a_strategy_that_reads_mutable_state_is_simulated_and_says_why(tmp_path):
    store = Store(tmp_path, max_bytes=1 << 30)
    first = _sweep(store, fn=reads_state)
    again = _sweep(store, fn=reads_state)
    for sweep in (first, again):
        report = sweep.cache.results
        assert (report.hits, report.misses, report.uncached) == (0, 0, 1)
        assert "STATE" in report.uncached_reasons[0] and "mutable" in report.uncached_reasons[0]
    assert store.entries("results") == []
    assert_same_sweep(_sweep(False, fn=reads_state), again)


def breakout(fast: int, slow: int) -> dict[str, pl.Expr]:
    high = pl.col("high").rolling_max(slow).shift(1)
    return {"entries": pl.col("close") > high, "exits": pl.col("close") < pl.col("close").rolling_min(fast).shift(1)}


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rule=st.sampled_from([cross, cross_with_a_stop, breakout]),
    options=st.sampled_from(
        [{}, {"fees": 0.001, "execution": "next_open"}, {"cash_sharing": True, "size": 0.2, "size_type": "percent"}]
    ),
    row=st.integers(0, 199),
    factor=st.sampled_from([0.9, 1.05]),
    chunk=st.sampled_from([7, 16, 100]),
)
def test_random_rules_settings_chunks_and_edits_give_the_uncached_sweep(rule, options, row, factor, chunk):
    cols = ("open", "high", "low", "close")
    edited_frame = BARS.frame.drop("ts_arrival").with_columns(
        pl.when(pl.int_range(pl.len()) == row).then(pl.col(c) * factor).otherwise(pl.col(c)).alias(c) for c in cols
    )
    edited = make_bars(edited_frame, freq="1d")
    grid = {"fast": [3, 5, 8], "slow": [20, 30, 40]}
    strat = VectorizedStrategy(rule, **options)

    def run(cache, data):
        return strat.sweep(data, cache=cache, progress=False, chunk_size=chunk, **grid)

    with tempfile.TemporaryDirectory() as root:
        store = Store(root, max_bytes=1 << 30)
        for data in (BARS, BARS, edited, edited, BARS):
            assert_same_sweep(run(False, data), run(store, data))
        assert run(store, edited).cache.results.misses == 0


def eleventh_cross(fast: int, slow: int) -> dict[str, pl.Expr]:
    """Leaves holding the literal 1/11, which Polars' JSON reader reads an ulp off: the sweep takes the plain
    path (Polars evaluates every combination's signal arrays), the path the signals level serves."""
    tenth = pl.col("close") * (1 / 11)
    return {"entries": tenth.rolling_mean(fast) > tenth.rolling_mean(slow), "exits": tenth.rolling_mean(fast) < 0}


def test_the_plain_paths_signal_arrays_are_read_when_only_a_cost_changes(tmp_path, monkeypatch):
    import ml4t.vectorized._strategy as strategy_module

    store = Store(tmp_path, max_bytes=1 << 30)
    cold = _sweep(store, fn=eleventh_cross, fees=0.001)
    assert cold.cache.signals.misses > 0 and cold.cache.indicators.hits == cold.cache.indicators.misses == 0
    evaluated: list[int] = []
    original = strategy_module.evaluate

    def spy(fn, panel, grid, indices, settings):
        evaluated.extend(indices)
        return original(fn, panel, grid, indices, settings)

    monkeypatch.setattr(strategy_module, "evaluate", spy)
    cheaper = _sweep(store, fn=eleventh_cross, fees=0.0005)
    assert evaluated == []
    assert (cheaper.cache.signals.hits, cheaper.cache.signals.misses) == (cold.cache.signals.misses, 0)
    assert (cheaper.cache.results.hits, cheaper.cache.results.misses) == (0, 4)
    assert set(cheaper.cache.results.reasons) == {"parameters changed: fees 0.001 -> 0.0005"}
    monkeypatch.setattr(strategy_module, "evaluate", original)
    assert_same_sweep(_sweep(False, fn=eleventh_cross, fees=0.0005), cheaper)


def test_sweeps_on_other_windows_do_not_explain_each_others_misses(tmp_path):
    """A walk-forward sweeps one strategy on many windows: each window's first miss is "not in the cache", never
    "data changed" against another window (the slots are per data span); an edit inside a window still names
    its row."""
    store = Store(tmp_path, max_bytes=1 << 30)
    ts = BARS.frame["ts_event"].unique().sort()
    early, late = BARS.between(ts[0], ts[120]), BARS.between(ts[60], ts[199])
    for window in (early, late):
        first = _sweep(store, bars=window)
        assert set(first.cache.results.reasons) == {"not in the cache"}
        assert set(first.cache.indicators.reasons) == {"not in the cache"}
    cols = ("open", "high", "low", "close")
    frame = late.frame.drop("ts_arrival")
    edited = make_bars(
        frame.with_columns(
            pl.when(pl.int_range(pl.len()) == 100).then(pl.col(c) * 1.02).otherwise(pl.col(c)).alias(c) for c in cols
        ),
        freq="1d",
    )
    again = _sweep(store, bars=edited)
    assert again.cache.results.reasons[0].startswith("data changed: 1 row of "), again.cache.results.reasons
