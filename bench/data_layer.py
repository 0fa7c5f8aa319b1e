"""Data-layer workloads: validating bars and the per-bar cost of the point-in-time view.

The PIT view's per-call cost bounds the event-driven mode's Python strategies (issue #4 targets 300k bars/s
for a Python strategy, about 3 us per bar for everything), so it is measured here from the start.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.harness import Workload, workload


@workload
def data_validate_1m_minute_bars() -> Workload:
    """Validate 1,000,000 one-minute bars of one asset (what `bars(frame)` costs on load)."""
    from ml4t.data import bars
    from ml4t.datasets import synthetic_bars

    def setup() -> Any:
        frame = synthetic_bars(1, 1_000_000, "1m", seed=1).frame
        return frame.drop("ts_arrival").rename({"ts_event": "timestamp"})

    return Workload(setup, bars, items=1_000_000, unit="bars", group="validate 1M 1m bars", engine="ml4t")


@workload
def data_validate_panel() -> Workload:
    """Validate a 100-asset x 2,520-day panel."""
    from ml4t.data import bars
    from ml4t.datasets import synthetic_bars

    def setup() -> Any:
        frame = synthetic_bars(100, 2520, "1d", seed=1).frame
        return frame.drop("ts_arrival").rename({"ts_event": "timestamp"})

    return Workload(setup, bars, items=252_000, unit="bars", group="validate 100x2520 panel", engine="ml4t")


@workload
def data_synthetic_1m() -> Workload:
    """Generate 1,000,000 synthetic one-minute bars (the benchmark and test data source)."""
    from ml4t.datasets import synthetic_bars

    return Workload(
        lambda: None,
        lambda _: synthetic_bars(1, 1_000_000, "1m", seed=1),
        items=1_000_000,
        unit="bars",
        group="synthesize 1M 1m bars",
        engine="ml4t",
    )


@workload
def data_pit_walk() -> Workload:
    """Walk a PIT view bar by bar over 100,000 minute bars, reading latest close and a 50-bar history each
    bar: the access pattern of a Python strategy in the event-driven mode."""
    from ml4t.data import PITData
    from ml4t.datasets import synthetic_bars

    n = 100_000

    def setup() -> Any:
        universe = synthetic_bars(1, n, "1m", seed=2)
        return universe, universe.arrays("A000")["ts_arrival"].tolist()

    def run(state: Any) -> None:
        universe, clock = state
        view = PITData(universe, now=clock[0])
        total = 0.0
        for ts in clock:
            view.advance_to(ts)
            total += view.latest("close", "A000") + float(np.mean(view.history("close", 50, "A000")))

    return Workload(setup, run, items=n, unit="bars", group="PIT walk (latest+history)", engine="ml4t")
