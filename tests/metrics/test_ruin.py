"""Ruin is absorbing: the one definition of returns once equity reaches zero or below.

Returns are ``v_t / v_{t-1} - 1`` while ``v_{t-1} > 0``; the first bar whose equity is ``<= 0`` has return
exactly -1 (the whole equity is lost); every later bar has no return (null), whatever the equity does next.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics

import polars as pl
import pytest

from ml4t.result import POSITIONS_SCHEMA, Result

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


def test_exposure_while_ruined_is_not_a_number_in_the_averages() -> None:
    # 100 in A throughout: equity 200, 100, 0 (ruin while holding: no fraction), then -20 and flat (exposed to
    # nothing: 0); averages skip the bars without a fraction instead of taking an infinite or negative one
    res = _result([200.0, 100.0, 0.0, -20.0])
    ts = res.equity["ts_event"]
    held = [100.0, 100.0, 100.0, 0.0]
    positions = pl.DataFrame(
        {"ts_event": ts, "symbol": "A", "position_qty": [1.0, 1.0, 1.0, 0.0], "market_price": 100.0,
         "position_value": held},
        schema=POSITIONS_SCHEMA,
    )  # fmt: skip
    res = Result(**{**_frames_of(res), "positions": positions}, init_cash=100.0, periods_per_year=252)
    assert res.exposure["gross"].to_list() == [0.5, 1.0, None, 0.0]
    row = res.metrics.row(0, named=True)
    assert row["avg_gross_exposure"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    assert row["avg_net_exposure"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    assert row["avg_n_positions"] == pytest.approx(3 / 4)
    assert row["exposure"] == pytest.approx(3 / 4)


def _frames_of(res: Result) -> dict[str, pl.DataFrame]:
    return {k: getattr(res, k) for k in ("equity", "positions", "orders", "fills", "trades")}
