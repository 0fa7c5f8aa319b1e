"""VectorizedStrategy.run against hand-computed expectations."""

import math

import numpy as np
import polars as pl
import pytest

import ml4t
from ml4t.datasets import synthetic_bars
from ml4t.vectorized import VectorizedStrategy


def test_all_in_long_at_close_with_percent_and_fixed_fees(tiny, by_signal):
    res = VectorizedStrategy(by_signal, fees=0.01, fixed_fees=1.0, init_cash=1000.0).run(tiny)
    units = (1000.0 - 1.0) / 1.01 / 11.0  # entry at bar 1's close
    proceeds = units * 9.0  # exit at bar 3's close
    cash = proceeds - proceeds * 0.01 - 1.0
    assert res.equity["cash"].to_list() == pytest.approx([1000.0, 0.0, 0.0, cash, cash], rel=1e-12)
    assert res.equity["equity"].to_list() == pytest.approx([1000.0, units * 11, units * 12, cash, cash], rel=1e-12)
    assert res.orders["status"].to_list() == ["filled", "filled"]
    assert res.fills["quantity"].to_list() == pytest.approx([units, units], rel=1e-12)
    assert res.fills["fee"].to_list() == pytest.approx([1000.0 - 999.0 / 1.01, proceeds * 0.01 + 1.0], rel=1e-12)
    trade = res.trades.row(0, named=True)
    assert trade["status"] == "closed"
    assert trade["pnl"] == pytest.approx(cash - 1000.0, rel=1e-12)
    assert res.positions["position_qty"].to_list() == pytest.approx([0.0, units, units, 0.0, 0.0], rel=1e-12)


def test_next_open_fills_at_the_following_bars_open(tiny, by_signal):
    res = VectorizedStrategy(by_signal, execution="next_open", init_cash=1000.0).run(tiny)
    fills = res.fills
    assert fills["fill_price"].to_list() == [11.5, 9.5]  # bar 2's and bar 4's open
    assert fills["ts_event"].to_list() == tiny.frame["ts_event"].gather([2, 4]).to_list()


def test_slippage_moves_fills_against_the_trader(tiny, by_signal):
    res = VectorizedStrategy(by_signal, slippage=0.01, init_cash=1000.0).run(tiny)
    assert res.fills["fill_price"].to_list() == pytest.approx([11.0 * 1.01, 9.0 * 0.99])
    units = 1000.0 / (11.0 * 1.01)
    assert res.fills["slippage"].to_list() == pytest.approx([units * 0.11, units * 0.09])


def test_stop_loss_exits_intrabar_at_its_level(tiny):
    # entry at 11 (bar 1 close); a 10% stop sits at 9.9; bar 3's low 8.5 touches it (open 11 does not gap)
    res = VectorizedStrategy(lambda: {"entries": pl.col("signal") == 1}, sl_stop=0.1, init_cash=1000.0).run(tiny)
    assert res.fills["fill_price"].to_list() == pytest.approx([11.0, 9.9])
    assert res.fills["ts_event"][1] == tiny.frame["ts_event"][3]


def test_rejected_orders_are_data_with_a_reason(tiny, by_signal):
    res = VectorizedStrategy(by_signal, fixed_fees=2000.0, init_cash=1000.0).run(tiny)
    orders = res.orders
    assert orders["status"].to_list() == ["rejected"]
    assert orders["reason"].to_list() == ["cash cannot cover the fees"]
    assert res.fills.height == 0
    assert res.equity["equity"].to_list() == [1000.0] * 5


def test_short_entries_reverse_and_position_at_end_is_marked_not_closed(tiny):
    def flip():
        return {"entries": pl.col("signal") == 1, "short_entries": pl.col("signal") == -1}

    res = VectorizedStrategy(flip, init_cash=1000.0).run(tiny)
    units = 1000.0 / 11.0
    # bar 3: sell the long and short as much as the free cash allows, at 9
    assert res.fills["side"].to_list() == ["buy", "sell"]
    assert res.fills["quantity"][1] == pytest.approx(units + units * 9.0 / 9.0)
    assert res.positions["position_qty"][-1] == pytest.approx(-units)
    assert res.trades["status"].to_list() == ["closed", "open"]
    assert res.trades["direction"].to_list() == ["long", "short"]
    # marked at the last close (10): the short lost 1 per unit
    assert res.equity["equity"][-1] == pytest.approx(units * 9.0 - units * 1.0)


def test_entry_and_exit_on_one_bar_are_both_dropped(tiny):
    res = VectorizedStrategy(
        lambda: {"entries": pl.col("signal") >= 0, "exits": pl.col("signal") == 0}, init_cash=1000.0
    ).run(tiny)
    assert res.fills["ts_event"].to_list() == [tiny.frame["ts_event"][1]]  # only bar 1 has an entry alone


@pytest.mark.filterwarnings("ignore::ml4t.errors.RejectionWarning")  # all-in on several symbols: many no-cash
def test_run_and_sweep_agree_on_every_metric():
    universe = synthetic_bars(3, 800, "1d", seed=4)

    def both(fast: int, slow: int):
        f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
        return {"entries": f > s, "short_entries": f < s}

    for kwargs in (
        {},
        {"fees": 0.002, "fixed_fees": 3.0, "slippage": 0.001},
        {"cash_sharing": True},
        {"execution": "next_open", "sl_stop": 0.05, "tp_stop": 0.1},
    ):
        strat = VectorizedStrategy(both, **kwargs)
        sweep = strat.sweep(universe, fast=[5, 10], slow=[30])
        res = strat.run(universe, fast=10, slow=30)
        rows = sweep.metrics.filter(pl.col("fast") == 10)
        row = rows.filter(pl.col("scope") == "portfolio")  # the whole run, what run() returns
        assert row.height == 1
        for name in ("total_return", "sharpe_ratio", "sortino_ratio", "max_drawdown", "annual_volatility"):
            assert row[name][0] == pytest.approx(res.metrics[name][0], rel=1e-9), (kwargs, name)
        assert row["trade_count"][0] == res.trades.filter(pl.col("status") == "closed").height
        per_symbol = rows.filter(pl.col("scope") == "symbol")
        if kwargs.get("cash_sharing"):
            assert per_symbol.height == 0  # one account: no per-symbol equity
        else:
            # each symbol trades its own account: the portfolio is their sum
            assert per_symbol["symbol"].to_list() == universe.symbols
            assert per_symbol["final_equity"].sum() == pytest.approx(res.equity["equity"][-1], rel=1e-12)


def test_missing_bars_of_one_symbol_are_not_traded():
    universe = synthetic_bars(2, 50, "1d", seed=2)
    gappy = ml4t.data.bars(
        universe.frame.filter(~((pl.col("symbol") == "A001") & (pl.int_range(pl.len()) % 7 == 3)))
        .drop("ts_arrival")
        .rename({"ts_event": "timestamp"})
    )
    res = VectorizedStrategy(lambda: {"entries": pl.lit(True), "exits": pl.lit(False)}).run(gappy)
    assert res.orders["status"].to_list() == ["filled", "filled"]
    assert not math.isnan(res.equity["equity"][-1])
    assert np.isfinite(res.positions["market_price"].to_numpy()).all()


def test_chunking_does_not_change_the_sweep():
    universe = synthetic_bars(2, 300, "1d", seed=8)

    def rule(fast: int, slow: int, odd: bool):
        f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
        entries = f > s
        if odd:  # a NaN literal cannot be compiled: these combinations take the plain Polars path
            entries = entries | (pl.col("close") > math.nan)
        return {"entries": entries, "exits": f < s}

    strat = VectorizedStrategy(rule, fees=0.001)
    grids = {"fast": [3, 5, 8], "slow": [20, 40], "odd": [False, True]}
    whole = strat.sweep(universe, **grids).metrics
    for chunk_size in (1, 5):
        assert strat.sweep(universe, chunk_size=chunk_size, **grids).metrics.equals(whole)
    assert whole.height == 3 * 2 * 2 * (1 + 2)  # per combination: the portfolio and each symbol


@pytest.mark.filterwarnings("ignore::ml4t.errors.RejectionWarning")  # all-in on several symbols: many no-cash
@pytest.mark.parametrize("cash_sharing", [False, True])
@pytest.mark.parametrize("execution", ["close", "next_open"])
def test_sweep_matches_run_when_a_symbol_has_missing_bars(cash_sharing, execution):
    base = synthetic_bars(3, 200, "1d", seed=9).frame
    gappy = ml4t.data.bars(
        base.filter(~((pl.col("symbol") == "A001") & (pl.int_range(pl.len()) % 5 == 2)))
        .drop("ts_arrival")
        .rename({"ts_event": "timestamp"})
    )

    def rule(fast: int, slow: int):
        f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
        return {"entries": f > s, "short_entries": f < s}

    strat = VectorizedStrategy(rule, fees=0.001, cash_sharing=cash_sharing, execution=execution)
    sweep = strat.sweep(gappy, fast=[3, 6], slow=[15])
    for fast in (3, 6):
        res = strat.run(gappy, fast=fast, slow=15)
        rows = sweep.metrics.filter((pl.col("fast") == fast) & (pl.col("scope") == "portfolio"))
        assert rows["final_equity"].item() == pytest.approx(res.equity["equity"][-1], rel=1e-12)
        assert rows["trade_count"].item() == res.trades.filter(pl.col("status") == "closed").height
