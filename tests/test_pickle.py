"""A strategy, a sweep and the settings travel to another process: pickled here, unpickled in a fresh
interpreter (``multiprocessing`` spawn context), they give the identical run and sweep. The compiled simulator
is not pickled; it is rebuilt from the declared settings on unpickle."""

import multiprocessing
import pickle

import pytest

from ml4t.datasets import synthetic_bars
from ml4t.demo import sma_cross
from ml4t.vectorized import VectorizedStrategy


def _in_child(payload: bytes) -> bytes:
    """Runs in a fresh interpreter: unpickle the strategy and the sweep, rerun both, send back the results."""
    strategy, sweep, bars = pickle.loads(payload)
    run = strategy.run(bars, fast=3, slow=8)
    again = strategy.sweep(bars, fast=[2, 3], slow=[8, 12])
    return pickle.dumps((run.equity, run.orders, again.metrics, sweep.metrics, sweep.result(fast=3, slow=12).equity))


@pytest.fixture(scope="module")
def scenario():
    bars = synthetic_bars(3, 120, "1d", seed=11)
    strategy = VectorizedStrategy(sma_cross, execution="next_open", fees=0.001, sl_stop=0.05)
    return strategy, strategy.sweep(bars, fast=[2, 3], slow=[8, 12]), bars


def test_a_strategy_and_a_sweep_round_trip_through_a_spawned_process(scenario):
    strategy, sweep, bars = scenario
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        got = pickle.loads(pool.apply(_in_child, (pickle.dumps(scenario),)))
    equity, orders, metrics, shipped_metrics, shipped_result = got
    run = strategy.run(bars, fast=3, slow=8)
    assert equity.equals(run.equity)
    assert orders.equals(run.orders)
    assert metrics.equals(sweep.metrics)
    assert shipped_metrics.equals(sweep.metrics)
    assert shipped_result.equals(sweep.result(fast=3, slow=12).equity)


def test_unpickling_rebuilds_the_simulator_from_the_settings(scenario):
    strategy, _, _ = scenario
    state = strategy.__getstate__()
    assert set(state) == {"signal_fn", "settings"}  # the description, not the Rust handle
    copy = pickle.loads(pickle.dumps(strategy))
    assert copy.settings == strategy.settings
    assert copy._simulator is not strategy._simulator
