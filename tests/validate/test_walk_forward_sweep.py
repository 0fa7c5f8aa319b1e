"""``walk_forward_sweep``: re-optimise a vectorized strategy on each training window, trade the winner on the
following test block, and report the out-of-sample record per fold and stitched.

Checked against a slow reference written plainly here (every combination run with ``strategy.run`` on the
training window, the best picked by hand, the winner run on the history up to the test block's end, its
returns sliced from the ``Result``), against ``ml4t.metrics`` on the stitched returns, and by a Hypothesis
property over random grids and split layouts.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import warnings
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ml4t.data
from ml4t import metrics as m
from ml4t.datasets import synthetic_bars
from ml4t.errors import ConfigError, InsolvencyWarning, LeakageError, NoOrdersWarning
from ml4t.validate import Split, WalkForwardResult, cpcv, walk_forward, walk_forward_sweep
from ml4t.vectorized import VectorizedStrategy

BARS = synthetic_bars(2, 220, seed=5)


def crossover(fast: int, slow: int) -> dict[str, pl.Expr]:
    c = pl.col("close")
    return {
        "entries": c.rolling_mean(fast) > c.rolling_mean(slow),
        "exits": c.rolling_mean(fast) < c.rolling_mean(slow),
    }


# --- splits built by hand (only their time bounds matter here) ---------------------------------------------


def _stamps(bars: ml4t.data.Bars) -> list[dt.datetime]:
    return bars.frame["ts_event"].unique(maintain_order=True).to_list()


def _rows(bars: ml4t.data.Bars, lo: dt.datetime, hi: dt.datetime) -> np.ndarray:
    event = bars.frame["ts_event"]
    out = np.flatnonzero(((event >= lo) & (event <= hi)).to_numpy()).astype(np.int64)
    out.setflags(write=False)
    return out


def split(bars: ml4t.data.Bars, index: int, train: tuple[int, int], test: tuple[int, int]) -> Split:
    """The split whose training rows are the bars of timestamps ``train[0] .. train[1] - 1`` and whose test
    block is timestamps ``test[0] .. test[1] - 1`` (numbers of distinct timestamps)."""
    ts = _stamps(bars)
    train_start, train_end = ts[train[0]], ts[train[1] - 1]
    test_start, test_end = ts[test[0]], ts[test[1] - 1]
    return Split(
        index=index,
        train=_rows(bars, train_start, train_end),
        test=_rows(bars, test_start, test_end),
        train_start=train_start,
        train_end=train_end,
        test_start=test_start,
        test_end=test_end,
        label_end=train_end,
        ready=train_end,
    )


def layout(bars: ml4t.data.Bars, train: int, test: int, step: int, *, expanding: bool = False) -> list[Split]:
    """Rolling (or expanding) walk-forward splits over the bars' timestamps."""
    n, out, start = len(_stamps(bars)), [], 0
    while start + train + test <= n:
        first = 0 if expanding else start
        out.append(split(bars, len(out), (first, start + train), (start + train, start + train + test)))
        start += step
    return out


# --- the slow reference ------------------------------------------------------------------------------------


def _plain_metrics(r: np.ndarray, ppy: float) -> dict[str, float]:
    """Written from the definitions (no NaN in these tests: nobody is ruined)."""
    wealth = np.concatenate([[1.0], np.cumprod(1.0 + r)])
    total = float(wealth[-1] - 1.0)
    std = float(np.std(r, ddof=1)) if r.size > 1 else 0.0
    return {
        "total_return": total,
        "annual_return": (1.0 + total) ** (ppy / r.size) - 1.0,
        "sharpe_ratio": float(np.mean(r)) / std * math.sqrt(ppy) if std > 0 else math.nan,
        "max_drawdown": float(np.min(wealth / np.maximum.accumulate(wealth) - 1.0)),
    }


def reference(fn, bars, splits, grid: dict[str, list[Any]], metric="sharpe_ratio", descending=True, **settings_):
    """``(folds rows, returns rows)``: every combination run in full on each training window."""
    ppy = bars.periods_per_year
    strategy = VectorizedStrategy(fn, periods_per_year=ppy, **settings_)
    folds, returns = [], []
    for s in splits:
        train = bars.between(s.train_start, s.train_end)
        best, trials = None, []
        for k, combo in enumerate(itertools.product(*grid.values())):
            params = dict(zip(grid, combo, strict=True))
            run = strategy.run(train, **params)
            trials.append(run.returns["return"].fill_null(math.nan).to_numpy())
            row = run.metrics.row(0, named=True)
            value = row[metric]
            if not math.isfinite(value):
                continue
            if best is None or (value > best[1] if descending else value < best[1]):
                best = (params, value, row["annual_return"], k)
        assert best is not None
        params, value, is_annual, chosen = best
        matrix = np.column_stack(trials)  # the training window's bars x every combination, as tried
        overfit = {
            "deflated_sharpe": m.deflated_sharpe_ratio(matrix, index=chosen) if len(trials) > 1 else math.nan,
            "pbo": m.probability_of_backtest_overfitting(matrix, n_splits=min(16, len(matrix)) // 2 * 2).pbo
            if len(trials) > 1
            else math.nan,
        }
        result = strategy.run(bars.between(None, s.test_end), **params)
        inside = pl.col("ts_event").is_between(s.test_start, s.test_end)
        block = result.returns.filter(inside)
        r = block["return"].to_numpy()
        opened = result.trades.filter(pl.col("ts_entry").is_between(s.test_start, s.test_end)).height
        oos = _plain_metrics(r, ppy)
        folds.append(
            {
                "fold": s.index,
                "train_start": s.train_start,
                "train_end": s.train_end,
                "test_start": s.test_start,
                "test_end": s.test_end,
                **params,
                f"in_sample_{metric}": value,
                "in_sample_annual_return": is_annual,
                **overfit,
                **oos,
                "trade_count": opened,
                "n_bars": r.size,
                "efficiency": oos["annual_return"] / is_annual if is_annual > 0 else math.nan,
            }
        )
        returns += [{"ts_event": t, "return": x, "fold": s.index} for t, x in zip(block["ts_event"], r, strict=True)]
    return folds, returns


def _close(a: Any, b: Any, where: str) -> None:
    # the sweep's deflated Sharpe and PBO come from the kernel's moments and block sums, not from the matrix
    rel = 1e-9 if where.endswith(("deflated_sharpe", "pbo")) else 1e-12
    if isinstance(b, float):
        if math.isnan(b):
            assert a is not None and math.isnan(a), (where, a, b)
        else:
            assert a == pytest.approx(b, rel=rel, abs=1e-12), (where, a, b)
    else:
        assert a == b, (where, a, b)


GRID = {"fast": [3, 5, 8], "slow": [15, 25]}


@pytest.mark.parametrize(
    ("expanding", "metric", "descending", "options"),
    [
        (False, "sharpe_ratio", True, {}),
        (True, "sharpe_ratio", True, {}),
        (False, "annual_volatility", False, {"execution": "next_open", "fees": 0.001}),
        (True, "total_return", True, {"cash_sharing": True, "size": 0.5, "size_type": "percent"}),
    ],
)
def test_every_number_matches_a_slow_reference(expanding, metric, descending, options):
    splits = layout(BARS, 60, 30, 40, expanding=expanding)  # gaps of 10 bars between test blocks
    strategy = VectorizedStrategy(crossover, **options)
    wf = walk_forward_sweep(strategy, BARS, splits, metric=metric, descending=descending, **GRID)
    folds, returns = reference(crossover, BARS, splits, GRID, metric, descending, **options)

    assert wf.folds.height == len(folds) == 4
    for got, want in zip(wf.folds.iter_rows(named=True), folds, strict=True):
        for name, value in want.items():
            _close(got[name], value, f"fold {want['fold']} {name}")
        assert got["reason"] is None
    assert wf.returns.columns == ["ts_event", "return", "fold"]
    assert wf.returns.height == len(returns)
    for got, want in zip(wf.returns.iter_rows(named=True), returns, strict=True):
        for name, value in want.items():
            _close(got[name], value, f"returns {want['ts_event']} {name}")
    assert [r is not None for r in wf.results] == [True] * 4
    assert len(wf.sweeps) == 4


@pytest.mark.parametrize("mode", ["rolling", "expanding"])
def test_splits_from_walk_forward_match_the_reference(mode):
    splits = walk_forward(BARS.frame, train=60, test=30, step=35, mode=mode, purge=3, embargo=2)
    assert len(splits) == 4 and all(s.purged > 0 for s in splits)
    for s in splits:  # these bars' training window is the split's training rows (one latency, every symbol)
        rows = np.flatnonzero(BARS.frame["ts_event"].is_between(s.train_start, s.train_end).to_numpy())
        np.testing.assert_array_equal(rows, s.train)
    wf = walk_forward_sweep(VectorizedStrategy(crossover), BARS, splits, **GRID)
    folds, returns = reference(crossover, BARS, splits, GRID)
    for got, want in zip(wf.folds.iter_rows(named=True), folds, strict=True):
        for name, value in want.items():
            _close(got[name], value, f"fold {want['fold']} {name}")
    np.testing.assert_allclose(wf.returns["return"].to_numpy(), [r["return"] for r in returns], rtol=1e-12)
    assert wf.returns["ts_event"].to_list() == [r["ts_event"] for r in returns]


def test_the_stitched_metrics_are_ml4t_metrics_of_the_stitched_returns():
    splits = layout(BARS, 50, 25, 25)
    wf = walk_forward_sweep(VectorizedStrategy(crossover), BARS, splits, **GRID)
    r = wf.returns["return"].to_numpy()
    ppy = BARS.periods_per_year
    row = wf.metrics.row(0, named=True)
    want = {
        "total_return": m.total_return(r),
        "annual_return": m.annual_return(r, ppy),
        "annual_volatility": m.annual_volatility(r, ppy),
        "sharpe_ratio": m.sharpe_ratio(r, ppy),
        "sortino_ratio": m.sortino_ratio(r, ppy),
        "calmar_ratio": m.calmar_ratio(r, ppy),
        "max_drawdown": m.max_drawdown(r),
        "var": m.value_at_risk(r),
        "cvar": m.conditional_value_at_risk(r),
        "periods_per_year": ppy,
    }
    for name, value in want.items():
        _close(row[name], float(value), name)
    assert row["n_bars"] == wf.returns.height == 25 * len(splits)
    assert row["n_folds"] == len(splits)
    assert row["trade_count"] == wf.folds["trade_count"].sum()
    # the stitched series compounds the folds' own returns: its total is the product of theirs
    _close(row["total_return"], float(np.prod(1.0 + wf.folds["total_return"].to_numpy()) - 1.0), "product")
    is_mean = wf.folds["in_sample_annual_return"].mean()
    _close(row["efficiency"], row["annual_return"] / is_mean if is_mean > 0 else math.nan, "efficiency")
    assert wf.efficiency == row["efficiency"] or (math.isnan(wf.efficiency) and math.isnan(row["efficiency"]))
    # the equity curve is the growth of 1 through the stitched returns
    assert wf.equity.columns == ["ts_event", "equity", "fold"]
    np.testing.assert_allclose(wf.equity["equity"].to_numpy(), np.cumprod(1.0 + r), rtol=1e-12)


def test_the_strategy_annualises_with_its_own_periods_per_year_when_it_has_one():
    splits = layout(BARS, 60, 40, 40)
    wf = walk_forward_sweep(VectorizedStrategy(crossover, periods_per_year=252), BARS, splits, fast=[3, 5], slow=[20])
    r = wf.returns["return"].to_numpy()
    _close(wf.metrics["annual_return"][0], float(m.annual_return(r, 252)), "annual_return")
    assert all(res.periods_per_year == 252 for res in wf.results)


def test_features_attached_as_builders_are_recomputed_on_each_window():
    # a feature recomputed on each window's own rows (cold at a training window's start, warm in the history
    # up to a test block's end) is what the same expression written in the strategy computes
    def by_feature(level: float) -> dict[str, pl.Expr]:
        return {"entries": pl.col("gap") > level, "exits": pl.col("gap") < -level}

    def inline(level: float) -> dict[str, pl.Expr]:
        gap = pl.col("close") / pl.col("close").rolling_mean(10) - 1.0
        return {"entries": gap > level, "exits": gap < -level}

    splits = layout(BARS, 60, 40, 40)
    featured = BARS.with_features(gap=pl.col("close") / pl.col("close").rolling_mean(10) - 1.0)
    wf = walk_forward_sweep(VectorizedStrategy(by_feature), featured, splits, level=[0.0, 0.01, 0.02])
    twin = walk_forward_sweep(VectorizedStrategy(inline), BARS, splits, level=[0.0, 0.01, 0.02])
    assert wf.folds.equals(twin.folds) and wf.returns.equals(twin.returns)


# --- choices ---------------------------------------------------------------------------------------------


def test_a_position_opened_before_the_test_block_is_carried_into_it():
    # one entry, on bar 5 (inside the training window), never an exit: the test block holds it throughout
    bars = _one_signal_bars(20, entry_at=5)

    def hold(k: int) -> dict[str, pl.Expr]:
        return {"entries": pl.col("signal") == k}

    splits = [split(bars, 0, (0, 10), (10, 20))]
    wf = walk_forward_sweep(VectorizedStrategy(hold), bars, splits, k=[1])
    close = bars.frame["close"].to_numpy()
    np.testing.assert_allclose(wf.returns["return"].to_numpy(), close[10:] / close[9:-1] - 1.0, rtol=1e-12)
    assert wf.folds["trade_count"][0] == 0  # the trade was opened before the block
    assert wf.folds["n_bars"][0] == 10


def test_a_fold_ruined_in_its_test_block_has_no_returns_after_the_ruin():
    # short from bar 1 while the price climbs 30% a bar: the equity crosses zero inside the test block
    bars = _one_signal_bars(12, entry_at=1, growth=0.3)

    def short(k: int) -> dict[str, pl.Expr]:
        return {"short_entries": pl.col("signal") == k}

    with pytest.warns(InsolvencyWarning, match="equity fell to zero or below"):
        wf = walk_forward_sweep(VectorizedStrategy(short), bars, [split(bars, 0, (0, 4), (4, 12))], k=[1])
    result = wf.results[0]
    assert result is not None
    want = result.returns.filter(pl.col("ts_event") >= wf.folds["test_start"][0])["return"]
    assert want.null_count() > 0 and -1.0 in want.to_list()  # the reference: ruin is absorbing in a Result
    assert wf.returns["return"].to_list() == want.to_list()
    assert wf.metrics["total_return"][0] == wf.folds["total_return"][0] == -1.0
    assert wf.equity["equity"].to_list()[-1] == 0.0


def test_a_window_where_no_combination_has_a_finite_metric_stays_flat_with_a_reason():
    # no signal before bar 30: the first training window never trades, so no Sharpe ratio exists there
    bars = _one_signal_bars(60, entry_at=35)

    def hold(k: int) -> dict[str, pl.Expr]:
        return {"entries": pl.col("signal") == k}

    splits = [split(bars, 0, (0, 20), (20, 30)), split(bars, 1, (10, 40), (40, 60))]
    with warnings.catch_warnings():  # the fold's reason says it: the training sweep does not warn as well
        warnings.simplefilter("error", NoOrdersWarning)
        wf = walk_forward_sweep(VectorizedStrategy(hold), bars, splits, k=[1, 2])
    flat, traded = wf.folds.row(0, named=True), wf.folds.row(1, named=True)
    assert flat["k"] is None and math.isnan(flat["in_sample_sharpe_ratio"]) and math.isnan(flat["deflated_sharpe"])
    assert flat["reason"] == "no combination traded on the training window: the fold stays flat"
    assert (flat["total_return"], flat["max_drawdown"], flat["trade_count"], flat["n_bars"]) == (0.0, 0.0, 0, 10)
    assert wf.returns.filter(pl.col("fold") == 0)["return"].to_list() == [0.0] * 10
    assert wf.results[0] is None and wf.sweeps[0] is not None
    assert traded["k"] == 1 and traded["reason"] is None and wf.results[1] is not None


def test_ties_go_to_the_first_combination_in_grid_order():
    def unused(fast: int, slow: int, label: str) -> dict[str, pl.Expr]:
        return crossover(fast, slow)

    splits = layout(BARS, 60, 40, 40)
    for descending in (True, False):
        wf = walk_forward_sweep(
            VectorizedStrategy(unused), BARS, splits, descending=descending, fast=[5], slow=[20], label=["b", "a", "c"]
        )
        assert wf.folds["label"].to_list() == ["b"] * len(splits)


def test_a_grid_of_one_combination_is_a_plain_walk_forward_evaluation():
    splits = layout(BARS, 60, 40, 40)
    wf = walk_forward_sweep(VectorizedStrategy(crossover), BARS, splits, fast=5, slow=20)
    folds, returns = reference(crossover, BARS, splits, {"fast": [5], "slow": [20]})
    assert wf.folds["fast"].to_list() == [5] * len(splits)
    # one trial, no selection: the deflated Sharpe ratio is the probabilistic one (against 0), PBO undefined
    strategy = VectorizedStrategy(crossover, periods_per_year=BARS.periods_per_year)
    for s, row in zip(splits, wf.folds.iter_rows(named=True), strict=True):
        train = strategy.run(BARS.between(s.train_start, s.train_end), fast=5, slow=20).returns["return"]
        _close(row["deflated_sharpe"], float(m.probabilistic_sharpe_ratio(train.to_numpy())), "deflated_sharpe")
        assert math.isnan(row["pbo"])
    np.testing.assert_allclose(wf.folds["total_return"].to_numpy(), [f["total_return"] for f in folds], rtol=1e-12)
    np.testing.assert_allclose(wf.returns["return"].to_numpy(), [r["return"] for r in returns], rtol=1e-12)


def test_the_per_fold_efficiency_is_nan_when_the_in_sample_return_is_not_positive():
    splits = layout(BARS, 40, 20, 20)
    wf = walk_forward_sweep(VectorizedStrategy(crossover), BARS, splits, metric="annual_return", **GRID)
    assert "in_sample_annual_return" in wf.folds.columns
    for row in wf.folds.iter_rows(named=True):
        is_ar = row["in_sample_annual_return"]
        want = row["annual_return"] / is_ar if is_ar > 0 else math.nan
        _close(row["efficiency"], want, f"fold {row['fold']}")
    assert wf.folds["in_sample_annual_return"].min() < 0 < wf.folds["in_sample_annual_return"].max()


def test_repr_and_str_summarise_the_run():
    wf = walk_forward_sweep(VectorizedStrategy(crossover), BARS, layout(BARS, 60, 40, 40), **GRID)
    assert isinstance(wf, WalkForwardResult)
    text = repr(wf)
    assert text.startswith("WalkForwardResult(4 folds") and "sharpe_ratio" in text and "['fast', 'slow']" in text
    shown = str(wf)
    assert text.splitlines()[0] in shown and "fold" in shown and "test_start" in shown


# --- the property ----------------------------------------------------------------------------------------

SMALL = synthetic_bars(2, 150, seed=11)


@settings(max_examples=12)
@given(
    fast=st.lists(st.sampled_from([2, 3, 5, 8]), min_size=1, max_size=3),
    slow=st.lists(st.sampled_from([10, 15, 20]), min_size=1, max_size=2),
    train=st.integers(40, 70),
    test=st.integers(5, 30),
    gap=st.integers(0, 10),
    expanding=st.booleans(),
    metric=st.sampled_from(["sharpe_ratio", "total_return", "max_drawdown", "annual_volatility"]),
    descending=st.booleans(),
)
def test_the_choice_is_the_in_sample_argmax_and_no_return_leaves_its_block(
    fast, slow, train, test, gap, expanding, metric, descending
):
    splits = layout(SMALL, train, test, test + gap, expanding=expanding)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoOrdersWarning)
        wf = walk_forward_sweep(
            VectorizedStrategy(crossover), SMALL, splits, metric=metric, descending=descending, fast=fast, slow=slow
        )
    stamps = SMALL.frame["ts_event"]
    for s, row, sweep in zip(splits, wf.folds.iter_rows(named=True), wf.sweeps, strict=True):
        rows = sweep.metrics.filter(pl.col("scope") == "portfolio")
        values = rows[metric].cast(pl.Float64).to_numpy()
        finite = np.isfinite(values)
        if not finite.any():
            assert row["fast"] is None and row["reason"] is not None
        else:
            target = values[finite].max() if descending else values[finite].min()
            first = int(np.flatnonzero(finite & (values == target))[0])
            assert (row["fast"], row["slow"]) == (rows["fast"][first], rows["slow"][first])
            assert row[f"in_sample_{metric}"] == target
        block = wf.returns.filter(pl.col("fold") == s.index)["ts_event"]
        assert (
            block.to_list()
            == stamps.filter(stamps.is_between(s.test_start, s.test_end)).unique(maintain_order=True).to_list()
        )
    assert wf.returns["ts_event"].is_sorted() and wf.returns["ts_event"].n_unique() == wf.returns.height


# --- errors ----------------------------------------------------------------------------------------------


def test_overlapping_test_blocks_are_refused():
    splits = [split(BARS, 0, (0, 50), (50, 90)), split(BARS, 1, (20, 70), (70, 110))]
    with pytest.raises(ConfigError, match=r"test blocks .* overlap") as err:
        walk_forward_sweep(VectorizedStrategy(crossover), BARS, splits, **GRID)
    assert err.value.argument == "splits"


def test_cpcv_splits_are_refused():
    # its first split tests the first groups and trains on the later ones
    with pytest.raises(LeakageError, match="cpcv split trains on both sides") as err:
        walk_forward_sweep(VectorizedStrategy(crossover), BARS, cpcv(BARS.frame, n_groups=6, n_test_groups=2), **GRID)
    assert err.value.argument == "splits"


def test_a_training_window_that_does_not_end_before_its_test_block_is_leakage():
    # a cpcv split trains on both sides of its test block: its training window's bounds contain the block
    cpcv_like = split(BARS, 0, (0, 150), (50, 100))
    with pytest.raises(LeakageError, match="training window") as err:
        walk_forward_sweep(VectorizedStrategy(crossover), BARS, [cpcv_like], **GRID)
    assert err.value.argument == "splits" and err.value.timestamp == cpcv_like.test_start


def test_splits_without_training_or_test_rows_in_the_bars_are_refused():
    splits = layout(BARS, 60, 40, 40)
    no_train = Split(**{**splits[0].__dict__, "train_start": None, "train_end": None})
    with pytest.raises(ConfigError, match="split 0 has no training rows"):
        walk_forward_sweep(VectorizedStrategy(crossover), BARS, [no_train], **GRID)
    late = BARS.between(splits[0].test_start, None)  # the bars start after split 0's training window
    with pytest.raises(ConfigError, match=r"split 0's training window .* has no bars"):
        walk_forward_sweep(VectorizedStrategy(crossover), late, splits, **GRID)
    early = BARS.between(None, splits[0].train_end)  # the bars end before split 0's test block
    with pytest.raises(ConfigError, match=r"split 0's test block .* has no bars"):
        walk_forward_sweep(VectorizedStrategy(crossover), early, splits, **GRID)
    with pytest.raises(ConfigError, match="at least one split"):
        walk_forward_sweep(VectorizedStrategy(crossover), BARS, [], **GRID)
    with pytest.raises(ConfigError, match="Split"):
        walk_forward_sweep(VectorizedStrategy(crossover), BARS, [(np.arange(3), np.arange(3, 5))], **GRID)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"metric": "sharpe"}, "metric"),
        ({"metric": "symbol"}, "metric"),
        ({"descending": "yes"}, "descending"),
    ],
)
def test_bad_options_are_refused(kwargs, argument):
    with pytest.raises(ConfigError) as err:
        walk_forward_sweep(VectorizedStrategy(crossover), BARS, layout(BARS, 60, 40, 40), **kwargs, **GRID)
    assert err.value.argument == argument


def test_bad_strategies_bars_and_parameter_names_are_refused():
    splits = layout(BARS, 60, 40, 40)
    with pytest.raises(ConfigError, match="VectorizedStrategy") as err:
        walk_forward_sweep(crossover, BARS, splits, **GRID)
    assert err.value.argument == "strategy"
    with pytest.raises(ConfigError, match="Bars") as err:
        walk_forward_sweep(VectorizedStrategy(crossover), BARS.frame, splits, **GRID)
    assert err.value.argument == "bars"

    def named_like_a_column(fold: int) -> dict[str, pl.Expr]:
        return crossover(fold, 20)

    with pytest.raises(ConfigError, match="fold") as err:
        walk_forward_sweep(VectorizedStrategy(named_like_a_column), BARS, splits, fold=[3, 5])
    assert err.value.argument == "fold"


def test_the_metrics_it_ranks_by_are_columns_of_a_sweep():
    from ml4t.validate._walk import METRICS

    sweep = VectorizedStrategy(crossover).sweep(BARS, fast=[3], slow=[20])
    assert set(METRICS) <= set(sweep.metrics.columns)
    assert set(sweep.metrics.columns) - set(METRICS) == {"fast", "slow", "scope", "symbol"}


# --- helpers ---------------------------------------------------------------------------------------------


def _one_signal_bars(n: int, *, entry_at: int, growth: float = 0.0) -> ml4t.data.Bars:
    """Daily bars of one symbol with a ``signal`` column that is 1 on bar ``entry_at`` only; the price
    wiggles, and grows by ``growth`` a bar."""
    t0 = dt.datetime(2024, 1, 1, 21, tzinfo=dt.UTC)
    close = 100.0 * np.cumprod(1.0 + growth + 0.01 * np.sin(np.arange(n)))
    return ml4t.data.bars(
        pl.DataFrame(
            {
                "timestamp": [t0 + dt.timedelta(days=i) for i in range(n)],
                "open": close,
                "high": close * 1.01,
                "low": close * 0.99,
                "close": close,
                "volume": [1000.0] * n,
                "signal": [1 if i == entry_at else 0 for i in range(n)],
            }
        ),
        symbol="X",
    )
