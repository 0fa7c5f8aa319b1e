"""``Comparison.plot()``: both equity curves (downsampled, every drawn point a real one), the P&L difference,
and a waterfall whose steps sum to the total final P&L difference (issue #14)."""

from __future__ import annotations

import html
import pickle
import re

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from tests.test_compare import two_runs

import ml4t
from ml4t import costs
from ml4t.data import bars
from ml4t.datasets import synthetic_bars
from ml4t.errors import ConfigError
from ml4t.report._page import table
from ml4t.vectorized import VectorizedStrategy


def sma_cross(fast: int, slow: int) -> dict[str, pl.Expr]:
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s, "exits": f < s}


@pytest.fixture(scope="module")
def gap():
    data = synthetic_bars(1, 400, seed=11)
    strategy = VectorizedStrategy(sma_cross, fees=0.001, init_cash=100_000)
    vectorized = strategy.run(data, fast=5, slow=30)
    realistic = ml4t.promote(strategy, data, fast=5, slow=30).run(
        commission=costs.Percent(0.002), slippage=costs.Bps(10), participation=0.05
    )
    return ml4t.compare(vectorized, realistic)


def test_the_comparison_keeps_both_results_outside_its_repr(gap):
    assert isinstance(gap.a, ml4t.Result) and isinstance(gap.b, ml4t.Result)
    assert gap.a.meta.get("mode") == "vectorized" and gap.b.meta.get("mode") == "event"
    assert "Result(" not in repr(gap)
    again = pickle.loads(pickle.dumps(gap))
    assert again.a.equity.equals(gap.a.equity)


def test_the_waterfall_steps_sum_to_the_total_final_pnl_difference(gap):
    fig = gap.plot()
    (fall,) = [t for t in fig.data if t.type == "waterfall"]
    causes = gap.attribution["cause"].to_list()
    assert list(fall.x) == causes
    assert list(fall.measure) == ["relative"] * (len(causes) - 1) + ["total"]
    assert list(fall.y) == gap.attribution["amount"].to_list()
    steps, total = np.array(fall.y[:-1], dtype=float), float(fall.y[-1])
    # the total, independently: the final equities less the starting cash
    a, b = gap.a, gap.b
    expected = (b.equity["equity"][-1] - b.init_cash) - (a.equity["equity"][-1] - a.init_cash)
    assert total == pytest.approx(expected, rel=1e-12)
    assert steps.sum() == pytest.approx(total, rel=1e-9, abs=1e-6)
    assert np.count_nonzero(steps) >= 3  # commission, slippage and timing all differ in this pair


@settings(max_examples=15, deadline=None)
@given(two_runs())
@pytest.mark.filterwarnings("ignore::ml4t.errors.NoOrdersWarning")  # a sparse random stream may never trade
def test_property_the_waterfall_of_any_two_runs_sums_to_the_gap_the_curves_end_at(pair):
    a, b = pair
    fig = ml4t.compare(a, b).plot()
    (fall,) = [t for t in fig.data if t.type == "waterfall"]
    diff = next(t for t in fig.data if t.type == "scatter" and t.name.startswith("P&L difference"))
    assert sum(fall.y[:-1]) == pytest.approx(fall.y[-1], rel=1e-9, abs=1e-6)
    assert diff.y[-1] == pytest.approx(fall.y[-1], rel=1e-9, abs=1e-6)


def test_both_equity_curves_and_their_difference_are_drawn_from_the_results(gap):
    fig = gap.plot(max_points=40)
    lines = {t.name: t for t in fig.data if t.type == "scatter"}
    a_label, b_label = gap.labels
    assert set(lines) == {f"equity: {a_label}", f"equity: {b_label}", f"P&L difference: {b_label} - {a_label}"}
    for result, label in ((gap.a, a_label), (gap.b, b_label)):
        trace = lines[f"equity: {label}"]
        equity = result.equity
        assert 4 <= len(trace.y) <= 42 < equity.height  # downsampled
        truth = dict(zip(equity["ts_event"].to_list(), equity["equity"].to_list(), strict=True))
        assert all(truth[x] == y for x, y in zip(trace.x, trace.y, strict=True))
        assert max(trace.y) == equity["equity"].max() and min(trace.y) == equity["equity"].min()
        assert trace.x[0] == equity["ts_event"][0] and trace.x[-1] == equity["ts_event"][-1]
    diff = lines[f"P&L difference: {b_label} - {a_label}"]
    assert diff.y[-1] == pytest.approx(gap.attribution["amount"][-1], rel=1e-12)
    joined = gap.a.equity.join(gap.b.equity, on="ts_event", suffix="_b")
    reference = dict(
        zip(
            joined["ts_event"].to_list(),
            (joined["equity_b"] - gap.b.init_cash - (joined["equity"] - gap.a.init_cash)).to_list(),
            strict=True,
        )
    )
    assert all(reference[x] == pytest.approx(y, rel=1e-12) for x, y in zip(diff.x, diff.y, strict=True))


def test_max_points_and_path_are_checked(gap, tmp_path):
    with pytest.raises(ConfigError, match="max_points must be an integer of at least 4") as info:
        gap.plot(max_points=3)
    assert info.value.argument == "max_points"
    with pytest.raises(ConfigError, match="max_points must be an integer"):
        gap.report(tmp_path / "gap.html", max_points=100.0)
    with pytest.raises(ConfigError, match="does not exist") as info:
        gap.report(tmp_path / "missing" / "gap.html")
    assert info.value.argument == "path"
    assert not list(tmp_path.iterdir())


def test_a_run_compared_with_itself_draws_a_flat_gap_and_a_zero_waterfall(gap):
    same = ml4t.compare(gap.a, gap.a)
    fig = same.plot()
    (fall,) = [t for t in fig.data if t.type == "waterfall"]
    assert np.allclose(np.array(fall.y, dtype=float), 0.0)
    diff = next(t for t in fig.data if t.type == "scatter" and t.name.startswith("P&L difference"))
    assert np.allclose(np.array(diff.y, dtype=float), 0.0)


def _sections(text: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r"<section><h2>(.*?)</h2>", text)]


def test_the_report_has_every_section_with_the_comparisons_tables(gap, tmp_path):
    text = gap.report(tmp_path / "gap.html").read_text()
    a, b = gap.labels
    expected = [
        "The two runs",
        "Metrics",
        "Final P&L difference by cause",
        "Equity curves",
        "Order outcomes",
        "Per symbol",
        "Trades",
    ]
    skipped = gap.b.meta["skipped_entries"]
    if skipped.height:
        expected.append(f"Skipped entries: {b}")
    assert _sections(text) == expected
    assert int(re.search(r"data-figures='(\d+)'", text).group(1)) == 2
    assert text.count("Plotly.newPlot(") == 2
    for frame in (gap.table, gap.attribution, gap.orders, gap.symbols):
        assert table(frame) in text  # every row of each table, as the page draws it
    assert gap.a.data_fingerprint in text
    assert html.escape("Percent(rate=0.002)") in text  # b's settings, beside a's
    n = dict(gap.trades["match"].value_counts().iter_rows())
    assert f"{n.get('both', 0):,} trades matched, {n.get('only a', 0):,} only in {a}" in html.unescape(text)


@pytest.mark.filterwarnings("ignore::ml4t.errors.RejectionWarning")  # all-in on a shared account: expected
def test_skipped_entries_get_a_section_when_a_promotion_skipped_some(tmp_path):
    # three symbols' overlapping level flags on one all-in account: the realistic follower skips dust entries
    # (the shape of tests/parity/test_promotion_dust.py)
    base = synthetic_bars(3, 300, seed=4).frame.drop("ts_arrival")
    flips = np.random.default_rng(4).random((3, 300)) < 0.08
    level = (np.cumsum(flips, axis=1) % 2 == 1).T.ravel()
    data = bars(base.with_columns(pl.Series("long", level)))
    strategy = VectorizedStrategy(
        lambda: {"entries": pl.col("long"), "exits": ~pl.col("long")},
        fees=0.001,
        cash_sharing=True,
        init_cash=1e6,
        order="symbol",
    )
    dusty = ml4t.promote(strategy, data).run(commission=costs.Percent(0.001))
    skipped = dusty.meta["skipped_entries"]
    assert skipped.height > 0
    gap = ml4t.compare(strategy.run(data), dusty)
    text = gap.report(tmp_path / "gap.html").read_text()
    assert _sections(text)[-1] == f"Skipped entries: {gap.labels[1]}"
    assert table(skipped) in text
