import datetime as dt

import polars as pl
import pytest

from ml4t.data import bars


@pytest.fixture
def tiny():
    """Five daily bars of one asset with hand-checkable prices."""
    t0 = dt.datetime(2024, 1, 1, 21, tzinfo=dt.UTC)
    close = [10.0, 11.0, 12.0, 9.0, 10.0]
    frame = pl.DataFrame(
        {
            "timestamp": [t0 + dt.timedelta(days=i) for i in range(5)],
            "open": [10.0, 10.5, 11.5, 11.0, 9.5],
            "high": [10.5, 11.5, 12.5, 11.0, 10.5],
            "low": [9.5, 10.0, 11.0, 8.5, 9.0],
            "close": close,
            "volume": [1000.0] * 5,
            "signal": [0, 1, 0, -1, 0],
        }
    )
    return bars(frame, symbol="X")


@pytest.fixture
def by_signal():
    """Entries where the bars' own ``signal`` column is 1, exits where it is -1."""

    def rule():
        return {"entries": pl.col("signal") == 1, "exits": pl.col("signal") == -1}

    return rule
