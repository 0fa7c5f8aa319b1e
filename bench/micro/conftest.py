"""Micro-benchmarks of the hot paths (issue #18), with pytest-benchmark: ``make bench-micro``.

Not part of ``make test`` (pyproject's ``testpaths`` is ``tests``); ``tests/test_bench_micro.py`` runs each
case once, untimed (``--benchmark-disable``), so they keep working. Every case states its rate per unit in
``extra_info`` (saved with the baseline) and in the summary printed at the end of the run.

The baseline is ``bench/micro/.baseline/`` (``make bench-micro-save`` writes it, on the project's machine
kind); ``make bench-micro-compare`` fails when a case's median is slower than the baseline's by more than
the threshold set in the Makefile (see the comment there for how it was chosen from the run-to-run noise).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

_RATES: list[str] = []


@pytest.fixture
def rate(benchmark: Any) -> Iterator[Callable[[int, str, float], None]]:
    """``rate(items, unit, scale)``: after ``benchmark(...)``, records the median time per item (times ``scale``,
    e.g. 1e9 for ns) as ``extra_info[unit]`` and in the end-of-run summary."""
    recorded: list[tuple[int, str, float]] = []
    yield lambda items, unit, scale: recorded.append((items, unit, scale))
    stats = getattr(benchmark, "stats", None)
    for items, unit, scale in recorded:
        benchmark.extra_info["items"] = items
        if stats is None:  # --benchmark-disable: ran once, untimed
            continue
        per_item = stats.stats.median * scale / items
        benchmark.extra_info[unit] = per_item
        _RATES.append(f"{benchmark.name}: {per_item:,.2f} {unit} (median, {items:,} items per call)")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _RATES:
        terminalreporter.section("rates")
        for line in _RATES:
            terminalreporter.write_line(line)
