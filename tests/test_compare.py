"""``ml4t.compare``: two runs that took different trades are told apart trade by trade, not folded into a
residual. The runs here differ by trades the test writes, so every amount has a reference computed from the bars'
closes by hand."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import ml4t
from ml4t.data import bars
from ml4t.datasets import synthetic_bars
from ml4t.vectorized import VectorizedStrategy

N_BARS = 120
SIZE = 10.0
FEES = 0.001
# (symbol, entry bar, exit bar or None for a trade still open at the end)
A_TRADES = [("A000", 10, 20), ("A000", 40, 50), ("A001", 15, 30), ("A000", 80, 90), ("A001", 100, None)]
B_TRADES = [("A000", 10, 20), ("A000", 40, 51), ("A001", 15, 33), ("A001", 60, 70), ("A001", 101, None)]
MATCHED = [("A000", 10, 20, 10, 20), ("A000", 40, 50, 40, 51), ("A001", 100, None, 101, None)]
ONLY_A = [("A001", 15, 30), ("A000", 80, 90)]
ONLY_B = [("A001", 15, 33), ("A001", 60, 70)]


def _flags(frame: pl.DataFrame, trades: list[tuple[str, int, int | None]]) -> pl.DataFrame:
    symbols = frame["symbol"].unique(maintain_order=True).to_list()
    entries = np.zeros((N_BARS, len(symbols)), dtype=bool)
    exits = np.zeros_like(entries)
    for symbol, entry, exit_ in trades:
        entries[entry, symbols.index(symbol)] = True
        if exit_ is not None:
            exits[exit_, symbols.index(symbol)] = True
    return frame.with_columns(pl.Series("entry", entries.ravel()), pl.Series("exit", exits.ravel()))


@pytest.fixture(scope="module")
def runs() -> tuple[ml4t.Result, ml4t.Result, pl.DataFrame]:
    base = synthetic_bars(2, N_BARS, seed=21).frame.drop("ts_arrival")  # rows in (ts_event, symbol) order

    def run(trades: list[tuple[str, int, int | None]]) -> ml4t.Result:
        strategy = VectorizedStrategy(
            lambda: {"entries": pl.col("entry"), "exits": pl.col("exit")},
            size=SIZE,
            fees=FEES,
            cash_sharing=True,
            init_cash=1e6,
        )
        return strategy.run(bars(_flags(base, trades)))

    return run(A_TRADES), run(B_TRADES), base


def _close(base: pl.DataFrame, symbol: str, bar: int | None) -> float:
    closes = base.filter(pl.col("symbol") == symbol)["close"]
    return float(closes[-1 if bar is None else bar])


def _gross(base: pl.DataFrame, trades: list[tuple[str, int, int | None]]) -> float:
    """P&L before fees of long trades of SIZE units at the closes (an open trade marked at the last close)."""
    return sum(SIZE * (_close(base, s, x) - _close(base, s, e)) for s, e, x in trades)


def test_compare_pairs_round_trips_within_one_bar_and_lists_the_rest(runs):
    a, b, base = runs
    ts = base["ts_event"].unique(maintain_order=True)

    def at(bar: int | None) -> object:
        return None if bar is None else ts[bar]

    gap = ml4t.compare(a, b)
    trades = gap.trades
    assert trades.columns == [
        "symbol",
        "direction",
        "match",
        "ts_entry_a",
        "ts_exit_a",
        "quantity_a",
        "pnl_a",
        "ts_entry_b",
        "ts_exit_b",
        "quantity_b",
        "pnl_b",
    ]
    rows = trades.select("match", "symbol", "ts_entry_a", "ts_exit_a", "ts_entry_b", "ts_exit_b").rows()
    expected = (
        [("both", s, at(ea), at(xa), at(eb), at(xb)) for s, ea, xa, eb, xb in MATCHED]
        + [("only a", s, at(e), at(x), None, None) for s, e, x in ONLY_A]
        + [("only b", s, None, None, at(e), at(x)) for s, e, x in ONLY_B]
    )
    assert sorted(rows, key=repr) == sorted(expected, key=repr)
    text = str(gap)
    assert "3 matched, 2 only in vectorized (a), 2 only in vectorized (b)" in text


def test_compare_attributes_the_pnl_of_different_trades(runs):
    a, b, base = runs
    amounts = dict(ml4t.compare(a, b).attribution.iter_rows())
    total = (b.equity["equity"][-1] - b.init_cash) - (a.equity["equity"][-1] - a.init_cash)
    assert amounts["total (P&L)"] == pytest.approx(total, rel=1e-12)
    # different trades: the unmatched trades' P&L before costs (their fees are in "commission")
    assert amounts["different trades"] == pytest.approx(_gross(base, ONLY_B) - _gross(base, ONLY_A), rel=1e-9)
    # the rest: the matched trades' other exits and entries (A000 out one bar later, A001 in one bar later)
    matched_a = [(s, ea, xa) for s, ea, xa, _, _ in MATCHED]
    matched_b = [(s, eb, xb) for s, _, _, eb, xb in MATCHED]
    rest = amounts["matched trades: timing, prices and sizes"]
    assert rest == pytest.approx(_gross(base, matched_b) - _gross(base, matched_a), rel=1e-9)
    assert amounts["slippage"] == 0.0
    assert amounts["commission"] == pytest.approx(-(b.fills["fee"].sum() - a.fills["fee"].sum()), rel=1e-12)
    causes = [k for k in amounts if k != "total (P&L)"]
    assert sum(amounts[k] for k in causes) == pytest.approx(total, rel=1e-9)


def test_a_run_compared_with_itself_matches_every_trade(runs):
    a, _, _ = runs
    gap = ml4t.compare(a, a)
    assert (gap.trades["match"] == "both").all() and gap.trades.height == a.trades.height
    amounts = dict(gap.attribution.iter_rows())
    assert amounts["different trades"] == 0.0 and amounts["total (P&L)"] == 0.0
