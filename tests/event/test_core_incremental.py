"""``_core.EventEngine`` fed incrementally (``EventEngine.incremental``: bars and signals appended as they
arrive, a watermark, the end of the stream) gives the records of the engine built with the whole stream, for a
scripted strategy driven through the binding; and its refusals are the project's errors, naming the argument
and the timestamp."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from ml4t import _core
from ml4t._kernel.inputs import simulator
from ml4t.errors import ConfigError, DataError
from ml4t.settings import VectorizedSettings

HOUR = 3_600_000_000_000
SETTINGS: dict[str, Any] = {
    "multipliers": np.ones(2),
    "init_cash": 10_000.0,
    "leverage": None,
    "maintenance_margin": None,
    "execution": "next_open",
    "order_latency": 0,
    "participation": None,
    "both_touched": "stop_loss",
    "commission": [("percent", [0.001])],
    "slippage": ("none", []),
    "wake": (True, True, True, True),
}


def stream(n: int = 24, seed: int = 7) -> dict[str, np.ndarray]:
    """Two symbols, hourly, some arrivals shared and one late bar (an older ts_event arriving later)."""
    rng = np.random.default_rng(seed)
    arrival = 10 * HOUR + np.cumsum(rng.integers(0, 3, n)) * HOUR
    ts_event = arrival.copy()
    ts_event[n // 2] -= HOUR  # a late bar
    open_ = 100 + rng.normal(0, 1, n)
    close = open_ + rng.normal(0, 1, n)
    return {
        "ts_event": ts_event.astype(np.int64),
        "ts_arrival": arrival.astype(np.int64),
        "ts_start": (ts_event - HOUR).astype(np.int64),
        "symbol": (np.arange(n) % 2).astype(np.int64),
        "open": open_,
        "high": np.maximum(open_, close) + 0.5,
        "low": np.minimum(open_, close) - 0.5,
        "close": close,
        "volume": np.full(n, 1e4),
        "session": (ts_event // (6 * HOUR)).astype(np.int32),
    }


def decide(core: Any, k: int) -> None:
    """The scripted strategy: its k-th decision (0 = on_start) depends on k and the engine's state only."""
    if k % 3 == 0:
        core.submit(k % 2, (k // 3) % 2 == 0, 5.0, "market", "gtc")
    elif k % 3 == 1:
        core.submit(k % 2, True, 3.0, "limit", "gtc", limit=99.0 + (k % 4) * 0.5)
    elif k % 5 == 2:
        core.schedule(core.now + HOUR // 2)
    else:
        opened = core.open_orders()
        if opened:
            core.cancel(opened[0])


def run_batch(bars: dict[str, np.ndarray], signals: np.ndarray) -> tuple[list[Any], dict[str, Any]]:
    core = _core.EventEngine(**bars, split=None, dividend=None, signal_arrivals=signals, **SETTINGS)
    decide(core, 0)
    steps = []
    while (step := core.step()) is not None:
        steps.append(step)
        decide(core, len(steps))
    assert core.finished and not core.waiting
    return steps, core.results()


def run_chunked(bars: dict[str, np.ndarray], signals: np.ndarray, cuts: list[int]) -> tuple[list[Any], dict[str, Any]]:
    core = _core.EventEngine.incremental(**SETTINGS)
    assert core.now == np.iinfo(np.int64).min
    steps: list[Any] = []
    arrival = bars["ts_arrival"]
    bounds = [0, *cuts, len(arrival)]
    for lo, hi in itertools.pairwise(bounds):
        core.append_bars(**{name: column[lo:hi] for name, column in bars.items()})
        # complete up to the next bar's arrival; the signals that arrive meanwhile come with this chunk
        until = arrival[hi] - 1 if hi < len(arrival) else arrival[-1]
        after = signals > core.watermark if lo else np.ones(len(signals), dtype=bool)
        core.append_signals(signals[after & (signals <= until)])
        if lo == 0:
            decide(core, 0)
        core.advance(int(until))
        while (step := core.step()) is not None:
            for row in range(step[1], step[2]):
                assert arrival[row] <= core.watermark
            steps.append(step)
            decide(core, len(steps))
        assert core.waiting and not core.finished
    core.append_signals(signals[signals > core.watermark])
    core.end()
    while (step := core.step()) is not None:
        steps.append(step)
        decide(core, len(steps))
    assert core.finished and not core.waiting
    return steps, core.results()


@pytest.mark.parametrize("cuts", [[1], [3, 4, 11], [5, 6, 7, 8, 20], list(range(1, 24))])
def test_a_stream_fed_in_chunks_gives_the_batch_records(cuts):
    bars = stream()
    signals = np.array([11 * HOUR, 14 * HOUR + HOUR // 2, 20 * HOUR, 20 * HOUR], dtype=np.int64)
    steps, results = run_batch(bars, signals)
    chunked_steps, chunked = run_chunked(bars, signals, cuts)
    assert chunked_steps == steps
    assert results.keys() == chunked.keys()
    for key, value in results.items():
        if isinstance(value, np.ndarray) and value.dtype.kind in "fiub":
            # bit for bit (NaN and -0.0 included)
            assert (chunked[key].dtype, chunked[key].tobytes()) == (value.dtype, value.tobytes()), key
        elif isinstance(value, np.ndarray):
            assert chunked[key].tolist() == value.tolist(), key
        else:
            assert chunked[key] == value, key
    assert len(results["fill_price"]) > 0 and len(steps) > 10


def test_refusals_are_data_errors_naming_the_argument_and_timestamp():
    bars = stream(4)
    core = _core.EventEngine.incremental(**SETTINGS)
    core.append_bars(**{name: column[:1] for name, column in bars.items()})
    core.advance(int(bars["ts_arrival"][1]))
    with pytest.raises(DataError) as late:
        core.append_bars(**{name: column[1:2] for name, column in bars.items()})
    assert (late.value.argument, late.value.timestamp) == ("bars", bars["ts_arrival"][1])
    with pytest.raises(DataError) as back:
        core.advance(0)
    assert (back.value.argument, back.value.timestamp) == ("watermark", 0)
    with pytest.raises(DataError) as sig:
        core.append_signals(np.array([5, 4], dtype=np.int64) + int(bars["ts_arrival"][-1]))
    assert sig.value.argument == "signals"
    assert core.step() is not None
    assert core.step() is None and core.waiting
    core.end()
    with pytest.raises(DataError, match="ended") as ended:
        core.append_signals(np.array([bars["ts_arrival"][-1] + 1], dtype=np.int64))
    assert ended.value.argument == "signals"
    assert core.step() is None and core.finished and core.watermark == np.iinfo(np.int64).max


def test_a_promoted_strategy_is_refused_on_an_incremental_engine():
    # Its inputs cover the whole stream, which an incremental engine does not hold.
    core = _core.EventEngine.incremental(**SETTINGS)
    prices = np.full((2, 1), 100.0)
    flags = np.zeros((2, 1), dtype=bool)
    none, no_flags = np.zeros((0, 0)), np.zeros((0, 0), dtype=bool)
    signals = (flags, flags, flags, flags, none, none, none, none, no_flags, none)
    with pytest.raises(ConfigError, match="batch engine only") as refused:
        core.promote(simulator(VectorizedSettings()), (prices,) * 4, signals, np.zeros(0, dtype=np.int64))
    assert refused.value.argument == "strategy"
