"""The whole Tier 3 path on loopback: a recording replayed over a websocket, a ``Session`` paper-trading through
``AlpacaBroker`` (alpaca-py's REST client and a trade-updates stream) against ``FakeAlpaca`` on 127.0.0.1;
orders, partial fills, rejections, a crash and its restart without an order sent twice, and the gap to the
replay of the journal on the simulated broker. Every wait is bounded (the feed's and the broker's timeouts)."""

from __future__ import annotations

import math
from typing import ClassVar

import polars as pl
import pytest

import ml4t
from ml4t import FeedError
from ml4t.datasets import synthetic_bars
from ml4t.errors import RejectionWarning
from ml4t.event import Strategy
from ml4t.live import AlpacaBroker, FakeAlpaca, ReplayFeed, ReplayServer, Session, read_journal, replay

pytest.importorskip("alpaca")

BARS = synthetic_bars(2, 30, "1d", seed=4)


class Cross(Strategy):
    """Market orders on a moving-average cross, one order per symbol at a time (the broker's fills arrive on
    their own stream, a moment after the order)."""

    indicators: ClassVar = {"fast": pl.col("close").rolling_mean(3), "slow": pl.col("close").rolling_mean(7)}

    def on_bar(self, ctx, bars):
        for bar in bars:
            if math.isnan(bar.slow) or ctx.open_orders(bar.symbol):
                continue
            if bar.fast > bar.slow and ctx.position(bar.symbol) <= 0:
                ctx.order(bar.symbol, 10)
            elif bar.fast < bar.slow and ctx.position(bar.symbol) > 0:
                ctx.order(bar.symbol, -ctx.position(bar.symbol))


class Stop:
    """A feed that fails for good after ``after`` messages (the session stops there)."""

    def __init__(self, feed, after):
        self._feed, self._after, self._given = feed, after, 0

    def next(self):
        if self._given >= self._after:
            raise FeedError("the feed went away", argument="url")
        self._given += 1
        return self._feed.next()

    def close(self):
        self._feed.close()


def _session(fake, server, journal=None, stop_after=None, **kwargs):
    feed = fake.follow(ReplayFeed(server.url, timeout=10))
    if stop_after is not None:
        feed = Stop(feed, stop_after)
    broker = AlpacaBroker("fake-key", "fake-secret", url=fake.url, stream_url=fake.stream_url, timeout=10)
    return Session(Cross(), feed, symbols=BARS.symbols, venue=broker, journal=journal, init_cash=50_000.0, **kwargs)


def _posted(fake):
    return [path for method, path in fake.requests if method == "POST" and path.startswith("/v2/orders")]


def test_a_paper_session_trades_through_alpaca_and_books_its_fills(tmp_path):
    with FakeAlpaca(cash=50_000) as fake, ReplayServer(BARS) as server:
        result = _session(fake, server, journal=tmp_path / "paper.jsonl").run()
        assert result.meta["broker"] == "paper" and result.orders.height >= 4
        sid = result.meta["session_id"]
        assert len(_posted(fake)) == result.orders.height  # each order sent once
        for order_id, status, filled, avg in result.orders.select(
            "order_id", "status", "filled_quantity", "avg_fill_price"
        ).rows():
            theirs = fake.order(f"{sid}-{order_id}")
            assert status == theirs["status"].replace("canceled", "cancelled")
            assert filled == pytest.approx(float(theirs["filled_qty"]))
            assert avg == pytest.approx(float(theirs["filled_avg_price"]))
        # the ledger's positions are the broker's (the final reconciliation warns otherwise: warnings are errors)
        last = result.positions.filter(pl.col("ts_event") == pl.col("ts_event").max())
        held = {s: q for s, q in last.select("symbol", "position_qty").rows() if q}
        assert held == fake.positions()
    kinds = [e.kind for e in read_journal(tmp_path / "paper.jsonl")]
    for kind in ("start", "reconcile", "bar", "decision", "order", "ack", "fill", "end"):
        assert kind in kinds


def test_partial_fills_from_the_stream_complete_the_order():
    with FakeAlpaca(cash=50_000) as fake, ReplayServer(BARS) as server:
        for symbol in BARS.symbols:
            fake.set_liquidity(symbol, 4)  # 10 units fill 4 + 4 + 2 over three prices
        result = _session(fake, server).run()
        per_order = result.fills.group_by("order_id").len()
        assert per_order["len"].max() >= 2
        assert result.fills["quantity"].max() <= 4


def test_an_order_alpaca_refuses_is_rejected_with_its_reason():
    with FakeAlpaca(cash=50_000) as fake, ReplayServer(BARS) as server:
        fake.set_tradable("A001", tradable=False)
        with pytest.warns(RejectionWarning, match="broker"):
            result = _session(fake, server).run()
        refused = result.orders.filter(pl.col("symbol") == "A001")
        assert refused.height > 0 and set(refused["status"]) == {"rejected"}
        assert all("tradable" in reason for reason in refused["reason"])


def test_a_crashed_paper_session_restarts_without_sending_an_order_twice(tmp_path):
    path = tmp_path / "paper.jsonl"
    with FakeAlpaca(cash=50_000) as fake, ReplayServer(BARS) as server:
        with pytest.raises(FeedError):
            _session(fake, server, journal=path, stop_after=18).run()
        sent_before = len(_posted(fake))
        assert sent_before > 0
        session = _session(fake, server, journal=path)
        result = session.run()
        assert session.restarted
        # every order at the broker once; the restart resent none of the orders sent before the crash
        assert len(_posted(fake)) == result.orders.height > sent_before  # and it went on trading
        sid = result.meta["session_id"]
        assert all(fake.order(f"{sid}-{i}") for i in result.orders["order_id"])
        last = result.positions.filter(pl.col("ts_event") == pl.col("ts_event").max())
        assert {s: q for s, q in last.select("symbol", "position_qty").rows() if q} == fake.positions()
        kinds = [e.kind for e in read_journal(path)]
        assert kinds.count("start") == 1 and kinds.count("restart") == 1 and kinds[-1] == "end"


def test_the_gap_between_paper_and_the_replay_of_its_journal(tmp_path):
    path = tmp_path / "paper.jsonl"
    with FakeAlpaca(cash=50_000) as fake, ReplayServer(BARS) as server:
        paper = _session(fake, server, journal=path).run()
    simulated = replay(path, Cross(), init_cash=50_000.0)
    gap = ml4t.compare(paper, simulated)
    assert gap.labels == ("live (paper)", "live (simulated)")
    causes = dict(gap.attribution.rows())
    final = float(simulated.equity["equity"][-1]) - float(paper.equity["equity"][-1])
    assert causes["total (P&L)"] == pytest.approx(final, abs=1e-6)


def test_risk_limits_stop_orders_before_alpaca_sees_them():
    with FakeAlpaca(cash=50_000) as fake, ReplayServer(BARS) as server:
        with pytest.warns(RejectionWarning, match="risk_limit"):
            result = _session(fake, server, risk=ml4t.live.RiskLimits(max_position=5)).run()
        assert result.orders.height > 0 and set(result.orders["reason_code"]) == {"risk_limit"}
        assert _posted(fake) == []
