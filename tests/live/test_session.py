"""A live ``Session`` on a replayed feed places the backtest's orders at the backtest's simulated times.

The reference is ``ml4t.event.Engine.run`` on the same bars and signals: the session, fed message by message
(in this process, over a real websocket on 127.0.0.1, through network faults, or from its own journal), must
give the same orders, fills, equity and positions, bit for bit, for strategies that use every hook, indicators,
``ctx.data``, signals, timers and every order type, under both execution conventions and with late bars."""

from __future__ import annotations

import datetime as dt
import json
from typing import ClassVar

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml4t import ConfigError, DataError
from ml4t.costs import Percent
from ml4t.data import bars as make_bars
from ml4t.data import signals as make_signals
from ml4t.datasets import synthetic_bars
from ml4t.event import Engine, Strategy
from ml4t.live import (
    Faults,
    HistoricalFeed,
    JournalFeed,
    Message,
    ReplayFeed,
    ReplayServer,
    Session,
    read_journal,
)
from ml4t.result import Result

FRAMES = ("orders", "fills", "equity", "positions")


def assert_same_run(backtest: Result, live: Result) -> None:
    for name in FRAMES:
        a, b = getattr(backtest, name), getattr(live, name)
        assert a.equals(b), f"{name} differ:\n{a}\n{b}"
    assert live.orders.height > 0


class Cross(Strategy):
    """on_bar only: the lean path of the loop; indicators."""

    indicators: ClassVar = {"fast": pl.col("close").rolling_mean(5), "slow": pl.col("close").rolling_mean(20)}

    def on_bar(self, ctx, bars):
        for bar in bars:
            if bar.fast > bar.slow and ctx.position(bar.symbol) == 0:
                ctx.order(bar.symbol, 10)
            elif bar.fast < bar.slow and ctx.position(bar.symbol) > 0:
                ctx.order_target(bar.symbol, 0)


class Busy(Strategy):
    """on_event: bars, signals, fills and timers; ctx.data history and signals; market, limit, stop, trailing
    and bracket orders; cancels; target weights. Every decision is a function of what it saw."""

    indicators: ClassVar = {"ret": pl.col("close").pct_change(), "vol": pl.col("close").pct_change().rolling_std(10)}

    def on_start(self, ctx):
        self.seen = 0
        self.timer = ctx.schedule(after="1d", every="3d", name="rebalance")

    def on_event(self, ctx, event):
        self.seen += 1
        for bar in event.bars:
            closes = ctx.data.history("close", 5, bar.symbol)
            if len(closes) == 5 and closes[-1] < closes.min() * 1.01 and ctx.position(bar.symbol) <= 0:
                ctx.order(bar.symbol, 5, limit=round(bar.close * 0.99, 2), tif="day")
            if self.seen % 7 == 0 and ctx.position(bar.symbol) > 0:
                ctx.order(bar.symbol, -ctx.position(bar.symbol), stop=round(bar.close * 0.97, 2))
            if self.seen % 11 == 0:
                ctx.order(bar.symbol, 3, trail_percent=0.02)
            if self.seen % 13 == 0:
                ctx.bracket(bar.symbol, 4, stop_loss=round(bar.close * 0.95, 2), take_profit=round(bar.close * 1.05, 2))
        for row in range(len(event.signals)):
            symbol = event.signals.symbols[row]
            score = ctx.data.signal("score", symbol)
            if score is not None and score > 0 and np.isfinite(ctx.price(symbol)):
                ctx.order_target_percent(symbol, 0.05)
        for _fill in event.fills:
            opened = ctx.open_orders()
            if len(opened) > 6:
                ctx.cancel(opened[0])
        for timer in event.timers:
            assert timer.name == "rebalance"
            held = {s: 0.15 for s in ctx.symbols if np.isfinite(ctx.price(s))}
            ctx.order_target_weights(held)


def _signals(bars, seed: int = 1):
    rng = np.random.default_rng(seed)
    frame = bars.frame.select("ts_event", "symbol").sample(fraction=0.3, seed=seed).sort("ts_event", "symbol")
    frame = frame.with_columns(score=pl.Series(rng.normal(size=frame.height)))
    return make_signals(frame, ts_arrival="6h")


def _late(bars):
    """The bars with a feed latency that differs by symbol and sometimes makes a bar arrive after the next
    bar of another symbol (late bars keep their ts_event)."""
    frame = bars.frame
    delay = pl.when(pl.col("symbol") == "A001").then(pl.duration(hours=26)).otherwise(pl.duration(hours=1))
    return make_bars(frame.with_columns(ts_arrival=pl.col("ts_event") + delay))


CASES = {
    "cross-next-open": (Cross, {}, False, False),
    "cross-close": (Cross, {"execution": "close"}, False, False),
    "busy-next-open-signals": (Busy, {"commission": Percent(0.001)}, True, False),
    "busy-close-late-bars": (Busy, {"execution": "close"}, True, True),
}


def _case(name: str):
    cls, settings_, with_signals, late = CASES[name]
    bars = synthetic_bars(3, 90, "1d", seed=5)
    if late:
        bars = _late(bars)
    signals = _signals(bars) if with_signals else None
    return cls, {"init_cash": 100_000.0, **settings_}, bars, signals


class OneByOne:
    """A feed that does not say what it holds ready: the session takes its messages one at a time."""

    def __init__(self, feed):
        self._feed = feed

    def next(self):
        return self._feed.next()

    def close(self):
        self._feed.close()


@pytest.mark.parametrize("backlog", [True, False], ids=["backlog-at-once", "one-by-one"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_a_session_on_the_historical_feed_is_the_backtest(name, backlog):
    cls, settings_, bars, signals = _case(name)
    backtest = Engine(bars, cls(), signals=signals, **settings_).run()
    feed = HistoricalFeed(bars, signals)
    live = Session(cls(), feed if backlog else OneByOne(feed), symbols=bars.symbols, **settings_).run()
    assert_same_run(backtest, live)
    assert live.meta["mode"] == "live" and backtest.meta["mode"] == "event"


@pytest.mark.parametrize("name", ["cross-next-open", "busy-close-late-bars"])
def test_the_replay_over_a_websocket_places_the_same_orders_at_the_same_times(name):
    cls, settings_, bars, signals = _case(name)
    backtest = Engine(bars, cls(), signals=signals, **settings_).run()
    with ReplayServer(bars, signals) as server, ReplayFeed(server.url, timeout=10) as feed:
        live = Session(cls(), feed, symbols=bars.symbols, **settings_).run()
    assert_same_run(backtest, live)
    decided = live.orders.select("order_id", "ts_submitted", "symbol", "side", "quantity", "order_type", "status")
    assert decided.equals(backtest.orders.select(decided.columns))


def test_a_replay_through_dropped_duplicated_and_swapped_messages_is_the_backtest():
    cls, settings_, bars, signals = _case("busy-next-open-signals")
    backtest = Engine(bars, cls(), signals=signals, **settings_).run()
    faults = Faults(drop_after={3, 40}, duplicate={10, 60}, swap={20, 75})
    with ReplayServer(bars, signals, faults=faults) as server, ReplayFeed(server.url, timeout=10) as feed:
        live = Session(cls(), feed, symbols=bars.symbols, **settings_).run()
        assert server.connections == 3 and feed.reconnects == 2 and feed.duplicates >= 2 and feed.reordered >= 2
    assert_same_run(backtest, live)


def test_a_paced_replay_with_heartbeats_is_the_backtest():
    bars = synthetic_bars(2, 30, "1d", seed=2)
    backtest = Engine(bars, Cross(), init_cash=100_000.0).run()
    # 30 days in ~0.3 s of wall time, a heartbeat every 20 ms: heartbeats between the messages move the clock
    with ReplayServer(bars, speed=30 * 86_400 / 0.3, heartbeat=0.02) as server, ReplayFeed(server.url) as feed:
        live = Session(Cross(), feed, symbols=bars.symbols, init_cash=100_000.0, journal=None).run()
    assert backtest.equity.equals(live.equity) and backtest.orders.equals(live.orders)


def test_the_journal_holds_every_event_and_replays_the_session_exactly(tmp_path):
    cls, settings_, bars, signals = _case("busy-next-open-signals")
    path = tmp_path / "session.jsonl"
    first = Session(cls(), HistoricalFeed(bars, signals), symbols=bars.symbols, journal=path, **settings_).run()
    entries = read_journal(path)
    kinds = [e.kind for e in entries]
    assert kinds[0] == "start" and kinds[-1] == "end"
    start = entries[0].data
    assert start["symbols"] == bars.symbols and start["broker"] == "simulated"
    decisions = [e.data for e in entries if e.kind == "decision"]
    assert [d["order_id"] for d in decisions] == first.orders["order_id"].to_list()
    assert all(d["client_order_id"] == f"{start['session_id']}-{d['order_id']}" for d in decisions)
    fills = [(e.ts, e.data["order_id"], e.data["quantity"], e.data["price"]) for e in entries if e.kind == "fill"]
    expected = first.fills.select(
        pl.col("ts_event").dt.epoch("ns"),
        "order_id",
        pl.when(pl.col("side") == "buy").then(pl.col("quantity")).otherwise(-pl.col("quantity")),
        "fill_price",
    ).rows()
    assert fills == expected and len(fills) > 0
    bar_rows = sum(e.data["rows"] for e in entries if e.kind == "bar")
    assert bar_rows == bars.frame.height
    # the journal as a feed: the same session again, bit for bit
    again = Session(cls(), JournalFeed(path), symbols=bars.symbols, **settings_).run()
    assert_same_run(first, again)
    # every line is JSON with the journal's fields
    with path.open() as lines:
        assert all(set(json.loads(line)) == {"seq", "kind", "ts", "wall", "data"} for line in lines)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_symbols=st.integers(1, 3),
    n_bars=st.integers(25, 60),
    execution=st.sampled_from(["next_open", "close"]),
    late=st.booleans(),
)
def test_property_any_session_on_its_recording_is_the_backtest(seed, n_symbols, n_bars, execution, late):
    bars = synthetic_bars(n_symbols, n_bars, "1d", seed=seed)
    if late and n_symbols > 1:
        bars = _late(bars)
    signals = _signals(bars, seed)
    settings_ = {"init_cash": 50_000.0, "execution": execution, "commission": Percent(0.0005)}
    backtest = Engine(bars, Busy(), signals=signals, **settings_).run()
    live = Session(Busy(), HistoricalFeed(bars, signals), symbols=bars.symbols, **settings_).run()
    for name in FRAMES:
        assert getattr(backtest, name).equals(getattr(live, name)), name


# ---------------------------------------------------------------------------------------------- bad input
class _Feed:
    def __init__(self, messages):
        self._messages = iter(messages)

    def next(self):
        return next(self._messages, None)

    def close(self):
        pass


def _bar_message(seq, ts, symbol="A000"):
    columns = {
        "ts_event": [ts], "ts_arrival": [ts], "ts_start": [ts - 3_600_000_000_000], "symbol": [symbol],
        "open": [1.0], "high": [1.0], "low": [1.0], "close": [1.0], "volume": [1.0],
    }  # fmt: skip
    return Message("data", seq, ts, columns)


T0 = int(dt.datetime(2024, 1, 2, 21, tzinfo=dt.UTC).timestamp()) * 1_000_000_000


def test_a_bar_of_an_unknown_symbol_names_it_and_its_time():
    with pytest.raises(DataError, match="outside the session's universe") as error:
        Session(Cross(), _Feed([_bar_message(0, T0, "ZZZ")]), symbols=["A000"]).run()
    assert error.value.symbol == "ZZZ" and error.value.timestamp is not None


def test_a_message_whose_records_arrive_at_another_time_is_refused():
    message = _bar_message(0, T0)
    bad = Message("data", 0, T0 + 1, message.bars)
    with pytest.raises(DataError, match="arriving at another time"):
        Session(Cross(), _Feed([bad]), symbols=["A000"]).run()


def test_a_bar_missing_a_column_names_it():
    message = _bar_message(0, T0)
    columns = {k: v for k, v in message.bars.items() if k != "close"}
    with pytest.raises(DataError, match="close"):
        Session(Cross(), _Feed([Message("data", 0, T0, columns)]), symbols=["A000"]).run()


def test_a_feed_without_bars_is_an_error():
    with pytest.raises(DataError, match="without a single bar"):
        Session(Cross(), _Feed([]), symbols=["A000"]).run()


def test_data_before_the_watermark_is_refused_with_its_time():
    with pytest.raises(DataError) as error:
        Session(Cross(), _Feed([_bar_message(0, T0), _bar_message(1, T0)]), symbols=["A000"]).run()
    assert error.value.timestamp is not None


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"symbols": "A000"}, "symbols"),
        ({"symbols": []}, "symbols"),
        ({"symbols": ["A000"], "risk": 5}, "risk"),
        ({"symbols": ["A000"], "session_id": "a b"}, "session_id"),
        ({"symbols": ["A000"], "multipliers": {"ES": 50.0}}, "multipliers"),
        ({"symbols": ["A000"], "init_cash": -1}, "init_cash"),
    ],
)
def test_bad_arguments_are_named(kwargs, argument):
    with pytest.raises(ConfigError) as error:
        Session(Cross(), _Feed([]), **kwargs)
    assert error.value.argument == argument


def test_a_feed_and_a_strategy_are_checked():
    with pytest.raises(ConfigError, match="strategy"):
        Session(object(), _Feed([]), symbols=["A000"])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="feed"):
        Session(Cross(), object(), symbols=["A000"])  # type: ignore[arg-type]
