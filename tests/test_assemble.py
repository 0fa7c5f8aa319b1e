"""Both modes hand ``ml4t._assemble`` the one record shape the Rust core produces (``crate::records``)."""

import datetime as dt
from typing import Any

import numpy as np
import polars as pl
import pytest

import ml4t
import ml4t.event._engine as event_engine
import ml4t.vectorized._strategy as vectorized_strategy
from ml4t.data import bars
from ml4t.vectorized import VectorizedStrategy


def _bars() -> ml4t.data.Bars:
    t0 = dt.datetime(2024, 1, 1, 21, tzinfo=dt.UTC)
    frame = pl.DataFrame(
        {
            "timestamp": [t0 + dt.timedelta(days=i) for i in range(6)],
            "open": [10.0, 10.5, 11.5, 11.0, 9.5, 10.0],
            "high": [10.5, 11.5, 12.5, 11.0, 10.5, 10.5],
            "low": [9.5, 10.0, 11.0, 8.5, 9.0, 9.5],
            "close": [10.0, 11.0, 12.0, 9.0, 10.0, 10.2],
            "volume": [1000.0] * 6,
            "signal": [0, 1, 0, -1, 1, 0],
        }
    )
    return bars(frame, symbol="X")


def _rule() -> dict[str, pl.Expr]:
    return {"entries": pl.col("signal") == 1, "exits": pl.col("signal") == -1}


def _spy(monkeypatch: pytest.MonkeyPatch, module: Any) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    real = module.assemble

    def spy(raw: dict[str, Any], *args: Any, **kwargs: Any) -> ml4t.Result:
        seen.append(raw)
        return real(raw, *args, **kwargs)

    monkeypatch.setattr(module, "assemble", spy)
    return seen


@pytest.mark.parametrize("execution", ["close", "next_open"])
def test_a_promoted_run_and_its_vectorized_run_give_the_same_records(monkeypatch, execution):
    vectorized, event = _spy(monkeypatch, vectorized_strategy), _spy(monkeypatch, event_engine)
    strategy = VectorizedStrategy(_rule, execution=execution, fees=0.001, init_cash=1000.0)
    strategy.run(_bars())
    ml4t.promote(strategy, _bars()).run()
    (a,), (b,) = vectorized, event
    assert a.keys() == b.keys()
    for key, value in a.items():
        other = b[key]
        assert type(value) is type(other), key
        if isinstance(value, np.ndarray):
            assert value.dtype == other.dtype, key
    # same execution: the same fills, to the bit, and the same equity
    for key in ("fill_ts", "fill_symbol", "fill_buy", "fill_quantity", "fill_price", "fill_fee", "ts", "equity"):
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert len(a["fill_ts"]) == 3
