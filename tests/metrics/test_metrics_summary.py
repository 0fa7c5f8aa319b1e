"""``summary(result)``: one row, fixed schema, the same numbers as the array functions."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ml4t.metrics as m
from ml4t.errors import ConfigError
from ml4t.result import (
    EQUITY_SCHEMA,
    FILLS_SCHEMA,
    ORDERS_SCHEMA,
    POSITIONS_SCHEMA,
    TRADES_SCHEMA,
    Result,
    empty_frame,
)

COLUMNS = [
    "total_return", "annual_return", "annual_volatility", "sharpe_ratio", "sortino_ratio", "calmar_ratio",
    "max_drawdown", "max_drawdown_duration_bars", "max_drawdown_duration", "var", "cvar", "turnover",
    "exposure", "avg_gross_exposure", "trade_count", "open_trade_count", "win_rate", "profit_factor",
    "expectancy", "avg_trade_return", "avg_holding_time", "best_trade", "worst_trade", "start", "end",
    "n_bars", "periods_per_year", "final_equity", "avg_net_exposure", "avg_n_positions", "avg_rebalance_turnover",
    "rebalance_count",
]  # fmt: skip


def curve(n: int = 300, seed: int = 3) -> tuple[list[dt.datetime], np.ndarray]:
    rng = np.random.default_rng(seed)
    ts = [dt.datetime(2023, 1, 2, 21, tzinfo=dt.UTC) + dt.timedelta(days=i) for i in range(n)]
    equity = 1_000.0 * np.cumprod(1.0 + rng.normal(0.0005, 0.01, n))
    return ts, equity


def test_schema_and_values_match_the_array_functions() -> None:
    ts, equity = curve()
    result = Result.from_equity(ts, equity, init_cash=1_000.0, periods_per_year=252)
    row = m.summary(result, risk_free=0.02, var_level=0.1)
    assert row.columns == COLUMNS
    assert row.schema == pl.Schema(m.SUMMARY_SCHEMA)
    assert row.height == 1
    r = result.returns["return"].to_numpy()
    assert r[0] == pytest.approx(equity[0] / 1_000.0 - 1.0)  # the first return is measured from init_cash
    s = row.row(0, named=True)
    # exact: the same products, running peaks and order statistics in the summary's one pass
    assert s["total_return"] == m.total_return(r)
    assert s["annual_return"] == m.annual_return(r, 252)
    assert s["max_drawdown"] == m.max_drawdown(r)
    assert s["max_drawdown_duration_bars"] == m.max_drawdown_duration(r)
    assert s["var"] == m.value_at_risk(r, 0.1)
    assert s["calmar_ratio"] == m.calmar_ratio(r, 252)
    # to the last bits: the one pass sums in bar order, the array functions in NumPy's pairwise order
    close = {"rel": 1e-12, "abs": 0.0}
    assert s["annual_volatility"] == pytest.approx(m.annual_volatility(r, 252), **close)
    assert s["sharpe_ratio"] == pytest.approx(m.sharpe_ratio(r, 252, risk_free=0.02), **close)
    assert s["sortino_ratio"] == pytest.approx(m.sortino_ratio(r, 252, risk_free=0.02), **close)
    assert s["cvar"] == pytest.approx(m.conditional_value_at_risk(r, 0.1), **close)
    assert s["total_return"] == pytest.approx(equity[-1] / 1_000.0 - 1.0)
    assert (s["turnover"], s["exposure"], s["avg_gross_exposure"]) == (0.0, 0.0, 0.0)
    assert (s["trade_count"], s["open_trade_count"], s["avg_holding_time"]) == (0, 0, None)
    assert (s["start"], s["end"], s["n_bars"]) == (ts[0], ts[-1], 300)
    assert s["periods_per_year"] == 252.0
    assert s["final_equity"] == equity[-1]
    assert result.metrics.equals(m.summary(result))  # Result.metrics is this summary


def test_rows_stack_for_sweeps() -> None:
    rows = [m.summary(Result.from_equity(*curve(seed=s), periods_per_year=252)) for s in range(3)]
    stacked = pl.concat(rows)
    assert stacked.height == 3
    assert stacked.schema == pl.Schema(m.SUMMARY_SCHEMA)


def test_periods_per_year_comes_from_the_result_or_the_call() -> None:
    ts, equity = curve()
    bare = Result.from_equity(ts, equity)
    with pytest.raises(ConfigError) as info:
        m.summary(bare)
    assert info.value.argument == "periods_per_year"
    assert "periods_per_year=252" in str(info.value)
    assert m.summary(bare, periods_per_year=52)["periods_per_year"].item() == 52.0
    given = Result.from_equity(ts, equity, periods_per_year=252)
    assert m.summary(given, periods_per_year=12)["annual_return"].item() == m.annual_return(
        given.returns["return"].to_numpy(), 12
    )
    with pytest.raises(ConfigError):
        m.summary(given, var_level=1.5)
    with pytest.raises(ConfigError):
        m.summary(given, risk_free=-2.0)


def test_drawdown_duration_in_time() -> None:
    day = dt.timedelta(days=1)
    ts = [dt.datetime(2024, 3, 1, tzinfo=dt.UTC) + i * day for i in range(6)]
    # peak at bar 1 (110), below it on bars 2-3, regained on bar 4: 3 bars, 3 days
    result = Result.from_equity(ts, [100.0, 110.0, 100.0, 105.0, 111.0, 111.0], periods_per_year=252)
    s = m.summary(result).row(0, named=True)
    assert s["max_drawdown_duration_bars"] == 3
    assert s["max_drawdown_duration"] == 3 * day
    # a loss on the first bar from init_cash, never regained: the first bar's time stands in for the peak
    result = Result.from_equity(ts, [90.0, 95.0, 92.0, 93.0, 94.0, 99.0], init_cash=100.0, periods_per_year=252)
    s = m.summary(result).row(0, named=True)
    assert s["max_drawdown_duration_bars"] == 6
    assert s["max_drawdown_duration"] == 5 * day
    assert s["max_drawdown"] == pytest.approx(-0.1)
    flat = Result.from_equity(ts, [100.0] * 6, periods_per_year=252).metrics.row(0, named=True)
    assert flat["max_drawdown_duration_bars"] == 0
    assert flat["max_drawdown_duration"] == dt.timedelta(0)
    assert math.isnan(flat["sharpe_ratio"])


def test_summary_of_the_hand_built_result(hand_result: Result) -> None:
    s = hand_result.metrics.row(0, named=True)
    assert s["trade_count"] == 3
    assert s["open_trade_count"] == 1
    assert s["exposure"] == pytest.approx(0.6)
    assert s["profit_factor"] == pytest.approx(30 / 11)
    assert s["n_bars"] == 5
    assert s["final_equity"] == 1030.0


def test_single_bar_result() -> None:
    ts = [dt.datetime(2024, 3, 1, tzinfo=dt.UTC)]
    s = m.summary(Result.from_equity(ts, [100.0], init_cash=98.0, periods_per_year=252)).row(0, named=True)
    assert s["n_bars"] == 1
    assert s["total_return"] == pytest.approx(100 / 98 - 1)
    assert math.isnan(s["sharpe_ratio"])
    assert math.isnan(s["annual_volatility"])
    assert s["max_drawdown"] == 0.0
    assert s["max_drawdown_duration_bars"] == 0


def test_result_without_bars() -> None:
    empty = Result(
        equity=empty_frame(EQUITY_SCHEMA),
        positions=empty_frame(POSITIONS_SCHEMA),
        orders=empty_frame(ORDERS_SCHEMA),
        fills=empty_frame(FILLS_SCHEMA),
        trades=empty_frame(TRADES_SCHEMA),
        init_cash=100.0,
        periods_per_year=252,
    )
    row = m.summary(empty)
    assert row.schema == pl.Schema(m.SUMMARY_SCHEMA)
    s = row.row(0, named=True)
    assert s["n_bars"] == 0
    assert s["start"] is None
    assert s["max_drawdown_duration_bars"] is None
    assert math.isnan(s["total_return"])
    assert math.isnan(s["turnover"])


@settings(max_examples=200, deadline=None)
@given(
    # no subnormal equity: a return of +inf makes numpy's percentile warn (inf - inf), not a case to compare
    values=st.lists(st.one_of(st.just(0.0), st.floats(1e-3, 200.0), st.floats(-50.0, -1e-3)), min_size=1, max_size=80),
    level=st.floats(0.01, 0.99),
    risk_free=st.sampled_from([0.0, 0.03]),
)
def test_the_one_pass_agrees_with_the_array_functions(values: list[float], level: float, risk_free: float) -> None:
    """The summary's one pass over the equity (ruin included) is the array functions on ``Result.returns``:
    order statistics, products and drawdown rows exactly, sums to 1e-12 relative."""
    day = dt.timedelta(days=1)
    ts = [dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + i * day for i in range(len(values))]
    result = Result.from_equity(ts, values, init_cash=100.0, periods_per_year=252)
    s = m.summary(result, risk_free=risk_free, var_level=level).row(0, named=True)
    r = result.returns["return"].to_numpy()
    exact = {
        "total_return": m.total_return(r),
        "max_drawdown": m.max_drawdown(r),
        "max_drawdown_duration_bars": m.max_drawdown_duration(r),
        "var": m.value_at_risk(r, level),
    }
    close = {
        "annual_return": m.annual_return(r, 252),
        "calmar_ratio": m.calmar_ratio(r, 252),
        "annual_volatility": m.annual_volatility(r, 252),
        "sharpe_ratio": m.sharpe_ratio(r, 252, risk_free=risk_free),
        "sortino_ratio": m.sortino_ratio(r, 252, risk_free=risk_free),
        "cvar": m.conditional_value_at_risk(r, level),
    }
    for name, want in exact.items():
        assert s[name] == want or (math.isnan(s[name]) and math.isnan(want)), (name, s[name], want)
    # a mean's rounding (summation order, r - rf) moves the deviations by ~eps * |mean|: relative to the
    # deviation itself that is |mean| / std times more (near-constant returns), so the bound scales with it
    valid = r[~np.isnan(r)]
    std = float(np.std(valid, ddof=1)) if valid.size > 1 else 0.0
    conditioning = 1.0 + (abs(float(valid.mean())) / std if std > 0 else 0.0)
    for name, want in close.items():
        got = s[name]
        if math.isnan(want) or math.isinf(want):
            assert got == want or (math.isnan(got) and math.isnan(want)), (name, got, want)
        else:
            assert got == pytest.approx(want, rel=1e-12 * conditioning, abs=1e-12), (name, got, want)
