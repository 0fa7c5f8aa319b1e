"""Close-only bars (a close and no open, high or low): accepted and held without inventing the missing prices,
close execution only in both modes, and the vectorized run on them equals vectorbt's ``from_signals`` on the
same close matrix (NaN before a listing and after a delisting)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import polars as pl
import pytest

from ml4t import ConfigError, DataError, OrderError
from ml4t.costs import VolumeImpact
from ml4t.data import bars, load_bars
from ml4t.event import Engine, Strategy
from ml4t.vectorized import VectorizedStrategy

UTC = dt.UTC
DAYS = [dt.datetime(2021, 3, 1, tzinfo=UTC) + dt.timedelta(days=i) for i in range(6)]


def _close_only() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "timestamp": DAYS[:4] * 2,
            "symbol": ["A"] * 4 + ["B"] * 4,
            "close": [10.0, 11.0, 10.5, 12.0, 20.0, 19.0, 21.0, 22.0],
        }
    )


def _up_down() -> dict[str, pl.Expr]:
    return {"entries": pl.col("close") > pl.col("close").shift(1), "exits": pl.col("close") < pl.col("close").shift(1)}


def _with_tp() -> dict[str, pl.Expr]:
    return {**_up_down(), "tp_stop": pl.lit(0.1)}


def test_a_long_frame_with_close_only_is_accepted_and_nothing_is_invented():
    b = bars(_close_only())
    assert b.close_only and "close-only" in repr(b)
    frame = b.frame
    assert frame["close"].to_list() == [10.0, 20.0, 11.0, 19.0, 10.5, 21.0, 12.0, 22.0]
    for name in ("open", "high", "low", "volume"):
        assert frame[name].null_count() == frame.height
    panel = b.panel()
    assert np.isnan(panel.open).all() and np.isnan(panel.high).all() and np.isnan(panel.low).all()
    assert np.isnan(b.stream("UTC").columns["open"]).all()


def test_full_ohlc_bars_are_not_close_only(make_frame):
    assert not bars(make_frame()).close_only


def test_close_only_keeps_a_given_volume_and_checks_it():
    b = bars(_close_only().with_columns(pl.lit(100.0).alias("volume")))
    assert b.close_only and b.frame["volume"].to_list() == [100.0] * 8
    holes = _close_only().with_columns(pl.Series("volume", [1.0, None, 1, 1, 1, 1, 1, 1]))
    with pytest.raises(DataError, match="volume") as info:
        bars(holes)
    assert info.value.symbol == "A"


def test_some_of_open_high_low_is_not_close_only():
    with pytest.raises(DataError, match=r"missing required column\(s\) \['high', 'low', 'volume'\].*close-only"):
        bars(_close_only().with_columns(pl.col("close").alias("open")))


def test_a_given_open_column_of_nulls_is_an_error_not_close_only():
    frame = _close_only().with_columns(
        pl.lit(None, dtype=pl.Float64).alias("open"), pl.col("close").alias("high"), pl.col("close").alias("low")
    )
    with pytest.raises(DataError, match="null, NaN or infinite open"):
        bars(frame.with_columns(pl.lit(1.0).alias("volume")))


@pytest.mark.parametrize(
    ("fn", "settings", "argument"),
    [
        (_up_down, {"execution": "next_open"}, "execution"),
        (_up_down, {"sl_stop": 0.05}, "sl_stop"),
        (_up_down, {"tp_stop": 0.05}, "tp_stop"),
        (_with_tp, {}, "tp_stop"),
    ],
)
def test_the_vectorized_mode_refuses_fills_that_need_open_high_or_low(fn, settings, argument):
    b = bars(_close_only())
    strategy = VectorizedStrategy(fn, **settings)
    with pytest.raises(ConfigError, match="close-only") as info:
        strategy.run(b)
    assert info.value.argument == argument
    with pytest.raises(ConfigError, match="close-only"):
        strategy.sweep(b)


def test_the_vectorized_mode_fills_close_only_bars_at_the_close():
    result = VectorizedStrategy(_up_down, init_cash=1000.0).run(bars(_close_only()))
    orders = result.orders.sort("order_id")
    # A rises at bar 1 (11 > 10): all cash buys at that close; B falls at bar 1: nothing to exit
    first = orders.row(0, named=True)
    assert (first["symbol"], first["side"], first["avg_fill_price"]) == ("A", "buy", 11.0)


class _Limit(Strategy):
    def on_bar(self, ctx, batch):
        ctx.order("A", 1, limit=5.0)


class _Buy(Strategy):
    def on_bar(self, ctx, batch):
        if ctx.position("A") == 0:
            ctx.order("A", 2)


def test_the_event_engine_refuses_next_open_execution_on_close_only_bars():
    with pytest.raises(ConfigError, match="close-only") as info:
        Engine(bars(_close_only()), _Buy())
    assert info.value.argument == "execution"


def test_the_event_engine_refuses_stop_and_limit_orders_on_close_only_bars():
    with pytest.raises(OrderError, match="close-only") as info:
        Engine(bars(_close_only()), _Limit(), execution="close").run()
    assert info.value.symbol == "A" and info.value.argument == "limit"


def test_the_event_engine_fills_market_orders_at_the_close_of_close_only_bars():
    result = Engine(bars(_close_only()), _Buy(), execution="close").run()
    fill = result.fills.row(0, named=True)
    assert (fill["symbol"], fill["quantity"], fill["fill_price"]) == ("A", 2.0, 10.0)


def test_load_bars_reads_a_close_only_file(tmp_path):
    path = tmp_path / "spy.csv"
    path.write_text("Date,Close,Adj Close\n2021-03-01,10,5\n2021-03-02,12,6\n")
    b = load_bars(path, tz="UTC", adjust=True)
    assert b.close_only and b.symbols == ["spy"]
    assert b.frame["close"].to_list() == [5.0, 6.0]


# ------------------------------------------------------------------------------ parity against vectorbt
vbt = pytest.importorskip("vectorbt")


def _listed_closes(seed: int) -> pd.DataFrame:
    """Closes of four symbols on 60 days: one listed late, one delisted early, one with a gap."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2021-01-01", periods=60, freq="D")
    closes = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, (60, 4)), axis=0))
    wide = pd.DataFrame(closes, index=index, columns=["AAA", "BBB", "CCC", "DDD"])
    wide.iloc[:15, 1] = np.nan  # BBB lists on day 15
    wide.iloc[40:, 2] = np.nan  # CCC delists after day 39
    wide.iloc[20:25, 3] = np.nan  # DDD has no bar on days 20..24
    return wide


def _signals_of(wide: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Entries where a symbol's close rose since its previous bar, exits where it fell (on its own bars)."""
    entries, exits = wide.copy(), wide.copy()
    for name in wide.columns:
        own = wide[name].dropna()
        entries[name] = (own > own.shift(1)).reindex(wide.index, fill_value=False)
        exits[name] = (own < own.shift(1)).reindex(wide.index, fill_value=False)
    return entries.astype(bool), exits.astype(bool)


@pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.rename is deprecated")
@pytest.mark.filterwarnings("ignore::ml4t.errors.RejectionWarning")  # all-cash entries under shared cash
@pytest.mark.parametrize("cash_sharing", [False, True])
@pytest.mark.parametrize("seed", [1, 2])
def test_close_only_listings_match_vectorbt_from_signals(seed, cash_sharing):
    wide = _listed_closes(seed)
    entries, exits = _signals_of(wide)
    b = bars(wide.rename_axis("date"), tz="UTC")
    # vectorbt's default call sequence is the column order: ml4t's order="symbol"
    shared = {"cash_sharing": True, "order": "symbol"} if cash_sharing else {}
    result = VectorizedStrategy(_up_down, init_cash=1000.0, fees=0.001, **shared).run(b)
    init = 1000.0 if cash_sharing else 1000.0 * wide.shape[1]
    pf = vbt.Portfolio.from_signals(
        wide, entries, exits, init_cash=1000.0, fees=0.001, group_by=True, cash_sharing=cash_sharing, freq="1D"
    )
    expected = pf.value().to_numpy()
    np.testing.assert_allclose(result.equity["equity"].to_numpy(), expected, rtol=1e-9)
    assert result.fills.height == int(pf.orders.count().sum())
    assert result.equity["equity"][0] == pytest.approx(init)


def test_close_only_bars_round_trip_through_their_frame():
    b = bars(_close_only())
    again = bars(b.frame)
    assert again.close_only and again.fingerprint() == b.fingerprint()
    nan_ohlc = _close_only().with_columns(pl.lit(float("nan")).alias(name) for name in ("open", "high", "low"))
    assert bars(nan_ohlc).fingerprint() == b.fingerprint()


@pytest.mark.parametrize(
    ("settings", "argument"),
    [({"participation": 0.1}, "participation"), ({"slippage": VolumeImpact(coefficient=0.1)}, "slippage")],
)
def test_volume_models_are_refused_on_bars_without_volume(settings, argument):
    with pytest.raises(ConfigError, match="volume") as info:
        Engine(bars(_close_only()), _Buy(), execution="close", **settings)
    assert info.value.argument == argument
    with_volume = bars(_close_only().with_columns(pl.lit(1e6).alias("volume")))
    assert with_volume.has_volume and not bars(_close_only()).has_volume
    Engine(with_volume, _Buy(), execution="close", **settings).run()
