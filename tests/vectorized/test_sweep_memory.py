"""The sweep's memory budget: a grid that cannot fit is refused before any work, the chunking is chosen
from the budget, and chunking never changes a result."""

import io
import math
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml4t import ConfigError
from ml4t.datasets import synthetic_bars
from ml4t.vectorized import VectorizedStrategy, _memory, _strategy


class Spy:
    """The kernel, counting the chunks it simulates."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.chunks = 0

    def sweep(self, *args: Any, **kwargs: Any) -> Any:
        self.chunks += 1
        return self.inner.sweep(*args, **kwargs)

    def sweep_programs(self, *args: Any, **kwargs: Any) -> Any:
        self.chunks += 1
        return self.inner.sweep_programs(*args, **kwargs)


def crossover(fast: int, slow: int):
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s, "exits": f < s}


def crossover_plain(fast: int, slow: int):
    """The same rule on the plain Polars path (a NaN literal is not compiled)."""
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s + pl.lit(math.nan).fill_nan(0.0), "exits": f < s}


@pytest.fixture(scope="module")
def universe():
    return synthetic_bars(3, 120, "1d", seed=4)


def spied(fn, **settings):
    strategy = VectorizedStrategy(fn, **settings)
    strategy._simulator = Spy(strategy._simulator)  # type: ignore[assignment]
    return strategy


def test_tiny_budget_refuses_a_big_grid_before_any_work(universe):
    calls = []

    def counted(fast: int, slow: int):
        calls.append((fast, slow))
        return crossover(fast, slow)

    strategy = spied(counted)
    with pytest.raises(ConfigError, match=r"1,000,000 combinations needs at least .* memory_budget is 50 MB") as info:
        strategy.sweep(universe, memory_budget="50MB", fast=range(1000), slow=range(1000, 2000))
    assert info.value.argument == "memory_budget"
    assert calls == [] and strategy._simulator.chunks == 0


def test_a_budget_too_small_for_one_combination_is_refused_before_simulating(universe):
    strategy = spied(crossover)
    with pytest.raises(ConfigError, match=r"per combination simulated at a time") as info:
        strategy.sweep(universe, memory_budget=_memory.FIXED + 1000, fast=[2, 3], slow=[10])
    assert info.value.argument == "memory_budget"
    assert strategy._simulator.chunks == 0


def test_default_budget_is_a_fraction_of_available_memory(universe, monkeypatch):
    monkeypatch.setattr(_strategy, "available_memory", lambda: 2 * _memory.FIXED)
    with pytest.raises(ConfigError, match=r"default memory_budget \(50% of available\) is 33.6 MB"):
        VectorizedStrategy(crossover).sweep(universe, fast=range(300), slow=range(300, 600))


def ipc(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_ipc(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("rule", [crossover, crossover_plain])
@pytest.mark.parametrize("cash_sharing", [False, True])
def test_a_budget_forcing_many_chunks_gives_identical_results(universe, rule, cash_sharing):
    grids = {"fast": [2, 3, 5, 8], "slow": list(range(10, 40, 2))}
    one = spied(rule, cash_sharing=cash_sharing)
    whole = one.sweep(universe, chunk_size=10_000, **grids)
    assert one._simulator.chunks == 1
    n = len(whole)
    rows = 1 if cash_sharing else 4  # a portfolio row and one per symbol
    kept = n * (_memory.KEPT_PER_COMBINATION + rows * _memory.KEPT_PER_ROW)
    panel = 4 * 8 * 3 * universe.frame["ts_event"].n_unique()
    # room for a few combinations (and their signal arrays) at a time
    budget = _memory.FIXED + panel + kept + 60_000
    many = spied(rule, cash_sharing=cash_sharing)
    chunked = many.sweep(universe, memory_budget=budget, **grids)
    assert many._simulator.chunks > 4
    assert ipc(chunked.metrics) == ipc(whole.metrics)


@pytest.mark.parametrize(
    ("text", "expected"), [("4GB", 4 * 10**9), ("512MiB", 512 * 2**20), ("1.5 gb", 1.5e9), (1e6, 10**6), (2048, 2048)]
)
def test_budget_sizes(text, expected):
    assert _memory.parse_budget(text) == expected


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(extra=st.integers(30_000, 3_000_000), plain=st.booleans(), cash_sharing=st.booleans())
def test_property_any_budget_that_fits_gives_the_one_chunk_result(universe, extra, plain, cash_sharing):
    """Property: whatever the budget (hence the chunking), the sweep's metrics are byte-identical."""
    rule = crossover_plain if plain else crossover
    grids = {"fast": [2, 4, 7], "slow": list(range(12, 40, 3))}
    whole = VectorizedStrategy(rule, cash_sharing=cash_sharing).sweep(universe, chunk_size=10_000, **grids)
    rows = 1 if cash_sharing else 4  # a portfolio row and one per symbol
    kept = len(whole) * (_memory.KEPT_PER_COMBINATION + rows * _memory.KEPT_PER_ROW)
    budget = _memory.FIXED + 4 * 8 * 3 * 120 + kept + extra
    chunked = VectorizedStrategy(rule, cash_sharing=cash_sharing).sweep(universe, memory_budget=budget, **grids)
    assert ipc(chunked.metrics) == ipc(whole.metrics)


def test_the_plain_path_estimate_counts_the_keys_returned_and_the_panel_copy():
    """A byte per boolean key and 8 per number key, twice over (three times when Polars holds the whole
    panel at once): weights mode's 3 arrays fit more combinations per chunk than signal mode's 7."""
    kw: dict[str, Any] = {
        "budget": 400 * 10**6,
        "budget_given": True,
        "n_combinations": 10**4,
        "rows_per_combination": 1,
        "n_symbols": 100,
        "n_bars": 2520,
        "plan_bytes": 500,
        "first_leaves": 0,
        "chunk_size": None,
    }
    signal = _memory.plan_sweep(**kw)
    weights = _memory.plan_sweep(**kw, signal_keys=("weights", "rebalance", "leverage"))
    panel = _memory.plan_sweep(**kw, signal_keys=("weights", "rebalance", "leverage"), panel_scope=True)
    per_cell = signal.signal_bytes // (100 * 2520)
    assert signal.plain_chunk == per_cell // (2 * (4 + 3 * 8))
    assert weights.plain_chunk == per_cell // (2 * (1 + 2 * 8))
    assert panel.plain_chunk == per_cell // (3 * (1 + 2 * 8))
    assert panel.signal_bytes == signal.signal_bytes // 2  # the leaves' own share: the copy set aside
