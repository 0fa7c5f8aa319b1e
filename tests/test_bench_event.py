"""The event-driven bench workloads do the same work in every engine: same entries and exits on the same data.

Small sizes, no timings. The reference is a plain loop over polars rolling means applying the rule the
module docstring of ``bench/event.py`` states.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from bench import event as ev

N_ASSETS, PANEL_BARS, SINGLE_BARS = 3, 400, 3_000


def _reference(bars: Any, fast: int, slow: int) -> tuple[int, int]:
    entries = exits = 0
    for part in bars.frame.partition_by("symbol", maintain_order=True):
        close = part["close"]
        f, s = close.rolling_mean(fast).to_numpy(), close.rolling_mean(slow).to_numpy()
        above, defined = f > s, ~np.isnan(s)
        long = False
        for t in range(1, len(close)):
            if not (defined[t] and defined[t - 1]) or above[t] == above[t - 1]:
                continue
            if above[t] and not long:
                long, entries = True, entries + 1
            elif not above[t] and long:
                long, exits = False, exits + 1
    return entries, exits


@pytest.fixture(scope="module")
def panel() -> Any:
    return ev.panel_bars(N_ASSETS, PANEL_BARS)


@pytest.fixture(scope="module")
def single() -> Any:
    return ev.single_bars(SINGLE_BARS)


def test_frames_hold_the_same_bars(panel: Any) -> None:
    frames = ev.pandas_frames(panel)
    assert len(frames) == N_ASSETS
    assert list(frames[0].columns) == ["Open", "High", "Low", "Close", "Volume"]
    assert frames[0].index.tz is None
    np.testing.assert_array_equal(frames[1]["Close"].to_numpy(), panel.wide("close")["A001"].to_numpy())


def test_the_rule_trades_on_this_data(panel: Any, single: Any) -> None:
    assert _reference(panel, ev.PANEL_FAST, ev.PANEL_SLOW)[0] > N_ASSETS
    assert _reference(single, ev.SINGLE_FAST, ev.SINGLE_SLOW)[0] > 10


def test_backtrader_matches_the_reference(panel: Any, single: Any) -> None:
    pytest.importorskip("backtrader")
    frames = ev.pandas_frames(panel)
    got = ev.backtrader_run(frames, "cross", ev.PANEL_FAST, ev.PANEL_SLOW)
    assert got == _reference(panel, ev.PANEL_FAST, ev.PANEL_SLOW)
    got = ev.backtrader_run(ev.pandas_frames(single), "cross", ev.SINGLE_FAST, ev.SINGLE_SLOW, minutes=True)
    assert got == _reference(single, ev.SINGLE_FAST, ev.SINGLE_SLOW)
    assert ev.backtrader_run(ev.pandas_frames(single), "idle", minutes=True) == (0, 0)


def test_backtesting_py_matches_the_reference(panel: Any, single: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("backtesting")
    monkeypatch.setenv("TQDM_DISABLE", "1")
    got = ev.backtesting_run(ev.pandas_frames(panel), "cross", ev.PANEL_FAST, ev.PANEL_SLOW)
    assert got == _reference(panel, ev.PANEL_FAST, ev.PANEL_SLOW)
    got = ev.backtesting_run(ev.pandas_frames(single), "cross", ev.SINGLE_FAST, ev.SINGLE_SLOW)
    assert got == _reference(single, ev.SINGLE_FAST, ev.SINGLE_SLOW)
    assert ev.backtesting_run(ev.pandas_frames(single), "idle") == (0, 0)


def test_ml4t_matches_the_reference() -> None:
    event = pytest.importorskip("ml4t.event")
    if not hasattr(event, "Engine"):
        pytest.skip("ml4t.event.Engine is not implemented yet")
    panel = ev.panel_bars(N_ASSETS, PANEL_BARS)
    assert ev.ml4t_run(panel, "panel") == _reference(panel, ev.PANEL_FAST, ev.PANEL_SLOW)
    single = ev.single_bars(SINGLE_BARS)
    assert ev.ml4t_run(single, "single") == _reference(single, ev.SINGLE_FAST, ev.SINGLE_SLOW)
    assert ev.ml4t_run(single, "idle") == (0, 0)
