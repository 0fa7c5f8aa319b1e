"""Reports in a real browser: every report kind opens in headless Chromium (offline) with every figure drawn
and no console error (single runs of every kind, a saved result through ``ml4t report``, a 2,500-combination
sweep, a promotion comparison and a 1M-bar run), and the harness that checks it fails when a page breaks any
of those promises.

The harness is ``tests/report/browser.py``; the ``browser`` fixture (``conftest.py``) skips these tests when
Debian's chromium is missing (fails under ``CI``). Also here: an interrupted ``Page.write`` leaves nothing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import polars as pl
import pytest
from tests.report import browser as harness
from tests.report import plot_runs
from tests.report.browser import open_report

import ml4t
import ml4t.costs as costs
from ml4t.datasets import synthetic_bars
from ml4t.report import Html, Page
from ml4t.vectorized import VectorizedStrategy


def _figures() -> list[Any]:
    """One figure of each trace kind the reports draw, plus one with a trace hidden in the legend."""
    return [
        go.Figure(go.Scatter(x=[1, 2, 3], y=[1.0, 3.0, 2.0], name="equity")),
        go.Figure([go.Bar(x=["a", "b"], y=[3, 4]), go.Scatter(x=[1, 2], y=[1, 1], visible="legendonly")]),
        go.Figure(go.Heatmap(z=[[1, 2], [3, None]], x=[5, 10], y=[20, 40])),
        go.Figure(go.Waterfall(x=["costs", "timing", "trades"], y=[-1.0, 0.5, 2.0])),
        go.Figure(go.Candlestick(x=[1, 2], open=[1, 2], high=[2, 3], low=[0.5, 1], close=[1.5, 2.5])),
        go.Figure(go.Scattergl(x=[1, 2, 3], y=[3, 1, 2])),
    ]


def _page(tmp_path: Path, *extra: Any, name: str = "page.html") -> Path:
    page = Page("smoke", "every kind of item").section("figures", *_figures(), note="drawn by plotly")
    page.section(
        "tables",
        pl.DataFrame({"symbol": ["A000", "A001"], "sharpe": [1.25, -0.5]}),
        {"bars": 1000, "fingerprint": "abc123"},
        "a paragraph <escaped>",
        *extra,
    )
    return page.write(tmp_path / name)


# --- the harness -----------------------------------------------------------------------------------------


def test_page_opens_offline_with_every_figure_drawn(browser: Any, tmp_path: Path) -> None:
    path = _page(tmp_path)
    seen = open_report(browser, path)
    assert seen.figures == len(_figures())
    assert seen.severe == []
    assert seen.resources[0] == path.resolve().as_uri()
    assert seen.foreign == []
    assert seen.render_ms > 0


def test_a_script_error_fails(browser: Any, tmp_path: Path) -> None:
    path = _page(tmp_path, Html("<script>throw new Error('ml4t-boom')</script>"))
    with pytest.raises(AssertionError, match=r"console errors: .*ml4t-boom"):
        open_report(browser, path)


def test_a_console_error_fails(browser: Any, tmp_path: Path) -> None:
    path = _page(tmp_path, Html("<script>console.error('ml4t-logged')</script>"))
    with pytest.raises(AssertionError, match="ml4t-logged"):
        open_report(browser, path)


@pytest.mark.parametrize(
    "markup",
    [
        '<img src="https://cdn.example.com/logo.png">',
        '<script src="https://cdn.plot.ly/plotly-3.0.0.min.js"></script>',
        "<script>fetch('http://127.0.0.1:8000/data.json').catch(() => 0)</script>",
        "<script>new WebSocket('ws://live.example.com/feed')</script>",
    ],
)
def test_a_request_for_anything_but_the_file_fails_and_is_blocked(browser: Any, tmp_path: Path, markup: str) -> None:
    path = _page(tmp_path, Html(markup))
    with pytest.raises(AssertionError, match=r"requested resources other than the file: (https?|ws)://") as failed:
        open_report(browser, path)
    assert re.search(r"console errors: .*net::ERR_", str(failed.value))  # blocked, not fetched


def test_a_figure_plotly_never_drew_fails(browser: Any, tmp_path: Path) -> None:
    path = _page(tmp_path, Html("<div class='plot' id='orphan'></div>"))
    with pytest.raises(AssertionError, match=r"6 of 6 figures drawn \(7 div\.plot.*orphan: no \.main-svg"):
        open_report(browser, path, timeout=2)


def test_fewer_figures_than_the_page_declares_fails(browser: Any, tmp_path: Path) -> None:
    path = _page(tmp_path)
    text = path.read_text(encoding="utf-8").replace("data-figures='6'", "data-figures='7'")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AssertionError, match="6 of 7 figures drawn"):
        open_report(browser, path, timeout=2)


def test_a_trace_that_was_not_drawn_fails(browser: Any, tmp_path: Path) -> None:
    # the trace's group node is taken out of the page after plotly drew it
    remove = "<script>document.querySelector('#ml4t-plot-0 g.trace').remove()</script>"
    path = _page(tmp_path, Html(remove))
    with pytest.raises(AssertionError, match='ml4t-plot-0: traces not drawn: scatter "equity" #0'):
        open_report(browser, path, timeout=2)


def test_missing_browser_skips_locally_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setattr(harness, "CHROMEDRIVER", "/nonexistent/chromedriver")  # the same message on every machine
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=re.escape(harness.ENABLE)):
        harness.require_browser()
    monkeypatch.setenv("CI", "true")
    missing = "/nonexistent/chromium, /nonexistent/chromedriver not found"
    with pytest.raises(pytest.fail.Exception, match=re.escape(missing) + ".*CI is set"):
        harness.require_browser()
    monkeypatch.setattr(harness, "CHROMIUM", "/usr/bin/chromium")  # the real ones, when installed
    monkeypatch.setattr(harness, "CHROMEDRIVER", "/usr/bin/chromedriver")
    if os.access("/usr/bin/chromium", os.X_OK) and os.access(harness.CHROMEDRIVER, os.X_OK):
        harness.require_browser()


# --- every report kind ----------------------------------------------------------------------------------

FAST, SLOW = range(2, 52), range(10, 210, 4)  # 50 x 50 = 2,500 combinations


def _sma_cross(fast: int, slow: int) -> dict[str, pl.Expr]:
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s, "exits": f < s}


@pytest.fixture(scope="module")
def sweep() -> Any:
    strategy = VectorizedStrategy(
        _sma_cross, execution="next_open", fees=0.001, cash_sharing=True, sl_stop=0.05, size=25_000, size_type="value"
    )
    return strategy.sweep(synthetic_bars(3, 1000, seed=14), fast=FAST, slow=SLOW)


@pytest.fixture(scope="module")
def runs(sweep: Any) -> dict[str, ml4t.Result]:
    """One combination of the sweep run in full, and promoted to the event engine under realistic costs
    (next open, whole shares, commission and slippage models: a reality gap)."""
    realistic = sweep.promote(fast=10, slow=50).run(commission=costs.Percent(0.001), slippage=costs.Bps(5))
    return {"vectorized": sweep.result(fast=10, slow=50), "event": realistic}


def _opened(browser: Any, path: Path) -> harness.Rendering:
    """Open a report and check what every report promises: figures declared and all drawn, nothing else."""
    seen = open_report(browser, path)
    assert seen.figures > 0
    assert seen.foreign == []
    return seen


@pytest.mark.parametrize("mode", ["vectorized", "event"])
def test_a_single_run_report_renders(browser: Any, runs: dict[str, ml4t.Result], tmp_path: Path, mode: str) -> None:
    _opened(browser, runs[mode].report(tmp_path / "run.html"))


@pytest.mark.parametrize("kind", ["scripted", "with_stops", "portfolio", "ruined", "never_trades", "equity_only"])
def test_every_kind_of_single_run_report_renders(browser: Any, tmp_path: Path, kind: str) -> None:
    """Rejected, cancelled and open orders with stop levels; a stop re-placed every bar; 13 symbols' weights;
    a margin call; no order at all; an equity curve alone (see ``plot_runs.py``)."""
    _opened(browser, getattr(plot_runs, kind)().report(tmp_path / f"{kind}.html"))


@pytest.mark.parametrize("with_bars", [True, False])
def test_the_report_of_a_saved_result_renders(
    browser: Any, runs: dict[str, ml4t.Result], tmp_path: Path, capsys: pytest.CaptureFixture[str], with_bars: bool
) -> None:
    """``ml4t report RESULT_DIR``, with the bars saved and without them (prices from the marks)."""
    from ml4t.cli import main

    folder = runs["event"].save(tmp_path / "run", bars=with_bars)
    assert main(["report", str(folder), "-o", str(tmp_path / "saved.html")]) == 0
    assert capsys.readouterr().out.strip().endswith("saved.html")
    _opened(browser, tmp_path / "saved.html")


def test_a_sweep_report_of_2500_combinations_renders(browser: Any, sweep: Any, tmp_path: Path) -> None:
    assert len(sweep) == 2500
    _opened(browser, sweep.report(tmp_path / "sweep.html"))


def test_a_promotion_comparison_report_renders(browser: Any, runs: dict[str, ml4t.Result], tmp_path: Path) -> None:
    comparison = ml4t.compare(runs["vectorized"], runs["event"])
    _opened(browser, comparison.report(tmp_path / "gap.html"))


MILLION = 1_000_000
EXTRA_BYTES = 4_000_000
"""What a 1M-bar report may add to plotly.js (about 4.8 MB, inlined once): its downsampled series (a few
thousand points each), tables and markup. Drawn in full, one series of a million points alone is ~20 MB."""


@pytest.mark.slow
def test_a_million_bar_report_is_a_few_mb_and_renders(browser: Any, tmp_path: Path) -> None:
    from plotly.offline import get_plotlyjs

    bars = synthetic_bars(n_assets=1, n_bars=MILLION, freq="1m", seed=3)
    # no fees: at 0.1% the ~27,000 round trips of a one-minute crossover would wear the account down to dust
    result = VectorizedStrategy(_sma_cross).run(bars, fast=10, slow=50)
    assert result.equity.height == MILLION  # the full data stays in the Result
    path = result.report(tmp_path / "million.html")
    assert path.stat().st_size <= len(get_plotlyjs().encode()) + EXTRA_BYTES
    _opened(browser, path)


# --- writing ---------------------------------------------------------------------------------------------


def test_a_write_interrupted_halfway_leaves_neither_the_file_nor_a_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (test_page.py interrupts it before the rename; here half the text is on disk when Ctrl-C arrives)
    real_open = open

    class HalfWriter:
        def __init__(self, path: Path, *args: Any, **kwargs: Any) -> None:
            self.file = real_open(path, *args, **kwargs)

        def __enter__(self) -> HalfWriter:
            return self

        def __exit__(self, *exc: object) -> None:
            self.file.close()

        def write(self, text: str) -> int:
            self.file.write(text[: len(text) // 2])
            self.file.flush()
            raise KeyboardInterrupt

    monkeypatch.setattr("ml4t.report._page.open", HalfWriter, raising=False)  # the module's open(): the file
    page = Page("interrupted").section("one", go.Figure(go.Scatter(x=[1, 2], y=[3, 4])))
    with pytest.raises(KeyboardInterrupt):
        page.write(tmp_path / "run.html")
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_rewrite_keeps_the_old_report_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = Page("first").section("one", "the first report").write(tmp_path / "run.html")
    before = target.read_bytes()

    def replace(*args: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("ml4t.report._page.os.replace", replace)
    with pytest.raises(KeyboardInterrupt):
        Page("second").section("two", "the second report").write(target)
    assert list(tmp_path.iterdir()) == [target]
    assert target.read_bytes() == before
