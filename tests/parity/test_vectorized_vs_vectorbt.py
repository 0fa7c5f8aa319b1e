"""ml4t's vectorized mode against vectorbt's ``Portfolio.from_signals`` on the same random signals.

Signals are drawn at random and attached to the bars as boolean columns, so the very same signals go
through ml4t's public API (``VectorizedStrategy`` -> Rust kernel) and through vectorbt. Compared: every
fill (size, price, fees), the equity curve, trade counts exactly, and total return, Sharpe and max drawdown
to 1e-9 relative. vectorbt annualizes daily data with a 365-day year, so ml4t is given
``periods_per_year=365`` here (ml4t's own default infers it from the calendar instead).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml4t.data import Bars, bars
from ml4t.datasets import synthetic_bars
from ml4t.vectorized import VectorizedStrategy

vbt = pytest.importorskip("vectorbt")

# Random all-in strategies provoke many rejections and, with shorts, insolvency: the runs say so in an
# ml4t.errors.Ml4tWarning (tested in tests/event/test_solvency.py); parity is about the numbers.
# vectorbt 1.2's records_readable calls DataFrame.rename(inplace=True), deprecated in pandas 3.1
pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:The inplace keyword in DataFrame.rename is deprecated:pandas.errors.Pandas4Warning"
    ),
    pytest.mark.filterwarnings("ignore::ml4t.errors.Ml4tWarning"),
]

RTOL = 1e-9
KEYS = {"le": "entries", "lx": "exits", "se": "short_entries", "sx": "short_exits"}


def _universe(n_assets: int, n_bars: int, seed: int, p: float = 0.08) -> Bars:
    base = synthetic_bars(n_assets, n_bars, "1d", seed=seed).frame
    rng = np.random.default_rng(seed + 1000)
    cols = {k: rng.random(base.height) < p for k in KEYS}
    return bars(
        base.drop("ts_arrival")
        .rename({"ts_event": "timestamp"})
        .with_columns([pl.Series(k, v) for k, v in cols.items()])
    )


def _wide(universe: Bars, field: str) -> pd.DataFrame:
    wide = universe.frame.pivot(on="symbol", index="ts_event", values=field).sort("ts_event")
    index = pd.DatetimeIndex(wide["ts_event"].dt.replace_time_zone(None).to_numpy())
    return pd.DataFrame(wide.drop("ts_event").to_numpy(), index=index, columns=universe.symbols)


def _rule(keys: tuple[str, ...]):
    def rule():
        return {KEYS[k]: pl.col(k) for k in keys}

    return rule


def _compare(universe: Bars, keys: tuple[str, ...], *, next_open: bool = False, **settings_: object) -> None:
    ml4t_kw = dict(settings_)
    vbt_kw: dict[str, object] = {
        k: v
        for k, v in settings_.items()
        if k in ("fees", "fixed_fees", "slippage", "size", "size_type", "accumulate", "sl_stop", "tp_stop", "sl_trail")
    }
    if "stop_entry_price" in settings_:
        vbt_kw["stop_entry_price"] = {"fill": "fillprice", "close": "close"}[settings_["stop_entry_price"]]
    cash_sharing = bool(settings_.get("cash_sharing"))
    if cash_sharing:
        vbt_kw |= {"group_by": True, "cash_sharing": True}
    signals = {KEYS[k]: _wide(universe, k).astype(bool) for k in keys}
    if next_open:  # vectorbt's way: shift the signals one bar and fill at the open
        signals = {k: v.shift(1, fill_value=False) for k, v in signals.items()}
        vbt_kw["price"] = _wide(universe, "open")
    if "sl_stop" in settings_ or "tp_stop" in settings_:
        vbt_kw |= {"open": _wide(universe, "open"), "high": _wide(universe, "high"), "low": _wide(universe, "low")}
    close = _wide(universe, "close")
    pf = vbt.Portfolio.from_signals(close, **signals, init_cash=10_000.0, freq="1D", **vbt_kw)

    strat = VectorizedStrategy(
        _rule(keys),
        init_cash=10_000.0,
        periods_per_year=365.0,
        execution="next_open" if next_open else "close",
        **ml4t_kw,
    )
    res = strat.run(universe)
    sweep = strat.sweep(universe).metrics
    # vectorbt's columns: one per symbol without cash sharing (ml4t's symbol rows), else the one group
    per_symbol = not cash_sharing and len(universe.symbols) > 1
    sweep = sweep.filter(pl.col("scope") == ("symbol" if per_symbol else "portfolio"))

    # every fill: size, price, fees (vectorbt's order records are per column, in time order)
    ours = res.fills.sort("symbol", "ts_event", maintain_order=True)
    theirs = pf.orders.records_readable
    theirs = theirs.sort_values(["Column", "Timestamp"], kind="stable")
    assert len(ours) == len(theirs)
    np.testing.assert_allclose(ours["quantity"].to_numpy(), theirs["Size"].to_numpy(), rtol=RTOL)
    np.testing.assert_allclose(ours["fill_price"].to_numpy(), theirs["Price"].to_numpy(), rtol=RTOL)
    np.testing.assert_allclose(ours["fee"].to_numpy(), theirs["Fees"].to_numpy(), rtol=RTOL, atol=1e-9)
    assert ours["side"].to_list() == [s.lower() for s in theirs["Side"]]

    value = pf.value()
    total_value = value.to_numpy() if cash_sharing else value.to_numpy().sum(axis=1)
    np.testing.assert_allclose(res.equity["equity"].to_numpy(), total_value, rtol=RTOL)

    _compare_trades(res.trades, pf.trades.values, universe.symbols)

    trades = pf.trades
    counts = np.atleast_1d(trades.count().to_numpy() if hasattr(trades.count(), "to_numpy") else trades.count())
    open_counts = np.atleast_1d(np.asarray(trades.open.count()))
    assert res.trades.height == counts.sum()
    assert res.trades.filter(pl.col("status") == "open").height == open_counts.sum()
    assert sweep["trade_count"].to_numpy().tolist() == (counts - open_counts).tolist()

    # Max drawdown: ml4t (like empyrical) counts the initial cash as the first peak, so a loss on the first
    # bar is drawdown; vectorbt's running peak starts at the first bar's value (returns/nb.py,
    # drawdown_1d_nb). Same definition otherwise, so the expectation is vectorbt's value path with the
    # initial cash in front.
    values = np.atleast_2d(value.to_numpy().T)  # columns (or the one group) x bars
    path = np.hstack([np.full((values.shape[0], 1), 10_000.0), values])
    mdd = (path / np.maximum.accumulate(path, axis=1) - 1).min(axis=1)
    vbt_mdd = np.atleast_1d(np.asarray(pf.max_drawdown(), dtype=float))
    first_bar_ok = values[:, 0] >= 10_000.0
    np.testing.assert_allclose(mdd[first_bar_ok], vbt_mdd[first_bar_ok], rtol=RTOL)  # same where they can agree
    for ours_name, theirs_value in (
        ("total_return", pf.total_return()),
        ("sharpe_ratio", pf.sharpe_ratio()),
        ("max_drawdown", mdd),
    ):
        expected = np.atleast_1d(np.asarray(theirs_value, dtype=float))
        got = sweep[ours_name].to_numpy()
        finite = np.isfinite(expected)  # vectorbt's Sharpe is +-inf for a column that never trades; ours NaN
        np.testing.assert_allclose(got[finite], expected[finite], rtol=RTOL, atol=1e-12, err_msg=ours_name)


def _compare_trades(ours: pl.DataFrame, records: np.ndarray, symbols: list[str]) -> None:
    """Every round trip against vectorbt's exit-trade records (one per exit; an open one marked to the last
    close): size, entry and exit price, total fees, PnL, return, direction and status."""
    order = np.lexsort((records["entry_idx"], records["exit_idx"], records["col"]))
    theirs = records[order]
    ours = ours.with_columns(
        pl.col("symbol").replace_strict(symbols, list(range(len(symbols))), return_dtype=pl.Int64).alias("col")
    ).sort("col", "ts_entry", pl.col("ts_exit").fill_null(pl.lit(None)), nulls_last=True, maintain_order=True)
    assert ours.height == len(theirs)
    assert ours["col"].to_list() == theirs["col"].tolist()
    for ours_name, values in (
        ("quantity", theirs["size"]),
        ("entry_price", theirs["entry_price"]),
        ("exit_price", theirs["exit_price"]),
        ("fees", theirs["entry_fees"] + theirs["exit_fees"]),
        ("pnl", theirs["pnl"]),
        ("trade_return", theirs["return"]),
    ):
        np.testing.assert_allclose(ours[ours_name].to_numpy(), values, rtol=RTOL, atol=1e-9, err_msg=ours_name)
    assert ours["direction"].to_list() == ["long" if d == 0 else "short" for d in theirs["direction"]]
    assert ours["status"].to_list() == ["open" if st == 0 else "closed" for st in theirs["status"]]


@pytest.fixture(scope="module")
def universe() -> Bars:
    uni = _universe(3, 400, seed=7)
    _compare(_universe(1, 30, seed=1), ("le", "lx"))  # warm vectorbt's JIT once for the module
    return uni


def test_long_only_crossovers_the_issue_call(universe):
    _compare(universe, ("le", "lx"), fees=0.001)


def test_both_directions_with_short_entries(universe):
    _compare(universe, ("le", "lx", "se", "sx"), fees=0.002)


def test_reversals_without_exits(universe):
    _compare(universe, ("le", "se"), fees=0.001)


def test_percent_plus_fixed_fees(universe):
    _compare(universe, ("le", "lx", "se", "sx"), fees=0.0015, fixed_fees=3.0)


def test_slippage(universe):
    _compare(universe, ("le", "lx", "se", "sx"), fees=0.001, slippage=0.002)


def test_stop_loss_and_take_profit(universe):
    _compare(universe, ("le", "lx"), fees=0.001, sl_stop=0.04, tp_stop=0.06, stop_entry_price="fill")


def test_trailing_stop_both_directions(universe):
    _compare(universe, ("le", "se"), sl_stop=0.05, sl_trail=True, stop_entry_price="close")


def test_multi_asset_with_shared_cash(universe):
    # vectorbt's default call_seq is column order: ml4t's order="symbol" (the default, pro_rata, favours none)
    _compare(universe, ("le", "lx", "se", "sx"), fees=0.001, cash_sharing=True, order="symbol")


def test_next_open_execution(universe):
    _compare(universe, ("le", "lx", "se", "sx"), fees=0.001, next_open=True)


def test_fixed_size_and_accumulation(universe):
    _compare(universe, ("le", "lx"), size=5.0, accumulate=True, fees=0.001)
    _compare(universe, ("le", "lx", "se", "sx"), size=1000.0, size_type="value")


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    fees=st.sampled_from([0.0, 0.0005, 0.003]),
    fixed=st.sampled_from([0.0, 1.0]),
    p=st.sampled_from([0.03, 0.15, 0.4]),
    shared=st.booleans(),
)
def test_random_signals(universe, seed, fees, fixed, p, shared):
    _compare(
        _universe(2, 150, seed=seed, p=p),
        ("le", "lx", "se", "sx"),
        fees=fees,
        fixed_fees=fixed,
        cash_sharing=shared,
        order="symbol",  # vectorbt's default call_seq
    )
