"""One truth in a sweep: its rows are the metrics of the Results it can materialize.

A portfolio row (``scope == "portfolio"``, null ``symbol``) equals ``sweep.result(**params).metrics``; a
symbol row equals ``sweep.result(**params, symbol=s).metrics``, also on paths where equity reaches zero or
below (ruin is absorbing in both, see ``ml4t.metrics``).
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
from ml4t.datasets import synthetic_bars
from ml4t.errors import ConfigError, InsolvencyWarning
from ml4t.vectorized import VectorizedStrategy

FLOATS = ("total_return", "annual_return", "annual_volatility", "sharpe_ratio", "sortino_ratio")
FLOATS += ("max_drawdown", "calmar_ratio", "final_equity")
COUNTS = ("trade_count", "open_trade_count")
T0 = dt.datetime(2024, 1, 2, 21, tzinfo=dt.UTC)


def _same(row: dict, metrics: pl.DataFrame, where: str) -> None:
    want = metrics.row(0, named=True)
    for name in FLOATS:
        a, b = row[name], want[name]
        if math.isnan(b):
            assert math.isnan(a), (where, name, a, b)
        else:
            assert a == pytest.approx(b, rel=1e-12, abs=1e-12), (where, name, a, b)
    for name in COUNTS:
        assert row[name] == want[name], (where, name)


def _check_every_row(strat: VectorizedStrategy, sweep, names: tuple[str, ...]) -> None:
    for row in sweep.metrics.iter_rows(named=True):
        params = {k: row[k] for k in names}
        if row["scope"] == "portfolio":
            assert row["symbol"] is None
            _same(row, sweep.result(**params).metrics, f"{params} portfolio")
        else:
            assert row["scope"] == "symbol"
            _same(row, sweep.result(**params, symbol=row["symbol"]).metrics, f"{params} {row['symbol']}")


def _signals(k: int):
    """Column ``s{k}`` of the bars: 1 long entry, 2 long exit, 3 short entry, 4 short exit."""
    s = pl.col(f"s{k}")
    return {"entries": s == 1, "exits": s == 2, "short_entries": s == 3, "short_exits": s == 4}


@st.composite
def ruinous_bars(draw):
    """One or two symbols whose prices jump by up to 3x either way, with random signals per combination:
    all-in shorts before a jump up take equity to zero or below."""
    n_symbols = draw(st.integers(1, 2))
    n_bars = draw(st.integers(3, 25))
    frames = []
    for s in range(n_symbols):
        moves = draw(st.lists(st.sampled_from([0.33, 0.7, 0.95, 1.0, 1.05, 1.5, 2.2, 3.0]), min_size=n_bars,
                              max_size=n_bars))  # fmt: skip
        close = 10.0 * np.cumprod(moves)
        cols = {f"s{k}": draw(st.lists(st.integers(0, 4), min_size=n_bars, max_size=n_bars)) for k in range(3)}
        frames.append(
            pl.DataFrame(
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
        )
    return ml4t.data.bars(pl.concat(frames))


@pytest.mark.filterwarnings("ignore::ml4t.errors.Ml4tWarning")  # ruinous (and often refused cash) by construction
@settings(max_examples=60, deadline=None)
@given(bars=ruinous_bars(), cash_sharing=st.booleans(), execution=st.sampled_from(["close", "next_open"]))
def test_sweep_rows_equal_the_results_they_rank_even_after_ruin(bars, cash_sharing, execution):
    strat = VectorizedStrategy(_signals, cash_sharing=cash_sharing, execution=execution, periods_per_year=252)
    sweep = strat.sweep(bars, k=[0, 1, 2])
    _check_every_row(strat, sweep, ("k",))


def test_a_short_squeeze_ruins_the_sweep_row_and_the_result_alike():
    close = [10.0, 10.0, 25.0, 12.0, 8.0]  # short all-in at 10, the price goes to 25: equity 100k -> -150k
    frame = pl.DataFrame(
        {
            "timestamp": [T0 + dt.timedelta(days=i) for i in range(5)],
            "open": close, "high": close, "low": close, "close": close, "volume": 1e6,
            "s0": [3, 0, 0, 0, 4],
        }
    )  # fmt: skip
    strat = VectorizedStrategy(_signals, periods_per_year=252)
    sweep = strat.sweep(ml4t.data.bars(frame, symbol="X"), k=[0])
    row = sweep.metrics.row(0, named=True)
    with pytest.warns(InsolvencyWarning, match="2024-01-04"):
        res = sweep.result(k=0)
    assert res.insolvent_at == T0 + dt.timedelta(days=2)
    assert res.returns["return"].to_list() == [0.0, 0.0, -1.0, None, None]
    assert (row["total_return"], row["max_drawdown"], row["annual_return"]) == (-1.0, -1.0, -1.0)
    assert row["final_equity"] == res.equity["equity"][-1] == pytest.approx(100_000 + 10_000 * (10 - 8))
    _same(row, res.metrics, "squeeze")


def _cross(fast: int, slow: int):
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s, "short_entries": f < s}


@pytest.mark.filterwarnings("ignore::ml4t.errors.RejectionWarning")  # all-in on several symbols: many no-cash
@pytest.mark.parametrize("kwargs", [{}, {"fees": 0.002, "sl_stop": 0.05}, {"cash_sharing": True}])
def test_portfolio_and_symbol_rows_equal_their_results(kwargs):
    universe = synthetic_bars(3, 400, "1d", seed=4)
    strat = VectorizedStrategy(_cross, **kwargs)
    sweep = strat.sweep(universe, fast=[5, 10], slow=[30, 60])
    scopes = sweep.metrics.group_by("scope").len().sort("scope")
    if kwargs.get("cash_sharing"):
        # one account: the symbols have no equity of their own
        assert scopes.rows() == [("portfolio", 4)]
        with pytest.raises(ConfigError, match="cash_sharing"):
            sweep.result(fast=5, slow=30, symbol="A000")
    else:
        assert scopes.rows() == [("portfolio", 4), ("symbol", 12)]
    _check_every_row(strat, sweep, ("fast", "slow"))


def test_best_ranks_portfolio_rows_unless_asked_for_symbols():
    universe = synthetic_bars(3, 400, "1d", seed=4)
    sweep = VectorizedStrategy(_cross).sweep(universe, fast=[5, 10], slow=[30, 60])
    best = sweep.best("sharpe_ratio", n=10)
    assert best.height == 4 and set(best["scope"]) == {"portfolio"} and best["symbol"].null_count() == 4
    top = best.row(0, named=True)
    whole = sweep.result(fast=top["fast"], slow=top["slow"])
    assert top["sharpe_ratio"] == pytest.approx(whole.metrics["sharpe_ratio"][0], rel=1e-12)
    per_symbol = sweep.best("sharpe_ratio", n=3, scope="symbol")
    assert set(per_symbol["scope"]) == {"symbol"} and per_symbol["symbol"].null_count() == 0
    assert sweep.best(n=100, scope="all").height == sweep.metrics.height == 16
    with pytest.raises(ConfigError, match="scope"):
        sweep.best(scope="symbols")


def test_single_symbol_sweeps_have_portfolio_rows_and_result_by_symbol():
    bars = synthetic_bars(1, 300, "1d", seed=2)
    sweep = VectorizedStrategy(_cross).sweep(bars, fast=[5, 10], slow=[30])
    assert sweep.metrics["scope"].to_list() == ["portfolio", "portfolio"]
    whole, one = sweep.result(fast=5, slow=30), sweep.result(fast=5, slow=30, symbol=bars.symbols[0])
    assert whole.metrics.equals(one.metrics)


def test_result_symbol_must_be_in_the_sweep():
    universe = synthetic_bars(2, 200, "1d", seed=4)
    sweep = VectorizedStrategy(_cross).sweep(universe, fast=[5], slow=[30])
    with pytest.raises(ConfigError, match="ZZZ") as info:
        sweep.result(fast=5, slow=30, symbol="ZZZ")
    assert info.value.argument == "symbol"
    res = sweep.result(fast=5, slow=30, symbol="A001")
    assert set(res.positions["symbol"]) == {"A001"} and res.init_cash == 100_000.0


def test_a_parameter_named_like_a_metrics_column_is_refused():
    def rule(symbol: int):
        return {"entries": pl.col("close") > symbol, "exits": pl.col("close") < symbol}

    with pytest.raises(ConfigError, match="column of the sweep's metrics") as info:
        VectorizedStrategy(rule).sweep(synthetic_bars(1, 50, "1d", seed=1), symbol=[1, 2])
    assert info.value.argument == "symbol"


def test_a_reversal_that_fills_one_ulp_past_the_position_closes_it_flat_in_rows_and_results():
    """Found by the property above (2 symbols, shared cash, next_open): a long entry while short buys back the
    short plus whatever cash is left, here nothing, and the fill's quantity came out one ulp above the short.
    The ledger books that as flat (its tolerance); the Result's round trips used to open a 9e-13 long."""
    from ml4t._roundtrips import round_trips
    from ml4t.result import FILLS_SCHEMA

    short = 100_000 / 23.1
    ts = [T0, T0 + dt.timedelta(days=3)]
    fills = pl.DataFrame(
        {
            "fill_id": [0, 1], "order_id": [0, 1], "ts_event": ts, "symbol": ["S1", "S1"], "side": ["sell", "buy"],
            "quantity": [short, np.nextafter(short, np.inf)], "fill_price": [23.1, 46.0845], "fee": [0.0, 0.0],
            "slippage": [0.0, 0.0],
        },
        schema=FILLS_SCHEMA,
    )  # fmt: skip
    trades = round_trips(fills, {"S1": 2040.0})
    assert trades["status"].to_list() == ["closed"]
    assert trades["quantity"][0] == short
    assert trades["pnl"][0] == pytest.approx((23.1 - 46.0845) * short)


def test_a_grid_mixing_ints_and_floats_gives_float_columns_whatever_the_chunking():
    """A grid of numbers may mix ints and floats (`w=[1, 1.01]`): its column is Float64 in every chunk (the
    type of a column came from each chunk's values: a chunk of ints met a chunk of floats and the sweep
    failed), and each row still equals the result of its combination."""
    bars = synthetic_bars(2, 300, "1d", seed=3)

    def fn(w: float, k: float) -> dict:
        ma = pl.col("close").rolling_mean(10)
        return {"entries": pl.col("close") > ma * w, "exits": pl.col("close") < ma * k}

    strat = VectorizedStrategy(fn)
    whole = strat.sweep(bars, progress=False, w=[1, 1.01], k=[1, 0.99])
    chunked = strat.sweep(bars, progress=False, chunk_size=1, w=[1, 1.01], k=[1, 0.99])
    assert whole.metrics.schema["w"] == pl.Float64 and whole.metrics.schema["k"] == pl.Float64
    assert chunked.metrics.equals(whole.metrics)
    _check_every_row(strat, whole, ("w", "k"))
