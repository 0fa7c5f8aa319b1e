"""Fixtures for the point-in-time data layer tests: small, valid OHLCV frames built in memory."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import polars as pl
import pytest

UTC = dt.UTC
START = dt.datetime(2020, 1, 6, 21, 0, tzinfo=UTC)  # a Monday, 21:00 UTC


def _frame(
    symbols: Sequence[str] = ("AAA", "BBB"),
    n: int = 5,
    start: dt.datetime = START,
    step: dt.timedelta = dt.timedelta(days=1),
) -> pl.DataFrame:
    """``n`` valid bars per symbol, grouped by symbol (AAA's rows first), close rising by 1 per bar."""
    rows = []
    for k, symbol in enumerate(symbols):
        for i in range(n):
            base = 10.0 * (k + 1) + i
            rows.append(
                {
                    "timestamp": start + i * step,
                    "symbol": symbol,
                    "open": base,
                    "high": base + 1.0,
                    "low": base - 1.0,
                    "close": base + 0.5,
                    "volume": 1000.0 + i,
                }
            )
    return pl.DataFrame(rows).with_columns(pl.col("timestamp").cast(pl.Datetime("ns", "UTC")))


@pytest.fixture
def make_frame() -> Callable[..., pl.DataFrame]:
    """Factory of valid long OHLCV frames (see ``_frame``)."""
    return _frame


@pytest.fixture
def names_in() -> Callable[..., None]:
    """Assert an error's message names the column, the symbol and the (first offending) timestamp."""

    def check(exc: BaseException, *, column: str, symbol: str | None = None, timestamp: str | None = None) -> None:
        message = str(exc)
        assert f"column {column!r}" in message, message
        if symbol is not None:
            assert f"symbol {symbol!r}" in message, message
        if timestamp is not None:
            assert f"first at {timestamp}" in message, message

    return check
