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
from ml4t.datasets import synthetic_bars
from ml4t.event import Engine, Strategy
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


# --- weights, exposure and turnover of real multi-symbol runs (issue #12) ---------------------------------------


def _signal_universe(n_symbols: int, n_bars: int, seed: int) -> ml4t.data.Bars:
    base = synthetic_bars(n_symbols, n_bars, "1d", seed=seed).frame
    rng = np.random.default_rng(seed + 1)
    keys = ("le", "lx", "se", "sx")
    return bars(
        base.drop("ts_arrival")
        .rename({"ts_event": "timestamp"})
        .with_columns(pl.Series(k, rng.random(base.height) < 0.1) for k in keys)
    )


def _both_ways() -> dict[str, pl.Expr]:
    return {"entries": pl.col("le"), "exits": pl.col("lx"), "short_entries": pl.col("se"), "short_exits": pl.col("sx")}


@pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.rename is deprecated:pandas.errors.Pandas4Warning")
def test_weights_exposure_and_turnover_agree_with_vectorbt():
    """vectorbt as the independent reference: weight = its per-column asset value over the group's value; the
    sides, counts and per-bar traded value computed from its records with NumPy and pandas."""
    vbt = pytest.importorskip("vectorbt")
    import pandas as pd

    universe = _signal_universe(3, 250, seed=5)
    strategy = VectorizedStrategy(
        _both_ways, execution="close", cash_sharing=True, order="symbol", size=3000.0, size_type="value",
        fees=0.001, init_cash=10_000.0,
    )  # fmt: skip
    res = strategy.run(universe)
    assert res.fills.height > 50 and res.positions.filter(pl.col("position_qty") < 0).height > 0

    def wide(field: str) -> pd.DataFrame:
        frame = universe.frame.pivot(on="symbol", index="ts_event", values=field).sort("ts_event")
        index = pd.DatetimeIndex(frame["ts_event"].dt.replace_time_zone(None).to_numpy())
        return pd.DataFrame(frame.drop("ts_event").to_numpy(), index=index, columns=universe.symbols)

    signals = {k: wide(c).astype(bool) for k, c in zip(_both_ways(), ("le", "lx", "se", "sx"), strict=True)}
    pf = vbt.Portfolio.from_signals(
        wide("close"), **signals, size=3000.0, size_type="value", fees=0.001, init_cash=10_000.0,
        group_by=True, cash_sharing=True, freq="1D",
    )  # fmt: skip
    value = pf.value().to_numpy()
    np.testing.assert_allclose(res.equity["equity"].to_numpy(), value, rtol=1e-9)
    asset_value = pf.asset_value(group_by=False).to_numpy()
    held = pf.assets().to_numpy() != 0

    weights = res.weights.pivot(on="symbol", index="ts_event", values="weight").sort("ts_event")
    np.testing.assert_allclose(weights.select(universe.symbols).to_numpy(), asset_value / value[:, None], rtol=1e-9)
    e = res.exposure
    side = {
        "long": np.where(asset_value > 0, asset_value, 0.0).sum(axis=1),
        "short": np.where(asset_value < 0, asset_value, 0.0).sum(axis=1),
        "gross": np.abs(asset_value).sum(axis=1),
        "net": asset_value.sum(axis=1),
    }
    for name, total in side.items():
        np.testing.assert_allclose(e[name].to_numpy(), total / value, rtol=1e-9, atol=1e-15, err_msg=name)
    assert e["n_positions"].to_list() == held.sum(axis=1).tolist()

    records = pf.orders.records_readable
    traded = (records["Size"] * records["Price"]).groupby(records["Timestamp"]).sum()
    at = pd.Series(value, index=wide("close").index).loc[traded.index]
    tv = res.turnover
    assert tv.height == len(traded)
    np.testing.assert_allclose(tv["traded_value"].to_numpy(), traded.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(tv["turnover"].to_numpy(), (traded / at).to_numpy(), rtol=1e-9)
    row = res.metrics.row(0, named=True)
    assert row["avg_gross_exposure"] == pytest.approx((side["gross"] / value).mean(), rel=1e-9)
    assert row["avg_net_exposure"] == pytest.approx((side["net"] / value).mean(), rel=1e-9)
    assert row["avg_n_positions"] == pytest.approx(held.sum(axis=1).mean(), rel=1e-12)
    assert row["rebalance_count"] == len(traded)
    assert row["avg_rebalance_turnover"] == pytest.approx((traded / at).mean(), rel=1e-9)


class _HoldEach(Strategy):
    """Buys 40% of the equity in each symbol on its first bar, then holds."""

    def on_bar(self, ctx, bars):
        for bar in bars:
            if bar.symbol not in ctx.positions:
                ctx.order_target_percent(bar.symbol, 0.4)


def test_a_listing_and_a_delisting_in_both_modes():
    """B lists at bar 4, A's last bar is bar 11: no weight for B before its first price; A's position is
    marked at its last close after its last bar (as the equity marks it); the weights of a bar sum to the
    invested share of its equity, in both modes."""
    frame = _signal_universe(2, 16, seed=3).frame
    stamps = frame["ts_event"].unique().sort()
    a, b = frame["symbol"].unique().sort()
    frame = frame.filter(
        ~((pl.col("symbol") == b) & (pl.col("ts_event") < stamps[4]))
        & ~((pl.col("symbol") == a) & (pl.col("ts_event") > stamps[11]))
    )
    universe = bars(frame.drop("ts_arrival").rename({"ts_event": "timestamp"}))

    def rule() -> dict[str, pl.Expr]:
        return {"entries": pl.col("close") > 0, "exits": pl.col("close") < 0}

    strategy = VectorizedStrategy(rule, execution="close", cash_sharing=True, order="symbol", size=0.4,
                                  size_type="percent", init_cash=1000.0)  # fmt: skip
    vectorized = strategy.run(universe)
    event = Engine(universe, _HoldEach(), init_cash=1000.0).run()
    for res, fill_bars in ((vectorized, [0, 4]), (event, [1, 5])):  # the event run fills at the next open
        w = res.weights.pivot(on="symbol", index="ts_event", values="weight").sort("ts_event")
        assert w[b].to_list()[:4] == [None] * 4 and all(x > 0 for x in w[b].to_list()[fill_bars[1] :])
        last = res.positions.filter(pl.col("symbol") == a)
        assert last["market_price"][-1] == last["market_price"][11]  # carried after A's last bar
        assert w[a].null_count() == 0 and w[a][-1] == pytest.approx(
            last["position_value"][-1] / res.equity["equity"][-1]
        )
        invested = 1.0 - res.equity["cash"] / res.equity["equity"]
        np.testing.assert_allclose(w.select(a, b).fill_null(0.0).sum_horizontal().to_numpy(), invested, rtol=1e-12)
        np.testing.assert_allclose(res.exposure["net"].to_numpy(), invested, rtol=1e-12)
        assert res.exposure["n_positions"].to_list()[-1] == 2
        assert res.turnover["ts_event"].to_list() == [stamps[i] for i in fill_bars]
