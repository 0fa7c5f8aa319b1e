"""A session whose orders a venue executes (paper), in shadow mode, under risk limits, and restarted from its
journal after a crash: every order sent once, the venue's fills and closes in the one ledger, nothing sent
twice or late. The venue is :class:`tests.live.venues.MemoryVenue` (deterministic); the Alpaca adapter against
a fake Alpaca server is tested in ``test_alpaca.py`` and ``test_paper_alpaca.py``."""

from __future__ import annotations

import math
import warnings
from typing import ClassVar

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.live.venues import MemoryVenue, PricedFeed

import ml4t
from ml4t import ConfigError, DataError, FeedError, OrderError
from ml4t.datasets import synthetic_bars
from ml4t.errors import RejectionWarning
from ml4t.event import Engine, Strategy
from ml4t.live import HistoricalFeed, ReconcileWarning, RiskLimits, Session, read_journal, replay

BARS = synthetic_bars(2, 40, "1d", seed=11)


class Swing(Strategy):
    """Market orders on a moving-average cross, a resting limit order now and then, cancelled later."""

    indicators: ClassVar = {"fast": pl.col("close").rolling_mean(3), "slow": pl.col("close").rolling_mean(8)}

    def on_start(self, ctx):
        self.n = 0
        self.limits: list[int] = []

    def on_bar(self, ctx, bars):
        self.n += 1
        for bar in bars:
            if math.isnan(bar.slow):
                continue
            if bar.fast > bar.slow and ctx.position(bar.symbol) <= 0:
                ctx.order(bar.symbol, 10)
            elif bar.fast < bar.slow and ctx.position(bar.symbol) > 0:
                ctx.order(bar.symbol, -ctx.position(bar.symbol))
        if self.n % 9 == 0:
            self.limits.append(ctx.order("A000", 1, limit=round(ctx.price("A000") * 0.9, 2)))
        if self.n % 9 == 4 and self.limits:
            ctx.cancel(self.limits.pop(0))


def _paper(venue, journal=None, fail_after=None, **kwargs):
    feed = PricedFeed(HistoricalFeed(BARS), venue, fail_after)
    return Session(Swing(), feed, symbols=BARS.symbols, venue=venue, journal=journal, init_cash=100_000.0, **kwargs)


def _client_ids(result):
    return [f"{result.meta['session_id']}-{i}" for i in result.orders["order_id"]]


def test_a_paper_session_sends_each_order_once_and_books_the_venues_fills():
    venue = MemoryVenue()
    result = _paper(venue).run()
    assert result.meta["broker"] == "paper" and venue.connected == 1
    assert sorted(venue.submits) == sorted(_client_ids(result)) and set(venue.submits.values()) == {1}
    # the ledger's fills are the venue's executions, at its prices, signed by side
    fills = result.fills.select("order_id", "quantity", "fill_price").rows()
    assert len(fills) > 5
    for order_id, quantity, price in fills:
        order = venue.orders_[f"{result.meta['session_id']}-{order_id}"]
        assert order["request"].quantity == pytest.approx(math.copysign(quantity, order["request"].quantity))
        assert price == pytest.approx(order["cost"] / order["filled"])
    # positions agree with the venue's at the end; a cancelled limit order is cancelled in both
    last = result.positions.filter(pl.col("ts_event") == pl.col("ts_event").max())
    assert dict(last.select("symbol", "position_qty").rows()) == {s: venue.held.get(s, 0.0) for s in BARS.symbols}
    statuses = dict(result.orders.select("order_id", "status").rows())
    for order_id, status in statuses.items():
        theirs = venue.orders_[f"{result.meta['session_id']}-{order_id}"]["status"]
        assert status == {"accepted": "open"}.get(theirs, theirs)
    assert "cancelled" in statuses.values() and "filled" in statuses.values()


class Calm(Swing):
    """Swing that stops trading five bars before the end, so every execution has arrived when it ends."""

    def on_bar(self, ctx, bars):
        if self.n < len(BARS.frame) // len(BARS.symbols) - 6:
            super().on_bar(ctx, bars)
        else:
            self.n += 1


def test_partial_fills_reach_the_strategy_and_the_ledger():
    venue = MemoryVenue(parts=3)
    feed = PricedFeed(HistoricalFeed(BARS), venue)
    result = Session(Calm(), feed, symbols=BARS.symbols, venue=venue, init_cash=100_000.0).run()
    per_order = result.fills.group_by("order_id").len()
    assert per_order["len"].max() == 3
    assert result.orders.filter(pl.col("status") == "filled").height > 0


def test_a_rejection_by_the_venue_is_a_rejected_order_with_its_reason():
    venue = MemoryVenue()
    venue.refuse.add("A001")
    with pytest.warns(RejectionWarning, match="broker"):
        result = _paper(venue).run()
    refused = result.orders.filter(pl.col("symbol") == "A001")
    assert refused.height > 0 and set(refused["status"]) == {"rejected"}
    assert set(refused["reason"]) == {"A001 is not tradable"}
    assert "A001" not in venue.held


def test_risk_limits_refuse_orders_before_they_leave(tmp_path):
    venue = MemoryVenue()
    risk = RiskLimits(max_order_value=100.0)  # 10 units at ~20 or more: every market order is over it
    with pytest.warns(RejectionWarning, match="risk_limit"):
        result = _paper(venue, journal=tmp_path / "j.jsonl", risk=risk).run()
    market = result.orders.filter(pl.col("order_type") == "market")
    assert market.height > 0 and set(market["status"]) == {"rejected"}
    assert set(market["reason_code"]) == {"risk_limit"}
    assert all(f"{result.meta['session_id']}-{i}" not in venue.submits for i in market["order_id"])
    kinds = [e.kind for e in read_journal(tmp_path / "j.jsonl")]
    assert kinds.count("risk") == market.height


def test_the_kill_switch_file_stops_every_order(tmp_path):
    switch = tmp_path / "KILL"
    switch.touch()
    venue = MemoryVenue()
    with pytest.warns(RejectionWarning, match="risk_limit"):
        result = _paper(venue, risk=RiskLimits(kill_switch=str(switch))).run()
    assert result.orders.height > 0 and set(result.orders["status"]) == {"rejected"}
    assert venue.submits == {}


def test_shadow_mode_decides_and_journals_but_sends_nothing(tmp_path):
    venue = MemoryVenue()
    shadow = _paper(venue, journal=tmp_path / "j.jsonl", shadow=True).run()
    assert venue.submits == {} and shadow.meta["broker"] == "shadow"
    backtest = Engine(BARS, Swing(), init_cash=100_000.0).run()
    assert shadow.orders.equals(backtest.orders) and shadow.equity.equals(backtest.equity)
    kinds = [e.kind for e in read_journal(tmp_path / "j.jsonl")]
    assert kinds.count("decision") == shadow.orders.height and "order" not in kinds


def test_a_venue_that_trades_real_money_needs_the_sessions_opt_in():
    with pytest.raises(ConfigError, match="live=True") as error:
        _paper(MemoryVenue(live=True))
    assert error.value.argument == "live"
    assert _paper(MemoryVenue(live=True), live=True).broker == "live"
    assert _paper(MemoryVenue(live=True), shadow=True).broker == "shadow"


def test_a_new_session_refuses_an_account_holding_its_symbols():
    venue = MemoryVenue()
    venue.held["A000"] = 5.0
    with pytest.raises(ConfigError, match="already holds 5 A000") as error:
        _paper(venue).run()
    assert error.value.symbol == "A000"


def test_a_crashed_paper_session_restarts_from_its_journal_without_sending_an_order_twice(tmp_path):
    path = tmp_path / "paper.jsonl"
    reference = _paper(MemoryVenue()).run()
    venue = MemoryVenue()
    with pytest.raises(FeedError):
        _paper(venue, journal=path, fail_after=25).run()
    before = dict(venue.submits)
    assert before and read_journal(path)[-1].kind != "end"
    session = _paper(venue, journal=path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReconcileWarning)
        result = session.run()
    assert session.restarted
    assert set(venue.submits.values()) == {1}  # nothing sent twice
    assert all(venue.submits[cid] == 1 for cid in before)
    for name in ("orders", "fills", "equity"):
        a, b = getattr(reference, name), getattr(result, name)
        assert a.drop("ts_submitted", strict=False).equals(b.drop("ts_submitted", strict=False)), name
    kinds = [e.kind for e in read_journal(path)]
    assert kinds.count("start") == 1 and kinds.count("restart") == 1 and kinds[-1] == "end"


def test_fills_while_the_session_was_down_are_settled_on_restart(tmp_path):
    path = tmp_path / "paper.jsonl"
    venue = MemoryVenue()
    with pytest.raises(FeedError):
        _paper(venue, journal=path, fail_after=12).run()  # a limit order rests at the venue (bar 9)
    resting = [cid for cid, o in venue.orders_.items() if o["request"].kind == "limit" and o["status"] == "accepted"]
    assert len(resting) == 1
    venue.set_price("A000", 1.0)  # the market crosses it while the session is down
    venue.queue.clear()  # ... and the session never reads that update
    result = _paper(venue, journal=path).run()
    order_id = int(resting[0].rsplit("-", 1)[1])
    row = result.orders.filter(pl.col("order_id") == order_id)
    assert row["status"].item() == "filled"
    settled = next(e for e in read_journal(path) if e.kind == "restart").data["settled"]
    assert settled and settled[0]["order_id"] == order_id


def test_an_order_the_venue_never_received_is_closed_not_sent_late(tmp_path):
    path = tmp_path / "paper.jsonl"
    venue = MemoryVenue()
    session = _paper(venue, journal=path, session_id="fixed")
    venue.fail_on.add("fixed-2")
    with pytest.raises(Exception, match="connection lost"):
        session.run()
    assert "fixed-2" not in venue.orders_
    result = _paper(venue, journal=path, session_id="fixed").run()
    row = result.orders.filter(pl.col("order_id") == 2)
    assert row["status"].item() == "cancelled" and "not sent" in row["reason"].item()
    assert venue.submits["fixed-2"] == 1 and "fixed-2" not in venue.orders_
    assert result.orders.height > 3  # the session went on after the restart


def test_a_restart_refuses_a_strategy_that_decides_differently(tmp_path):
    path = tmp_path / "paper.jsonl"
    venue = MemoryVenue()
    with pytest.raises(FeedError):
        _paper(venue, journal=path, fail_after=25).run()

    class Other(Swing):
        def on_bar(self, ctx, bars):
            for bar in bars:
                if ctx.position(bar.symbol) == 0:
                    ctx.order(bar.symbol, 3)

    feed = PricedFeed(HistoricalFeed(BARS), venue)
    session = Session(Other(), feed, symbols=BARS.symbols, venue=venue, journal=path, init_cash=100_000.0)
    with pytest.raises(DataError, match="decided") as error:
        session.run()
    assert error.value.argument == "journal"


def test_a_simulated_session_restarts_from_its_journal_to_the_same_result(tmp_path):
    path = tmp_path / "sim.jsonl"

    def session(fail_after=None):
        feed = PricedFeed(HistoricalFeed(BARS), MemoryVenue(), fail_after)
        return Session(Swing(), feed, symbols=BARS.symbols, journal=path, init_cash=100_000.0)

    with pytest.raises(FeedError):
        session(fail_after=20).run()
    again = session()
    result = again.run()
    assert again.restarted
    backtest = Engine(BARS, Swing(), init_cash=100_000.0).run()
    assert result.orders.equals(backtest.orders) and result.equity.equals(backtest.equity)
    with pytest.raises(ConfigError, match="finished session"):
        session().run()


def test_a_restart_checks_it_is_the_same_session(tmp_path):
    path = tmp_path / "sim.jsonl"
    with pytest.raises(FeedError):
        Session(Swing(), PricedFeed(HistoricalFeed(BARS), MemoryVenue(), 5), symbols=BARS.symbols, journal=path).run()
    with pytest.raises(ConfigError, match="symbols") as error:
        Session(Swing(), HistoricalFeed(BARS), symbols=["A000"], journal=path).run()
    assert error.value.argument == "symbols"


def test_compare_reports_the_gap_between_a_paper_session_and_the_replay_of_its_journal(tmp_path):
    path = tmp_path / "paper.jsonl"
    venue = MemoryVenue()
    paper = _paper(venue, journal=path).run()
    simulated = replay(path, Swing(), init_cash=100_000.0)
    assert simulated.meta["broker"] == "simulated"
    # the simulator on the same messages decides the backtest's orders
    backtest = Engine(BARS, Swing(), init_cash=100_000.0).run()
    assert simulated.orders.equals(backtest.orders)
    gap = ml4t.compare(paper, simulated)
    assert gap.labels == ("live (paper)", "live (simulated)")
    total = dict(gap.attribution.rows())["total (P&L)"]
    final = float(simulated.equity["equity"][-1]) - float(paper.equity["equity"][-1])
    assert total == pytest.approx(final, abs=1e-6)
    # the venue filled at the decision bar's close, the simulator at the next open: the fills differ in price
    assert paper.fills["fill_price"].to_list() != simulated.fills["fill_price"].to_list()


@settings(max_examples=15, deadline=None)
@given(crash_at=st.integers(1, 39), parts=st.integers(1, 3))
def test_property_a_crash_anywhere_restarts_to_the_uninterrupted_session(tmp_path_factory, crash_at, parts):
    path = tmp_path_factory.mktemp("crash") / "paper.jsonl"
    reference = _paper(MemoryVenue(parts=parts), session_id="same").run()
    venue = MemoryVenue(parts=parts)
    with pytest.raises(FeedError):
        _paper(venue, journal=path, fail_after=crash_at, session_id="same").run()
    restarted = _paper(venue, journal=path, session_id="same").run()  # a ReconcileWarning would fail it
    assert set(venue.submits.values()) <= {1}  # no order sent twice
    # the ledger holds what the venue did with every order sent
    for order_id, status, filled in restarted.orders.select("order_id", "status", "filled_quantity").rows():
        theirs = venue.orders_.get(f"same-{order_id}")
        if theirs is None:  # never sent: refused before it left, or decided while the session was down
            assert status in ("rejected", "cancelled")
            continue
        assert filled == pytest.approx(abs(theirs["filled"]))
    if parts == 1:  # executions at submission: nothing depends on when the venue was asked, the same session
        for name in ("fills", "equity", "positions"):
            assert getattr(reference, name).equals(getattr(restarted, name)), name
        # a close the session read from the venue's order state on restarting carries no update's reason
        assert reference.orders.drop("reason").equals(restarted.orders.drop("reason"))


def test_a_bracket_is_refused_with_a_venue_before_anything_is_recorded():
    class Bracketing(Strategy):
        def on_bar(self, ctx, bars):
            ctx.bracket("A000", 5, stop_loss=1.0, take_profit=1_000.0)

    venue = MemoryVenue()
    feed = PricedFeed(HistoricalFeed(BARS), venue)
    session = Session(Bracketing(), feed, symbols=BARS.symbols, venue=venue, init_cash=100_000.0)
    with pytest.raises(OrderError, match="brackets are not sent to a broker") as error:
        session.run()
    assert error.value.argument == "stop_loss" and venue.submits == {}


def test_positions_and_cash_are_reconciled_periodically_and_a_difference_is_warned(tmp_path):
    path = tmp_path / "paper.jsonl"
    venue = MemoryVenue()
    result = _paper(venue, journal=path, reconcile_every=1e-6).run()
    checks = [e.data for e in read_journal(path) if e.kind == "reconcile"]
    whens = [c["when"] for c in checks]
    assert whens[0] == "start" and whens[-1] == "end" and whens.count("periodic") >= 30
    assert all(set(c["differ"]) <= set(c["in_flight"]) for c in checks)  # only executions not read yet
    assert checks[-1]["differ"] == {}
    last = checks[-1]
    assert last["cash"][1] == pytest.approx(venue.cash) and last["positions"] == venue.positions()
    assert result.orders.height > 0

    class Meddling(PricedFeed):
        """Someone trades the session's symbol by hand at the broker after the 20th message."""

        def next(self):
            message = super().next()
            if self.given == 20:
                self.venue.held["A000"] = self.venue.held.get("A000", 0.0) + 7.0
            return message

    venue = MemoryVenue()
    feed = Meddling(HistoricalFeed(BARS), venue)
    session = Session(
        Swing(), feed, symbols=BARS.symbols, venue=venue, journal=tmp_path / "b.jsonl", init_cash=100_000.0,
        reconcile_every=1e-6,
    )  # fmt: skip
    with pytest.warns(
        ReconcileWarning, match=r"(periodic|end): the broker holds .* A000 where the session.s ledger holds"
    ):
        session.run()
    differ = [e.data["differ"] for e in read_journal(tmp_path / "b.jsonl") if e.kind == "reconcile"]
    assert any("A000" in d for d in differ)


def test_a_session_restarted_twice_replays_what_the_first_restart_settled(tmp_path):
    path = tmp_path / "paper.jsonl"
    venue = MemoryVenue()
    with pytest.raises(FeedError):
        _paper(venue, journal=path, fail_after=12, session_id="twice").run()  # a limit order rests (bar 9)
    venue.set_price("A000", 1.0)  # filled while the session is down, the update never read
    venue.queue.clear()
    with pytest.raises(FeedError):
        _paper(venue, journal=path, fail_after=20, session_id="twice").run()  # settles it, then stops again
    result = _paper(venue, journal=path, session_id="twice").run()  # replays the settled fill where it happened
    assert set(venue.submits.values()) == {1}
    resting = next(cid for cid, o in venue.orders_.items() if o["request"].kind == "limit")
    row = result.orders.filter(pl.col("order_id") == int(resting.rsplit("-", 1)[1]))
    assert row["status"].item() == "filled"
    kinds = [e.kind for e in read_journal(path)]
    assert kinds.count("restart") == 2 and kinds[-1] == "end"
