"""Vectorized mode: reason codes, insolvency reported, rejection summary, bounded init_cash (issue #10)."""

import datetime as dt

import polars as pl
import pytest

from ml4t.data import bars
from ml4t.errors import ConfigError, InsolvencyWarning, RejectionWarning
from ml4t.vectorized import VectorizedStrategy

T0 = dt.datetime(2024, 1, 1, 21, tzinfo=dt.UTC)


def closes(values: list[float], signal: list[int]):
    return bars(
        pl.DataFrame(
            {
                "timestamp": [T0 + dt.timedelta(days=i) for i in range(len(values))],
                "open": values,
                "high": values,
                "low": values,
                "close": values,
                "volume": [1e6] * len(values),
                "signal": signal,
            }
        ),
        symbol="X",
    )


def test_rejections_carry_the_kernels_reason_code(tiny, by_signal):
    res = VectorizedStrategy(by_signal, fixed_fees=2000.0, init_cash=1000.0).run(tiny)
    assert res.orders["reason_code"].to_list() == ["cant_cover_fees"]
    filled = VectorizedStrategy(by_signal, init_cash=1000.0).run(tiny)
    assert filled.orders["reason_code"].to_list() == [None, None]


def test_a_short_that_loses_more_than_the_account_is_reported():
    # All-in short at 10 with 1,000 (100 units, cash 2,000); at 30 the short is worth 3,000: equity -1,000.
    data = closes([10.0, 10.0, 30.0, 30.0], [1, 0, 0, 0])
    rule = VectorizedStrategy(lambda: {"short_entries": pl.col("signal") == 1}, init_cash=1000.0)
    with pytest.warns(InsolvencyWarning, match="2024-01-03"):
        res = rule.run(data)
    assert res.insolvent_at == T0 + dt.timedelta(days=2)
    assert res.equity["equity"][-1] == pytest.approx(-1000.0)


def test_many_rejections_warn_once_with_counts_by_code():
    data = closes([10.0] * 24, [1, -1] * 12)
    rule = VectorizedStrategy(
        lambda: {"entries": pl.col("signal") == 1, "exits": pl.col("signal") == -1},
        fixed_fees=2000.0,
        init_cash=1000.0,
    )
    with pytest.warns(RejectionWarning, match=r"12 orders were rejected \(cant_cover_fees: 12\)"):
        rule.run(data)


@pytest.mark.parametrize("init_cash", [1e308, 1e16])
def test_init_cash_beyond_the_bound_is_refused(tiny, by_signal, init_cash):
    with pytest.raises(ConfigError, match="init_cash"):
        VectorizedStrategy(by_signal, init_cash=init_cash).run(tiny)


def test_an_order_whose_value_is_not_finite_is_rejected():
    data = closes([10.0] * 4, [1, 0, 0, 0])
    rule = VectorizedStrategy(
        lambda: {"short_entries": pl.col("signal") == 1}, size=1e308, size_type="amount", init_cash=1000.0
    )
    res = rule.run(data)
    assert res.orders.select("status", "reason_code").rows() == [("rejected", "non_finite")]
    assert res.equity["equity"].to_list() == [1000.0] * 4
