"""Report workloads (issue #14): what a report costs to build, how big its file is, and how long headless
Chromium takes to draw it.

* ``million`` - 1 asset, 1,000,000 one-minute bars (``synthetic_bars``, seed 3), the SMA(10)/SMA(50) crossover
  of ``bench/vectorized.py``'s fee-drained run without fees (at 0.1% its ~27,000 round trips wear the account
  down to dust), ``result.report(path)``; and ``result.plot()`` of the same run (the figure only, nothing written).
* ``sweep`` - the 2,500 combinations of ``bench/vectorized.py``'s sweep (fast 2..51 x slow 10, 14, ..., 206 on
  5,000 daily bars of one asset), ``sweep.report(path)``.
* ``compare`` - 3 symbols x 2,520 daily bars, the crossover (fast 10, slow 50) with 15,000 per entry in one
  shared account, next-open fills, 0.1% fees, against its promotion to the event engine under commission
  (``Percent(0.001)``) and slippage (``Bps(5)``) models: ``ml4t.compare(vectorized, promoted).report(path)``.

Timed: the call named (building every figure and table, writing the file). Not timed: the data, the runs.

``python -m bench report`` times the builds with the other workloads (a fresh interpreter each, best of 3).
``python -m bench.report`` prints the whole table: build time (best of 3), file size, and the render time in
headless Chromium (Debian's ``chromium``, offline; ``tests/report/browser.py``): navigation start to every
figure drawn, on the page's own clock, the median of ``RENDERS`` loads of the same file.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.harness import Workload, workload

MILLION = 1_000_000
SWEEP_BARS = 5_000
SWEEP_FAST, SWEEP_SLOW = range(2, 52), range(10, 210, 4)
COMPARE_SYMBOLS, COMPARE_BARS = 3, 2_520
RENDERS = 5


def _sma_cross(fast: int, slow: int) -> dict[str, Any]:
    import polars as pl

    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s, "exits": f < s}


def million_run() -> Any:
    from ml4t.datasets import synthetic_bars
    from ml4t.vectorized import VectorizedStrategy

    bars = synthetic_bars(n_assets=1, n_bars=MILLION, freq="1m", seed=3)
    return VectorizedStrategy(_sma_cross).run(bars, fast=10, slow=50)


def sweep_2500() -> Any:
    from ml4t.datasets import synthetic_bars
    from ml4t.vectorized import VectorizedStrategy

    bars = synthetic_bars(1, SWEEP_BARS, "1d", seed=1)
    return VectorizedStrategy(_sma_cross, fees=0.001).sweep(bars, fast=SWEEP_FAST, slow=SWEEP_SLOW)


def promotion_comparison() -> Any:
    import ml4t
    import ml4t.costs as costs
    from ml4t.datasets import synthetic_bars
    from ml4t.vectorized import VectorizedStrategy

    bars = synthetic_bars(COMPARE_SYMBOLS, COMPARE_BARS, seed=7)
    strategy = VectorizedStrategy(
        _sma_cross, execution="next_open", fees=0.001, cash_sharing=True, size=15_000, size_type="value"
    )
    vectorized = strategy.run(bars, fast=10, slow=50)
    promoted = strategy.promote(bars, fast=10, slow=50).run(commission=costs.Percent(0.001), slippage=costs.Bps(5))
    return ml4t.compare(vectorized, promoted)


REPORTS: dict[str, tuple[str, int, str, Callable[[], Any]]] = {
    "million": ("report 1M 1m bars", MILLION, "bars", million_run),
    "sweep": ("report sweep 2500 x 5000", len(SWEEP_FAST) * len(SWEEP_SLOW), "combos", sweep_2500),
    "compare": ("report compare 3x2520", COMPARE_SYMBOLS * COMPARE_BARS, "bars", promotion_comparison),
}
"""name -> (table group, items, unit, what the report is of); each object has ``.report(path)``."""


def _report_workload(name: str) -> Workload:
    group, items, unit, make = REPORTS[name]

    def setup() -> tuple[Any, Any]:
        return make(), tempfile.TemporaryDirectory(prefix="ml4t-bench-")  # the folder goes at exit

    def run(state: tuple[Any, Any]) -> Path:
        subject, folder = state
        return Path(subject.report(Path(folder.name) / f"{name}.html"))

    return Workload(setup, run, items=items, unit=unit, group=group, engine="ml4t")


@workload
def report_million() -> Workload:
    return _report_workload("million")


@workload
def report_sweep() -> Workload:
    return _report_workload("sweep")


@workload
def report_compare() -> Workload:
    return _report_workload("compare")


@workload
def plot_million() -> Workload:
    """``result.plot()`` of the 1M-bar run: the figure, downsampled, nothing written."""
    return Workload(
        million_run, lambda result: result.plot(), items=MILLION, unit="bars", group="plot 1M 1m bars", engine="ml4t"
    )


def _best(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> int:
    """Build each report (best of 3), then open it ``RENDERS`` times in headless Chromium; print the table."""
    from tests.report.browser import missing_browser, open_report, start_browser

    missing = missing_browser()
    browser = None if missing else start_browser()
    rows = []
    with tempfile.TemporaryDirectory(prefix="ml4t-bench-") as folder:
        try:
            for name, (group, _, _, make) in REPORTS.items():
                subject = make()
                path = Path(folder) / f"{name}.html"
                try:
                    build, _ = _best(lambda s=subject, p=path: s.report(p))
                except (NotImplementedError, AttributeError) as error:  # a report not written yet
                    rows.append(f"| {group:<26} | not built: {type(error).__name__}: {error}")
                    continue
                size = path.stat().st_size / 1e6
                if browser is None:
                    render, figures = f"no browser ({missing})", ""
                else:
                    seen = [open_report(browser, path) for _ in range(RENDERS)]
                    render = f"{statistics.median(s.render_ms for s in seen):,.0f} ms"
                    figures = str(seen[0].figures)
                rows.append(f"| {group:<26} | {build:>8.2f} s | {size:>7.2f} MB | {render:>10} | {figures:>7} |")
                if name == "million":
                    plot, _ = _best(subject.plot)
                    rows.append(f"| {'plot 1M 1m bars':<26} | {plot:>8.2f} s | {'':>10} | {'':>10} | {'':>7} |")
        finally:
            if browser is not None:
                browser.quit()
    print(f"# ml4t report bench: {RENDERS} loads per render time (median), builds best of 3")
    print(f"| {'report':<26} | {'build':>10} | {'file':>10} | {'render':>10} | figures |")
    print(f"|{'-' * 28}|{'-' * 12}|{'-' * 12}|{'-' * 12}|---------|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
