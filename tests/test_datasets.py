"""``ml4t.datasets.synthetic_bars``: determinism, OHLC consistency, shapes and calendars."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from ml4t import ConfigError
from ml4t.data import Bars, bars
from ml4t.datasets import synthetic_bars

UTC = dt.UTC


def test_same_seed_same_bars_other_seed_other_bars():
    a, b = synthetic_bars(3, 300, seed=7), synthetic_bars(3, 300, seed=7)
    assert a.frame.equals(b.frame)
    assert not a.frame.equals(synthetic_bars(3, 300, seed=8).frame)


def test_shapes_and_symbols():
    b = synthetic_bars(4, 250)
    assert isinstance(b, Bars) and len(b) == 1000
    assert b.symbols == ["A000", "A001", "A002", "A003"]
    assert b.frame.group_by("symbol").len()["len"].to_list() == [250] * 4
    assert synthetic_bars(1001, 2).symbols[-2:] == ["A0999", "A1000"]


def test_ohlc_consistency_and_plausible_values():
    f = synthetic_bars(20, 2520, seed=3).frame
    assert (f["high"] >= f[["open", "close"]].max_horizontal()).all()
    assert (f["low"] <= f[["open", "close"]].min_horizontal()).all()
    assert (f["low"] > 0).all() and (f["volume"] >= 0).all()
    first = f.group_by("symbol").first()["open"]
    assert first.min() > 15 and first.max() < 250
    wide = synthetic_bars(20, 2520, seed=3).wide("close").drop("ts_event").to_numpy()
    log_returns = np.diff(np.log(wide), axis=0)
    annual_vol = log_returns.std(axis=0) * np.sqrt(365.25 * 5 / 7)
    assert annual_vol.min() > 0.12 and annual_vol.max() < 0.5
    correlation = np.corrcoef(log_returns.T)[np.triu_indices(20, 1)]
    assert 0.05 < correlation.mean() < 0.6  # one common factor


def test_volume_is_larger_on_big_moves():
    b = synthetic_bars(1, 5000, seed=1)
    f = b.frame.with_columns(pl.col("close").log().diff().abs().alias("move")).drop_nulls()
    big = f.filter(pl.col("move") > pl.col("move").quantile(0.9))["volume"].median()
    small = f.filter(pl.col("move") < pl.col("move").quantile(0.5))["volume"].median()
    assert big > small


def test_daily_calendar_weekdays_at_21_utc():
    b = synthetic_bars(2, 30)
    ts = b.frame["ts_event"]
    assert (ts.dt.weekday() <= 5).all()  # ISO weekday: Mon=1..Sun=7
    assert (ts.dt.hour() == 21).all() and (ts.dt.minute() == 0).all()
    assert b.start == dt.datetime(2015, 1, 2, 21, tzinfo=UTC)
    assert ts.unique().sort()[1] == dt.datetime(2015, 1, 5, 21, tzinfo=UTC)  # Friday, then Monday
    assert synthetic_bars(1, 3, start="2015-01-03").start == dt.datetime(2015, 1, 5, 21, tzinfo=UTC)


def test_intraday_sessions():
    b = synthetic_bars(1, 390 * 3, "1m")
    ts = b.frame["ts_event"]
    assert ts[0] == dt.datetime(2015, 1, 2, 14, 31, tzinfo=UTC)
    assert ts[389] == dt.datetime(2015, 1, 2, 21, 0, tzinfo=UTC)
    assert ts[390] == dt.datetime(2015, 1, 5, 14, 31, tzinfo=UTC)
    minutes = ts.dt.hour().cast(pl.Int32) * 60 + ts.dt.minute().cast(pl.Int32)
    assert minutes.min() == 14 * 60 + 31 and minutes.max() == 21 * 60
    hourly = synthetic_bars(1, 8, "1h").frame["ts_event"].dt.strftime("%H:%M").to_list()
    assert hourly == ["15:30", "16:30", "17:30", "18:30", "19:30", "20:30", "21:00", "15:30"]
    assert synthetic_bars(1, 8, "1h").freq == dt.timedelta(hours=1)


def test_continuous_calendar():
    b = synthetic_bars(1, 2000, "1m", calendar="24/7")
    gaps = b.frame["ts_event"].diff().drop_nulls().unique().to_list()
    assert gaps == [dt.timedelta(minutes=1)]
    assert b.start == dt.datetime(2015, 1, 2, 0, 1, tzinfo=UTC)


def test_periods_per_year_daily_weekdays():
    # Weekdays without holidays: 365.25 * 5 / 7 = 260.9 a year (an exchange calendar gives ~252).
    assert synthetic_bars(3, 2520).periods_per_year == pytest.approx(365.25 * 5 / 7, rel=0.005)


def test_periods_per_year_390_minute_sessions():
    b = synthetic_bars(1, 390 * 520, "1m")  # two years of weekday sessions
    assert b.periods_per_year == pytest.approx(390 * 365.25 * 5 / 7, rel=0.01)
    # Drop one session in 29 (about 9 holidays a year): 252 sessions a year, ~98,280 bars.
    frame = b.frame.filter(pl.col("ts_event").dt.date().rank("dense") % 29 != 0).drop("ts_arrival")
    assert bars(frame).periods_per_year == pytest.approx(98_280, rel=0.01)


def test_periods_per_year_24_7_minutes():
    assert synthetic_bars(1, 10_000, "1m", calendar="24/7").periods_per_year == pytest.approx(525_960)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"n_assets": 0}, "n_assets"),
        ({"n_bars": 0}, "n_bars"),
        ({"freq": "2d"}, "freq"),
        ({"freq": "0s"}, "freq"),
        ({"calendar": "nyse"}, "calendar"),
        ({"start": "Jan 2"}, "start"),
    ],
)
def test_bad_arguments(kwargs, argument):
    with pytest.raises(ConfigError) as info:
        synthetic_bars(**kwargs)
    assert info.value.argument == argument


def test_bars_cover_their_part_of_the_session():
    def span(b: Bars, row: int) -> tuple[dt.time, dt.time]:
        r = b.frame.row(row, named=True)
        return r["ts_start"].time(), r["ts_event"].time()

    assert span(synthetic_bars(1, 3), 1) == (dt.time(14, 30), dt.time(21))
    hourly = synthetic_bars(1, 7, "1h")
    assert [span(hourly, i) for i in (0, 5, 6)] == [
        (dt.time(14, 30), dt.time(15, 30)),
        (dt.time(19, 30), dt.time(20, 30)),
        (dt.time(20, 30), dt.time(21)),
    ]
    assert span(synthetic_bars(1, 2, "1h", calendar="24/7"), 0) == (dt.time(0), dt.time(1))


def test_an_order_decided_at_a_daily_close_with_latency_takes_the_next_open():
    from ml4t.event import Engine, Strategy

    class BuyOnce(Strategy):
        def on_bar(self, ctx, batch):
            if not ctx.open_orders() and ctx.position("A000") == 0:
                self.id = ctx.order("A000", 1)

    data = synthetic_bars(1, 3)
    strategy = BuyOnce()
    res = Engine(data, strategy, latency="1s").run()
    fill = res.fills.row(0, named=True)
    assert (fill["ts_event"], fill["fill_price"]) == (data.frame["ts_event"][1], data.frame["open"][1])
