"""The replay feed over a real websocket on 127.0.0.1: every bar and signal exactly once, in arrival order,
whatever the network does (drops, duplicates, swaps), paced by the simulated clock, and a clear error when the
feed is gone. Every test is bounded in time (the feed's own timeout, the server's stop)."""

import datetime as dt
import itertools
import time

import numpy as np
import polars as pl
import pytest

from ml4t import ConfigError, FeedError
from ml4t.data import bars as make_bars
from ml4t.data import signals as make_signals
from ml4t.datasets import synthetic_bars
from ml4t.live import Faults, Message, ReplayFeed, ReplayServer, messages_of

BARS = synthetic_bars(3, 40, "1d", seed=7)


def _late_bars() -> object:
    """Two symbols whose bars arrive with different latencies, so arrivals interleave and one bar of B arrives
    after A's next bar (a late bar: its ts_event is older than what came before it)."""
    ts = [dt.datetime(2024, 1, d, 21, tzinfo=dt.UTC) for d in (2, 3, 4)]
    frame = pl.DataFrame(
        {
            "ts_event": ts * 2,
            "symbol": ["A"] * 3 + ["B"] * 3,
            "open": [1.0, 2, 3, 10, 11, 12],
            "high": [1.5, 2.5, 3.5, 10.5, 11.5, 12.5],
            "low": [0.5, 1.5, 2.5, 9.5, 10.5, 11.5],
            "close": [1.2, 2.2, 3.2, 10.2, 11.2, 12.2],
            "volume": [100.0, 200, 300, 400, 500, 600],
            "score": [0.1, 0.2, 0.3, np.nan, 0.5, 0.6],  # an extra column, NaN where the model had no view
            "ts_arrival": [*ts, ts[0] + dt.timedelta(days=1, hours=1), ts[1] + dt.timedelta(hours=2), ts[2]],
        }
    )
    return make_bars(frame)  # a frame with ts_arrival keeps its arrival times


def _signals(bars: object) -> object:
    frame = pl.DataFrame(
        {
            "ts_event": [dt.datetime(2015, 1, 5, 21, tzinfo=dt.UTC), dt.datetime(2015, 1, 9, 21, tzinfo=dt.UTC)],
            "symbol": ["A000", "A001"],
            "score": [0.5, -1.0],
            "ts_arrival": [dt.datetime(2015, 1, 6, 13, tzinfo=dt.UTC), dt.datetime(2015, 1, 12, 13, tzinfo=dt.UTC)],
        }
    )
    return make_signals(frame, ts_arrival="ts_arrival")


def _frame(messages: list[Message], part: str) -> pl.DataFrame:
    frames = [pl.DataFrame(getattr(m, part)) for m in messages if m.kind == "data" and getattr(m, part)]
    return pl.concat(frames) if frames else pl.DataFrame()


def _expected(frame: pl.DataFrame, order: list[str]) -> pl.DataFrame:
    frame = frame.sort(order, maintain_order=True)
    return frame.with_columns(
        pl.col(n).dt.cast_time_unit("ns").cast(pl.Int64) for n, t in frame.schema.items() if isinstance(t, pl.Datetime)
    )


def _read_all(server: ReplayServer, **feed_args: object) -> tuple[list[Message], ReplayFeed]:
    with ReplayFeed(server.url, timeout=10, **feed_args) as feed:  # type: ignore[arg-type]
        return list(feed), feed


@pytest.mark.parametrize("with_signals", [False, True])
def test_every_record_arrives_once_in_arrival_order(with_signals: bool) -> None:
    signals = _signals(BARS) if with_signals else None
    with ReplayServer(BARS, signals) as server:
        got, feed = _read_all(server)
    data = [m for m in got if m.kind == "data"]
    assert [m.seq for m in data] == list(range(len(data)))
    assert all(a.ts < b.ts for a, b in itertools.pairwise(data))  # one message per arrival time
    assert _frame(got, "bars").equals(_expected(BARS.frame, ["ts_arrival", "symbol"]))
    if signals is not None:
        assert _frame(got, "signals").equals(_expected(signals.frame, ["ts_arrival", "ts_event", "symbol"]))
    for m in data:  # every record of a message arrives at its ts
        assert set(m.bars.get("ts_arrival", [])) | set(m.signals.get("ts_arrival", [])) == {m.ts}
    assert (feed.duplicates, feed.reordered, feed.reconnects) == (0, 0, 0)
    assert got == [m for m in messages_of(BARS, signals) if m.kind == "data"]


def test_late_bars_are_served_at_their_arrival_and_nan_survives() -> None:
    bars = _late_bars()
    with ReplayServer(bars) as server:
        got, _ = _read_all(server)
    frame = _frame(got, "bars")
    assert frame["ts_arrival"].is_sorted()
    # B's first bar (2 Jan) arrives on 3 Jan 22:00, after A's 3 Jan bar: served then, not at its ts_event
    late = frame.filter((pl.col("symbol") == "B") & (pl.col("open") == 10.0))
    assert late["ts_arrival"].item() > frame.filter(pl.col("close") == 2.2)["ts_arrival"].item()
    assert np.isnan(late["score"].item())  # MessagePack carries NaN (JSON could not)


def test_a_dropped_connection_resumes_without_losing_or_repeating_a_message() -> None:
    with ReplayServer(BARS, faults=Faults(drop_after={0, 5, 17})) as server:
        got, feed = _read_all(server)
        connections = server.connections
    assert [m.seq for m in got] == list(range(len(BARS.frame["ts_arrival"].unique())))
    assert _frame(got, "bars").equals(_expected(BARS.frame, ["ts_arrival", "symbol"]))
    assert feed.reconnects == 3 and connections == 4
    assert feed.duplicates == 0


def test_duplicated_and_swapped_messages_are_delivered_once_in_order() -> None:
    with ReplayServer(BARS, faults=Faults(duplicate={2, 9}, swap={4, 20})) as server:
        got, feed = _read_all(server)
    assert [m.seq for m in got] == list(range(len(got)))
    assert _frame(got, "bars").equals(_expected(BARS.frame, ["ts_arrival", "symbol"]))
    # a swap sends k+1 then k then k+1 again (the server goes on from k+1): held once, repeated once
    assert feed.duplicates == 2 + 2
    assert feed.reordered == 2


def test_a_paced_replay_follows_the_simulated_clock_with_heartbeats() -> None:
    bars = synthetic_bars(1, 4, "1d", seed=1)  # 3 days between the first and the last bar
    speed = 3 * 86_400 / 0.6  # the whole replay in about 0.6 s of wall time
    with ReplayServer(bars, speed=speed, heartbeat=0.05) as server:
        start = time.monotonic()
        got, _ = _read_all(server)
        elapsed = time.monotonic() - start
    assert elapsed >= 0.6 * 0.9  # never faster than the clock (a lower bound: a busy machine may be slower)
    data = [m for m in got if m.kind == "data"]
    beats = [m for m in got if m.kind == "heartbeat"]
    assert len(data) == 4 and beats
    last_ts = -(2**63)
    for m in got:  # the clock moves forward, and a heartbeat comes between two messages
        assert m.ts > last_ts
        last_ts = m.ts
    for beat in beats:
        before = [m for m in data if m.seq <= beat.seq]
        after = [m for m in data if m.seq > beat.seq]
        assert before and before[-1].ts < beat.ts
        assert not after or beat.ts < after[0].ts


def test_a_feed_that_cannot_connect_fails_with_the_address() -> None:
    with ReplayServer(BARS) as server:
        url = server.url
    with ReplayFeed(url, timeout=5, max_reconnects=2, backoff=0.01) as feed, pytest.raises(FeedError) as info:
        list(feed)
    assert url in str(info.value) and "3 times in a row" in str(info.value)
    assert feed.reconnects == 3


def test_a_silent_feed_times_out_with_the_address() -> None:
    bars = synthetic_bars(1, 3, "1d", seed=1)
    with (
        ReplayServer(bars, speed=1.0, heartbeat=30) as server,  # a day of simulated time per day of wall time
        ReplayFeed(server.url, timeout=0.5) as feed,
    ):
        assert feed.next() is not None  # the first bar comes at once
        with pytest.raises(FeedError, match=r"no message from ws://127\.0\.0\.1:\d+ for 0\.5 s"):
            feed.next()


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ConfigError) as info:
        ReplayServer(BARS.frame)  # type: ignore[arg-type]
    assert info.value.argument == "bars"
    with pytest.raises(ConfigError) as info:
        ReplayServer(BARS, speed=0)
    assert info.value.argument == "speed"
    with pytest.raises(ConfigError, match="not started"):
        _ = ReplayServer(BARS).url
    with pytest.raises(ConfigError) as info:
        ReplayFeed("http://127.0.0.1:1")
    assert info.value.argument == "url"
    with pytest.raises(ConfigError) as info:
        ReplayFeed("ws://127.0.0.1:1", max_reconnects=-1)
    assert info.value.argument == "max_reconnects"
