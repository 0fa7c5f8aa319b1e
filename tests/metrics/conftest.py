"""A small hand-built Result whose statistics are worked out by hand in the tests."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from ml4t.result import (
    EQUITY_SCHEMA,
    FILLS_SCHEMA,
    ORDERS_SCHEMA,
    POSITIONS_SCHEMA,
    TRADES_SCHEMA,
    Result,
    empty_frame,
)

DAY = dt.timedelta(days=1)
T0 = dt.datetime(2024, 1, 1, 21, tzinfo=dt.UTC)
BARS = [T0 + i * DAY for i in range(5)]
EQUITY = [1000.0, 1010.0, 990.0, 1020.0, 1030.0]


@pytest.fixture
def hand_result() -> Result:
    """Five daily bars, two symbols.

    positions: A long 10 on bars 1-2, B short 5 on bars 2-3 -> 3 of 5 bars invested.
    fills: buy 10 A @ 50, sell 5 B @ 50, sell 10 A @ 49 -> traded value 1240.
    trades: closed A (-11, held 2 days), closed C (+30, held 1 day), closed D (0, held 3 hours),
    open B (+5, not counted in the closed-trade statistics).
    """
    equity = pl.DataFrame({"ts_event": BARS, "cash": EQUITY, "equity": EQUITY}, schema=EQUITY_SCHEMA)
    pos = {  # bar -> (A qty, A value, B qty, B value)
        0: (0.0, 0.0, 0.0, 0.0),
        1: (10.0, 500.0, 0.0, 0.0),
        2: (10.0, 480.0, -5.0, -250.0),
        3: (0.0, 0.0, -5.0, -240.0),
        4: (0.0, 0.0, 0.0, 0.0),
    }
    rows = []
    for i, (qa, va, qb, vb) in pos.items():
        rows.append(
            {"ts_event": BARS[i], "symbol": "A", "position_qty": qa, "market_price": 50.0, "position_value": va}
        )
        rows.append(
            {"ts_event": BARS[i], "symbol": "B", "position_qty": qb, "market_price": 50.0, "position_value": vb}
        )
    positions = pl.DataFrame(rows, schema=POSITIONS_SCHEMA)
    fill_rows = [
        (1, 1, BARS[1], "A", "buy", 10.0, 50.0, 1.0, 0.0),
        (2, 2, BARS[2], "B", "sell", 5.0, 50.0, 0.5, 0.0),
        (3, 3, BARS[3], "A", "sell", 10.0, 49.0, 0.0, 0.0),
    ]
    fills = pl.DataFrame(fill_rows, schema=FILLS_SCHEMA, orient="row")
    h3 = dt.timedelta(hours=3)
    trade_rows = [
        (1, "A", "long", "closed", BARS[1], BARS[3], 10.0, 50.0, 49.0, 1.0, -11.0, -11.0 / 500.0),
        (2, "C", "long", "closed", BARS[0], BARS[1], 1.0, 500.0, 530.0, 0.0, 30.0, 0.06),
        (3, "D", "short", "closed", BARS[2], BARS[2] + h3, 2.0, 10.0, 10.0, 0.0, 0.0, 0.0),
        (4, "B", "short", "open", BARS[2], None, 5.0, 50.0, 49.0, 0.0, 5.0, 0.02),
    ]
    trades = pl.DataFrame(trade_rows, schema=TRADES_SCHEMA, orient="row")
    return Result(
        equity=equity,
        positions=positions,
        orders=empty_frame(ORDERS_SCHEMA),
        fills=fills,
        trades=trades,
        init_cash=1000.0,
        periods_per_year=252.0,
    )
