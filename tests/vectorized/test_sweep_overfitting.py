"""Overfitting statistics of a sweep: ``Sweep.overfitting()`` and the ``deflated_sharpe`` / ``pbo`` columns of
``Sweep.best()`` equal ``ml4t.metrics``' functions over the bars x trials matrix of the rows' own returns
(``sweep.result(...).returns``, the detailed path), although the sweep keeps only moments and per-block sums;
and those sums equal a plain computation from each row's equity curve, on paths with flat runs and ruin.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ml4t.data
import ml4t.metrics as m
from ml4t.datasets import synthetic_bars
from ml4t.errors import ConfigError
from ml4t.vectorized import VectorizedStrategy
from ml4t.vectorized._overfit import cscv_blocks

T0 = dt.datetime(2024, 1, 2, 21, tzinfo=dt.UTC)
GRID = {"fast": [2, 3, 5, 8], "slow": [10, 20, 40]}  # 12 combinations


def crossover(fast: int, slow: int):
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s, "short_entries": f < s}


def crossover_plain(fast: int, slow: int):
    """The same rule on the plain Polars path (a NaN literal is not compiled)."""
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s + pl.lit(math.nan).fill_nan(0.0), "short_entries": f < s}


def _returns(sweep, rows: pl.DataFrame) -> np.ndarray:
    """The bars x rows matrix of the rows' returns from their detailed results (null after ruin -> NaN)."""
    cols = []
    for row in rows.iter_rows(named=True):
        params = {k: row[k] for k in sweep.params}
        res = sweep.result(**params) if row["scope"] == "portfolio" else sweep.result(**params, symbol=row["symbol"])
        cols.append(res.returns["return"].fill_null(math.nan).to_numpy())
    return np.column_stack(cols)


def _close(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9, abs=1e-12)


@pytest.mark.filterwarnings("ignore::ml4t.errors.RejectionWarning")  # all-in on several symbols
@pytest.mark.parametrize(
    ("n_symbols", "kwargs", "fn"),
    [
        (1, {}, crossover),
        (1, {"fees": 0.001}, crossover_plain),
        (3, {"fees": 0.001, "sl_stop": 0.05}, crossover),
        (3, {}, crossover_plain),
        (3, {"cash_sharing": True}, crossover),
    ],
)
def test_overfitting_equals_the_metrics_over_the_returns_matrix(n_symbols, kwargs, fn):
    bars = synthetic_bars(n_symbols, 300, "1d", seed=7)
    sweep = VectorizedStrategy(fn, **kwargs).sweep(bars, **GRID)
    scopes = ["portfolio", "symbol", "all"] if n_symbols > 1 and not kwargs.get("cash_sharing") else ["portfolio"]
    for scope in scopes:
        rows = sweep.metrics if scope == "all" else sweep.metrics.filter(pl.col("scope") == scope)
        x = _returns(sweep, rows)
        assert x.shape == (300, rows.height)
        fit = sweep.overfitting(scope)
        ppy = sweep.periods_per_year
        # N, V, SR0 from the matrix, written from the definitions
        sharpe = np.nanmean(x, axis=0) / np.nanstd(x, axis=0, ddof=1)
        assert fit.n_trials == rows.height
        assert fit.sharpe_variance == pytest.approx(np.var(sharpe[np.isfinite(sharpe)], ddof=1), rel=1e-9)
        sr0 = m.expected_max_sharpe(rows.height, fit.sharpe_variance)
        assert fit.expected_max_sharpe == pytest.approx(sr0, rel=1e-12)
        assert fit.expected_max_sharpe_annualized == pytest.approx(sr0 * math.sqrt(ppy), rel=1e-12)
        best = int(np.nanargmax(sharpe))
        assert fit.best == {k: rows.row(best, named=True)[k] for k in fit.best}
        assert fit.sharpe_ratio == pytest.approx(rows["sharpe_ratio"][best], rel=1e-12)
        assert _close(fit.deflated_sharpe, m.deflated_sharpe_ratio(x))
        # every row's DSR in best(), against the scope's N and V
        table = sweep.best(n=rows.height, scope=scope)
        assert table.height == rows.height
        for row in table.iter_rows(named=True):
            at = next(
                i
                for i, r in enumerate(rows.iter_rows(named=True))
                if all(r[k] == row[k] for k in (*sweep.params, "symbol"))
            )
            want = m.deflated_sharpe_ratio(x, index=at)
            assert _close(row["deflated_sharpe"], want), (scope, row, want)
            assert row["pbo"] == fit.pbo
        # CSCV over the same blocks
        pbo = m.probability_of_backtest_overfitting(x, n_splits=16)
        assert (fit.n_blocks, fit.n_combinations) == (16, pbo.n_combinations)
        np.testing.assert_allclose(fit.logits, pbo.logits, rtol=1e-9, atol=1e-9)
        assert fit.pbo == pbo.pbo
        assert "deflated Sharpe ratio" in str(fit) and "overfitting" in str(fit)


def test_best_ranks_by_the_deflated_sharpe_ratio_and_repr_reports_it():
    sweep = VectorizedStrategy(crossover).sweep(synthetic_bars(1, 300, "1d", seed=3), **GRID)
    fit = sweep.overfitting()
    top = sweep.best("deflated_sharpe", n=1)
    assert top["deflated_sharpe"][0] == pytest.approx(np.nanmax(fit.dsr))
    assert f"deflated_sharpe {fit.deflated_sharpe:.3g}, pbo {fit.pbo:.3g}" in repr(sweep)
    # a larger N elsewhere deflates further and leaves PBO alone
    more = sweep.overfitting(n_trials=1_000)
    assert more.n_trials == 1_000 and more.deflated_sharpe < fit.deflated_sharpe
    assert more.pbo == fit.pbo
    with pytest.raises(ConfigError) as info:
        sweep.overfitting("symbol")  # one symbol: no symbol rows
    assert info.value.argument == "scope"
    for bad in (0.5, [3], "many"):
        with pytest.raises(ConfigError) as info:
            sweep.overfitting(n_trials=bad)  # type: ignore[arg-type]
        assert info.value.argument == "n_trials"


def test_one_combination_is_one_trial():
    bars = synthetic_bars(1, 300, "1d", seed=3)
    sweep = VectorizedStrategy(crossover).sweep(bars, fast=5, slow=20)
    fit = sweep.overfitting()
    x = _returns(sweep, sweep.metrics)
    # N = 1: no selection, SR0 = 0, the DSR is the probabilistic Sharpe ratio against 0
    assert (fit.n_trials, fit.expected_max_sharpe) == (1.0, 0.0)
    assert fit.deflated_sharpe == pytest.approx(m.probabilistic_sharpe_ratio(x[:, 0]), rel=1e-9)
    assert fit.deflated_sharpe == pytest.approx(m.deflated_sharpe_ratio(x, n_trials=1, sharpe_variance=0.0), rel=1e-9)
    assert math.isnan(fit.pbo) and fit.n_combinations == 0
    assert any("PBO is undefined" in note for note in fit.notes)
    assert "undefined" in str(fit)
    row = sweep.best().row(0, named=True)
    assert row["deflated_sharpe"] == fit.deflated_sharpe and math.isnan(row["pbo"])


@pytest.mark.parametrize(("n_bars", "n_blocks"), [(1, 0), (2, 2), (7, 6), (15, 14), (16, 16), (500, 16)])
def test_fewer_bars_fewer_blocks(n_bars, n_blocks):
    assert cscv_blocks(n_bars) == n_blocks


@pytest.mark.filterwarnings("ignore::ml4t.errors.NoOrdersWarning")  # one bar: nothing can trade
def test_fewer_bars_than_blocks():
    bars = synthetic_bars(1, 9, "1d", seed=3)

    def rule(k: int):
        return {"entries": pl.col("close") > pl.col("close").shift(k), "exits": pl.col("close") < pl.col("close")}

    sweep = VectorizedStrategy(rule, periods_per_year=252).sweep(bars, k=[1, 2, 3])
    fit = sweep.overfitting()
    x = _returns(sweep, sweep.metrics)
    assert fit.n_blocks == 8
    pbo = m.probability_of_backtest_overfitting(x, n_splits=8)
    np.testing.assert_allclose(fit.logits, pbo.logits, rtol=1e-9, atol=1e-9)
    first = bars.frame["ts_event"][0]
    one = VectorizedStrategy(rule, periods_per_year=252).sweep(bars.between(first, first), k=[1, 2])
    fit = one.overfitting()
    assert fit.n_blocks == 0 and math.isnan(fit.pbo) and math.isnan(fit.deflated_sharpe)
    assert any("2 bars" in note for note in fit.notes)


@pytest.mark.filterwarnings("ignore::ml4t.errors.NoOrdersWarning")
def test_a_sweep_where_nothing_trades():
    bars = synthetic_bars(2, 200, "1d", seed=3)

    def never(level: float):
        return {"entries": pl.col("close") > level, "exits": pl.col("close") < 0}

    sweep = VectorizedStrategy(never).sweep(bars, level=[1e9, 2e9, 3e9])
    fit = sweep.overfitting()
    assert fit.best is None and math.isnan(fit.deflated_sharpe) and math.isnan(fit.sharpe_variance)
    assert any("No row has a Sharpe ratio" in note for note in fit.notes)
    # every trial flat: all tie in every split, the in-sample pick sits at the median (logit 0), and there
    # was nothing to choose: PBO is undefined, not 1 (it used to say "certainly overfit")
    pbo = m.probability_of_backtest_overfitting(np.zeros((200, 3)))
    np.testing.assert_array_equal(fit.logits, pbo.logits)
    assert (fit.logits == 0.0).all() and math.isnan(fit.pbo) and math.isnan(pbo.pbo)
    assert any("every row has the same returns" in note for note in fit.notes)
    assert np.isnan(sweep.best()["deflated_sharpe"].to_numpy()).all()


# --- the kernel's sums against a plain computation from the equity curve -----------------------------


@st.composite
def ruinous_bars(draw):
    """One or two symbols whose prices jump by up to 3x either way, some bars missing for the second symbol,
    with signal columns that are mostly 0 (long flat runs) and all-in shorts that a jump up ruins."""
    n_symbols = draw(st.integers(1, 2))
    n_bars = draw(st.integers(3, 40))
    frames = []
    for s in range(n_symbols):
        moves = draw(st.lists(st.sampled_from([0.33, 0.7, 0.95, 1.0, 1.05, 1.5, 2.2, 3.0]), min_size=n_bars,
                              max_size=n_bars))  # fmt: skip
        close = np.clip(10.0 * np.cumprod(moves), 1e-3, 1e8)  # within the data layer's price bounds
        signal = st.sampled_from([0, 0, 0, 0, 1, 2, 3, 4])
        cols = {f"s{k}": draw(st.lists(signal, min_size=n_bars, max_size=n_bars)) for k in range(3)}
        frame = pl.DataFrame(
            {
                "timestamp": [T0 + dt.timedelta(days=i) for i in range(n_bars)],
                "symbol": f"S{s}",
                "open": close,
                "high": close,
                "low": close,
                "close": close,
                "volume": 1e6,
                **cols,
            }
        )
        if s == 1:
            keep = draw(st.lists(st.booleans(), min_size=n_bars, max_size=n_bars))
            frame = frame.filter(pl.Series(keep) | (pl.int_range(pl.len()) == 0))
        frames.append(frame)
    return ml4t.data.bars(pl.concat(frames))


def _signals(k: int):
    s = pl.col(f"s{k}")
    return {"entries": s == 1, "exits": s == 2, "short_entries": s == 3, "short_exits": s == 4}


def _plain_sums(equity: np.ndarray, init: float, n_blocks: int):
    """Returns by the ruin rule from the equity curve, then their moments and block sums, plainly."""
    returns, prev = [], init
    for t, v in enumerate(equity):
        if prev <= 0:
            break
        returns.append((t, -1.0 if v <= 0 else v / prev - 1.0))
        prev = v
    values = [r for _, r in returns if not math.isnan(r)]
    mean = sum(values) / len(values) if values else 0.0
    moments = [sum((r - mean) ** k for r in values) for k in (2, 3, 4)]
    blocks = np.array_split(np.arange(len(equity)), n_blocks) if n_blocks else []
    sums = []
    for block in blocks:
        mine = [r - mean for t, r in returns if t in set(block.tolist()) and not math.isnan(r)]
        sums.append((len(mine), sum(mine), sum(d * d for d in mine)))
    return len(values), moments, sums


@pytest.mark.filterwarnings("ignore::ml4t.errors.Ml4tWarning")  # ruinous (and often refused cash) by construction
@settings(max_examples=40, deadline=None)
@given(bars=ruinous_bars(), cash_sharing=st.booleans())
def test_kernel_sums_equal_a_plain_computation_from_the_equity(bars, cash_sharing):
    strat = VectorizedStrategy(_signals, cash_sharing=cash_sharing, periods_per_year=252)
    sweep = strat.sweep(bars, k=[0, 1, 2])
    stats = sweep._stats  # the kernel's sums, aligned with the metrics rows
    n_blocks = cscv_blocks(len(bars.frame["ts_event"].unique()))
    assert stats.block_count.shape == (sweep.metrics.height, n_blocks)
    for i, row in enumerate(sweep.metrics.iter_rows(named=True)):
        symbol = row["symbol"]
        res = sweep.result(k=row["k"]) if symbol is None else sweep.result(k=row["k"], symbol=symbol)
        n_accounts = 1 if (cash_sharing or symbol is not None) else len(bars.symbols)
        count, moments, sums = _plain_sums(res.equity["equity"].to_numpy(), 100_000.0 * n_accounts, n_blocks)
        assert stats.count[i] == count
        for got, want in zip((stats.m2[i], stats.m3[i], stats.m4[i]), moments, strict=True):
            assert got == pytest.approx(want, rel=1e-9, abs=1e-15)
        for k, (n, s1, s2) in enumerate(sums):
            assert stats.block_count[i, k] == n
            assert stats.block_s1[i, k] == pytest.approx(s1, rel=1e-9, abs=1e-15)
            assert stats.block_s2[i, k] == pytest.approx(s2, rel=1e-9, abs=1e-15)
