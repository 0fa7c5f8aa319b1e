"""Ruin is absorbing: the one definition of returns once equity reaches zero or below.

Returns are ``v_t / v_{t-1} - 1`` while ``v_{t-1} > 0``; the first bar whose equity is ``<= 0`` has return
exactly -1 (the whole equity is lost); every later bar has no return (null), whatever the equity does next.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics

import pytest

from ml4t.result import Result

T0 = dt.datetime(2024, 1, 2, 21, tzinfo=dt.UTC)


def _result(equity: list[float], init_cash: float = 100.0) -> Result:
    ts = [T0 + dt.timedelta(days=i) for i in range(len(equity))]
    return Result.from_equity(ts, equity, init_cash=init_cash, periods_per_year=252)


def test_hand_made_ruin_path() -> None:
    # 100 -> 110 (+10%) -> 55 (-50%) -> -20 (ruin: -100%) -> 30 and 40 (after ruin: no return)
    res = _result([110.0, 55.0, -20.0, 30.0, 40.0])
    assert res.returns["return"].to_list() == [pytest.approx(0.1), pytest.approx(-0.5), -1.0, None, None]

    r = [110 / 100 - 1, 55 / 110 - 1, -1.0]
    mean, std = statistics.fmean(r), statistics.stdev(r)
    downside = math.sqrt(sum(min(x, 0.0) ** 2 for x in r) / len(r)) * math.sqrt(252)
    row = res.metrics.row(0, named=True)
    assert row["total_return"] == -1.0  # wealth 1.1 * 0.5 * 0 = 0
    assert row["annual_return"] == -1.0
    assert row["max_drawdown"] == -1.0
    assert row["calmar_ratio"] == -1.0
    assert row["annual_volatility"] == pytest.approx(std * math.sqrt(252), rel=1e-12)
    assert row["sharpe_ratio"] == pytest.approx(mean / std * math.sqrt(252), rel=1e-12)
    assert row["sortino_ratio"] == pytest.approx(mean * 252 / downside, rel=1e-12)
    assert row["final_equity"] == 40.0  # the equity itself is reported as it is


def test_equity_exactly_zero_is_ruin_and_recovery_is_not_measured() -> None:
    res = _result([50.0, 0.0, 10.0])
    assert res.returns["return"].to_list() == [-0.5, -1.0, None]
    assert res.metrics["total_return"][0] == -1.0


def test_a_negative_equity_is_not_read_as_a_gain() -> None:
    # v/p - 1 from -50 to -25 would be -0.5, from -50 to -100 would be +1.0: neither is a return
    res = _result([-50.0, -100.0, -25.0])
    assert res.returns["return"].to_list() == [-1.0, None, None]
    assert math.isnan(res.metrics["sharpe_ratio"][0])  # one return: no dispersion


def test_solvent_paths_are_unchanged() -> None:
    res = _result([101.0, 99.0, 120.0])
    assert res.returns["return"].to_list() == pytest.approx([0.01, 99 / 101 - 1, 120 / 99 - 1])
