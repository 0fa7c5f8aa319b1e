"""``ml4t.compare``: two runs that took different trades are told apart trade by trade, not folded into a
residual. The runs here differ by trades the test writes, so every amount has a reference computed from the bars'
closes by hand."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.event.scenario import panel, run

import ml4t
import ml4t.costs
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


@st.composite
def two_runs(draw: st.DrawFn) -> tuple[ml4t.Result, ml4t.Result]:
    """Two vectorized runs of random long/short signal streams on the same bars (the second a perturbation of
    the first: some flags moved by a bar or two, dropped or added), fixed sizes, fees and slippage."""
    n_assets, n_bars = draw(st.integers(1, 3)), draw(st.integers(10, 80))
    seed = draw(st.integers(0, 2**16))
    base = synthetic_bars(n_assets, n_bars, seed=seed).frame.drop("ts_arrival")
    rng = np.random.default_rng(seed)
    keys = ("entries", "exits", "short_entries", "short_exits")
    flags = {k: rng.random(base.height) < draw(st.sampled_from([0.05, 0.2])) for k in keys}
    moved = {}
    for k, v in flags.items():
        shift = rng.integers(-2, 3, base.height) * n_assets  # rows are (ts_event, symbol) ordered
        index = np.clip(np.arange(base.height) + shift, 0, base.height - 1)
        moved[k] = np.where(rng.random(base.height) < 0.2, v[index], v) ^ (rng.random(base.height) < 0.02)
    kw = {"size": 5.0, "fees": draw(st.sampled_from([0.0, 0.002])), "slippage": draw(st.sampled_from([0.0, 0.001]))}

    def run(f: dict[str, np.ndarray]) -> ml4t.Result:
        frame = base.with_columns(*(pl.Series(k, v) for k, v in f.items()))
        strategy = VectorizedStrategy(
            lambda: {k: pl.col(k) for k in keys},
            cash_sharing=True,
            init_cash=1e6,
            execution=draw(st.sampled_from(["close", "next_open"])),
            **kw,
        )
        return strategy.run(bars(frame))

    return run(flags), run(moved)


def _bars_apart(ts: pl.Series, x: object, y: object) -> int:
    """How many bars apart two trade times are; an open trade (None) exits one bar after the last."""
    index = {t: i for i, t in enumerate(ts.to_list())}
    return abs((len(ts) if x is None else index[x]) - (len(ts) if y is None else index[y]))


@settings(max_examples=60, deadline=None)
@given(two_runs())
@pytest.mark.filterwarnings("ignore::ml4t.errors.NoOrdersWarning")  # a sparse random stream may never trade
def test_the_trade_match_is_a_maximal_pairing_within_one_bar_and_the_causes_add_up(pair):
    a, b = pair
    gap = ml4t.compare(a, b)
    ts = a.equity["ts_event"]
    trades = gap.trades
    assert trades.filter(pl.col("match") != "only b").height == a.trades.height
    assert trades.filter(pl.col("match") != "only a").height == b.trades.height
    for row in trades.filter(pl.col("match") == "both").iter_rows(named=True):
        assert _bars_apart(ts, row["ts_entry_a"], row["ts_entry_b"]) <= 1
        assert _bars_apart(ts, row["ts_exit_a"], row["ts_exit_b"]) <= 1
    only_a = trades.filter(pl.col("match") == "only a").rows(named=True)
    only_b = trades.filter(pl.col("match") == "only b").rows(named=True)
    for x in only_a:  # nothing left unpaired that could have been paired
        for y in only_b:
            pairable = (x["symbol"], x["direction"]) == (y["symbol"], y["direction"])
            pairable = pairable and _bars_apart(ts, x["ts_entry_a"], y["ts_entry_b"]) <= 1
            assert not (pairable and _bars_apart(ts, x["ts_exit_a"], y["ts_exit_b"]) <= 1)
    amounts = dict(gap.attribution.iter_rows())
    total = amounts.pop("total (P&L)")
    assert sum(amounts.values()) == pytest.approx(total, rel=1e-9, abs=1e-6)
    unmatched_pnl = sum(r["pnl_b"] for r in only_b) - sum(r["pnl_a"] for r in only_a)
    # before costs: differs from the net P&L of the unmatched trades by at most their costs
    costs = a.fills["fee"].sum() + a.fills["slippage"].sum() + b.fills["fee"].sum() + b.fills["slippage"].sum()
    assert abs(amounts["different trades"] - unmatched_pnl) <= costs + 1e-6


def test_event_runs_with_a_split_and_a_dividend_pair_their_trades_and_the_dividend_has_its_row():
    """A split scales an open trade (round trips are rebuilt with it) and a dividend pays cash outside any
    trade: run b holds through the dividend, run a sells the day before; slippage per trade is allocated."""
    from tests.event.scenario import FLAT, make_bars, run

    rows = [FLAT, FLAT, (50.0, 51.0, 49.0, 50.0, 1e6), (50.0, 51.0, 49.0, 50.0, 1e6), (50.0, 51.0, 49.0, 50.0, 1e6)]
    data = make_bars(rows, split=[1.0, 1.0, 2.0, 1.0, 1.0], dividend=[0.0, 0.0, 0.0, 0.25, 0.0])
    bps = ml4t.costs.Bps(10)
    a, _ = run(data, {0: lambda ctx: ctx.order("X", 10), 1: lambda ctx: ctx.order("X", -10)}, slippage=bps)
    b, _ = run(data, {0: lambda ctx: ctx.order("X", 10), 3: lambda ctx: ctx.order("X", -20)}, slippage=bps)
    assert b.meta["dividends"] == pytest.approx(20 * 0.25)
    gap = ml4t.compare(a, b)
    amounts = dict(gap.attribution.iter_rows())
    assert amounts["dividends"] == pytest.approx(5.0)
    assert gap.trades["match"].to_list() == ["only a", "only b"]  # exits two bars apart
    assert amounts["different trades"] == pytest.approx(
        sum(r["pnl_b"] for r in gap.trades.filter(pl.col("match") == "only b").iter_rows(named=True))
        - sum(r["pnl_a"] for r in gap.trades.filter(pl.col("match") == "only a").iter_rows(named=True))
        - amounts["commission"]
        - amounts["slippage"],
        rel=1e-9,
    )
    assert amounts["matched trades: timing, prices and sizes"] == pytest.approx(0.0, abs=1e-9)


def test_compare_reports_per_symbol_weight_turnover_and_cost_differences():
    # two event runs of one 2-symbol portfolio, rebalanced at bar 0 only, prices constant (A 100, B 50) so every
    # weight stays where the fills put it: a holds A 0.5 / B 0.3, b holds A 0.4 / B 0.3 and pays 0.1% commission
    data = panel({"A": [(100.0, 100.0, 100.0, 100.0, 1e6)] * 4, "B": [(50.0, 50.0, 50.0, 50.0, 1e6)] * 4})
    common = {"execution": "close", "fractional": True}
    a, _ = run(data, {0: lambda c: c.order_target_weights({"A": 0.5, "B": 0.3})}, **common)
    b, _ = run(
        data,
        {0: lambda c: c.order_target_weights({"A": 0.4, "B": 0.3})},
        commission=ml4t.costs.Percent(0.001),
        **common,
    )
    symbols = ml4t.compare(a, b).symbols
    assert symbols["symbol"].to_list() == ["A", "B"]
    row = {r["symbol"]: r for r in symbols.iter_rows(named=True)}
    equity_b = 10_000.0 - 0.001 * 7_000.0  # b's fees: 0.1% of 4,000 + 3,000 traded
    assert row["A"]["mean_weight_a"] == pytest.approx(0.5)
    assert row["A"]["mean_weight_b"] == pytest.approx(4_000.0 / equity_b)
    assert row["A"]["mean_abs_weight_difference"] == pytest.approx(0.5 - 4_000.0 / equity_b)
    assert row["A"]["max_abs_weight_difference"] == pytest.approx(0.5 - 4_000.0 / equity_b)
    assert row["B"]["mean_abs_weight_difference"] == pytest.approx(3_000.0 / equity_b - 0.3)
    assert row["A"]["turnover_a"] == pytest.approx(0.5)  # 5,000 traded over a mean equity of 10,000
    assert row["A"]["turnover_b"] == pytest.approx(4_000.0 / equity_b)
    assert (row["A"]["costs_a"], row["A"]["costs_b"]) == (0.0, pytest.approx(4.0))
    assert row["B"]["costs_b"] == pytest.approx(3.0)
    assert "per symbol:" in str(ml4t.compare(a, b))
