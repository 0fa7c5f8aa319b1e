"""Trade statistics and activity on the hand-built Result of conftest.py, numbers worked out by hand."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

import ml4t.metrics as m
from ml4t.errors import DataError
from ml4t.result import TRADES_SCHEMA, Result, empty_frame


def test_trade_statistics_use_closed_trades(hand_result: Result) -> None:
    row = m.trade_statistics(hand_result.trades)
    assert row.schema == pl.Schema(m.TRADE_STATS_SCHEMA)
    assert row.height == 1
    s = row.row(0, named=True)
    assert s["trade_count"] == 3
    assert s["open_trade_count"] == 1
    assert s["win_rate"] == pytest.approx(1 / 3)  # the break-even trade is not a win
    assert s["profit_factor"] == pytest.approx(30 / 11)
    assert s["expectancy"] == pytest.approx(19 / 3)
    assert s["avg_trade_return"] == pytest.approx((-11 / 500 + 0.06 + 0.0) / 3)
    assert s["avg_holding_time"] == (dt.timedelta(days=2) + dt.timedelta(days=1) + dt.timedelta(hours=3)) / 3
    assert s["best_trade"] == 30.0
    assert s["worst_trade"] == -11.0


def test_no_trades() -> None:
    s = m.trade_statistics(empty_frame(TRADES_SCHEMA)).row(0, named=True)
    assert s["trade_count"] == 0
    assert s["open_trade_count"] == 0
    assert s["avg_holding_time"] is None
    for name in ("win_rate", "profit_factor", "expectancy", "avg_trade_return", "best_trade", "worst_trade"):
        assert math.isnan(s[name])


def test_profit_factor_edges() -> None:
    assert m.profit_factor([1.0, 2.0]) == math.inf  # profits, no losses
    assert m.profit_factor([-1.0, -2.0]) == 0.0
    assert math.isnan(m.profit_factor([]))
    assert math.isnan(m.profit_factor([0.0, 0.0]))
    assert m.profit_factor([3.0, -1.0, -0.5]) == pytest.approx(2.0)
    assert m.win_rate([1.0, 0.0, -1.0, 2.0]) == 0.5
    assert math.isnan(m.win_rate([]))
    assert math.isnan(m.expectancy([]))
    assert m.expectancy([1.0, np.nan, 3.0]) == 2.0  # NaN is skipped


def test_trade_statistics_checks_columns() -> None:
    with pytest.raises(DataError) as info:
        m.trade_statistics(empty_frame(TRADES_SCHEMA).drop("pnl"))
    assert info.value.column == "pnl"


def test_activity(hand_result: Result) -> None:
    s = m.activity_statistics(hand_result, 252).row(0, named=True)
    assert s["traded_value"] == pytest.approx(500 + 250 + 490)
    mean_equity = np.mean([1000, 1010, 990, 1020, 1030])
    assert s["turnover"] == pytest.approx(1240 / mean_equity * 252 / 5)
    assert s["exposure"] == pytest.approx(3 / 5)
    assert s["avg_gross_exposure"] == pytest.approx((0 + 500 / 1010 + 730 / 990 + 240 / 1020 + 0) / 5)


def test_portfolio_activity(hand_result: Result) -> None:
    s = m.activity_statistics(hand_result, 252).row(0, named=True)
    assert list(s) == list(m.ACTIVITY_STATS_SCHEMA)
    equity = np.array([1000, 1010, 990, 1020, 1030.0])
    net = np.array([0, 500, 480 - 250, -240, 0]) / equity
    assert s["avg_net_exposure"] == pytest.approx(net.mean(), rel=1e-12)
    assert s["avg_n_positions"] == pytest.approx((0 + 1 + 2 + 1 + 0) / 5)
    # the three fill bars are three rebalances; two-sided: each fill's value over its bar's equity
    assert s["rebalance_count"] == 3
    assert s["avg_rebalance_turnover"] == pytest.approx((500 / 1010 + 250 / 990 + 490 / 1020) / 3, rel=1e-12)


def test_activity_of_an_equity_curve_alone_is_zero() -> None:
    ts = [dt.datetime(2024, 1, d, tzinfo=dt.UTC) for d in range(1, 6)]
    result = Result.from_equity(ts, [100.0, 101.0, 0.0, 99.0, 98.0], periods_per_year=252)
    s = m.activity_statistics(result, 252).row(0, named=True)
    assert math.isnan(s.pop("avg_rebalance_turnover"))  # no rebalance to average over
    assert s == {
        "turnover": 0.0,
        "traded_value": 0.0,
        "exposure": 0.0,
        "avg_gross_exposure": 0.0,
        "avg_net_exposure": 0.0,
        "avg_n_positions": 0.0,
        "rebalance_count": 0,
    }
