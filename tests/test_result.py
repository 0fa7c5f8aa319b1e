import datetime as dt

import numpy as np
import polars as pl
import pytest

import ml4t
from ml4t.result import EQUITY_SCHEMA, FILLS_SCHEMA, ORDERS_SCHEMA, POSITIONS_SCHEMA, TRADES_SCHEMA, empty_frame


def _ts(n):
    start = dt.datetime(2024, 1, 1, 21, tzinfo=dt.UTC)
    return [start + dt.timedelta(days=i) for i in range(n)]


def _frames(equity):
    return {
        "equity": equity,
        "positions": empty_frame(POSITIONS_SCHEMA),
        "orders": empty_frame(ORDERS_SCHEMA),
        "fills": empty_frame(FILLS_SCHEMA),
        "trades": empty_frame(TRADES_SCHEMA),
    }


def test_from_equity_returns_start_from_init_cash():
    res = ml4t.Result.from_equity(_ts(3), [99.0, 110.0, 99.0], init_cash=100.0, periods_per_year=252)
    assert res.returns["return"].to_list() == pytest.approx([-0.01, 110 / 99 - 1, 99 / 110 - 1])
    assert res.equity.schema == pl.Schema(EQUITY_SCHEMA)
    assert "3 bars" in repr(res)


def test_from_equity_defaults_init_cash_to_first_value():
    res = ml4t.Result.from_equity(_ts(2), np.array([50.0, 55.0]))
    assert res.init_cash == 50.0
    assert res.returns["return"].to_list() == pytest.approx([0.0, 0.1])


def test_from_equity_converts_other_timezones_to_utc():
    ts = pl.Series(_ts(2)).dt.convert_time_zone("America/New_York")
    res = ml4t.Result.from_equity(ts, [1.0, 2.0])
    assert res.equity["ts_event"].dtype == pl.Datetime("ns", "UTC")
    assert res.equity["ts_event"][0] == _ts(1)[0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ts_event": [dt.datetime(2024, 1, 1)], "equity": [1.0]}, "tz-aware"),  # noqa: DTZ001
        ({"ts_event": _ts(2), "equity": [1.0]}, "1 values but ts_event has 2"),
        ({"ts_event": [], "equity": []}, "empty"),
        ({"ts_event": _ts(2), "equity": [1.0, float("nan")]}, r"NaN.*first at 2024-01-02T21:00:00\+00:00"),
    ],
)
def test_from_equity_rejects_bad_input(kwargs, match):
    with pytest.raises(ml4t.DataError, match=match):
        ml4t.Result.from_equity(**kwargs)


def test_schema_is_enforced_with_the_column_named():
    equity = pl.DataFrame({"ts_event": pl.Series(_ts(2)).cast(pl.Datetime("ns", "UTC")), "equity": [1.0, 2.0]})
    with pytest.raises(ml4t.DataError, match=r"missing a required column \[argument 'equity', column 'cash'\]"):
        ml4t.Result(**_frames(equity), init_cash=1.0)
    bad_dtype = equity.with_columns(cash=pl.lit(1, dtype=pl.Int64))
    with pytest.raises(ml4t.DataError, match="column 'cash'"):
        ml4t.Result(**_frames(bad_dtype), init_cash=1.0)


def test_equity_timestamps_must_increase():
    ts = pl.Series(_ts(3)[::-1]).cast(pl.Datetime("ns", "UTC"))
    equity = pl.DataFrame({"ts_event": ts, "cash": [1.0] * 3, "equity": [1.0] * 3})
    with pytest.raises(ml4t.DataError, match=r"strictly increasing.*first at 2024-01-02"):
        ml4t.Result(**_frames(equity), init_cash=1.0)


def test_unknown_order_status_and_bad_settings_are_rejected():
    res = ml4t.Result.from_equity(_ts(2), [1.0, 2.0])
    orders = (
        pl.DataFrame([{"order_id": 1, "status": "lost"}])
        .with_columns(
            [pl.lit(None, dtype=t).alias(c) for c, t in ORDERS_SCHEMA.items() if c not in ("order_id", "status")]
        )
        .select(list(ORDERS_SCHEMA))
        .cast(ORDERS_SCHEMA)
    )
    frames = _frames(res.equity) | {"orders": orders}
    with pytest.raises(ml4t.DataError, match="unknown statuses"):
        ml4t.Result(**frames, init_cash=1.0)
    with pytest.raises(ml4t.DataError, match="init_cash"):
        ml4t.Result(**_frames(res.equity), init_cash=0.0)
    with pytest.raises(ml4t.DataError, match="periods_per_year"):
        ml4t.Result(**_frames(res.equity), init_cash=1.0, periods_per_year=-1)


def test_result_is_immutable():
    res = ml4t.Result.from_equity(_ts(2), [1.0, 2.0])
    with pytest.raises(AttributeError):
        res.init_cash = 5.0  # type: ignore[misc]
