"""``AlpacaBroker`` against ``FakeAlpaca`` on 127.0.0.1 (never the internet: tests/live/conftest.py fails any
other address): orders of every kind and time in force, fills (whole and partial), cancels, refusals as rejected
orders, idempotent resubmission, a stream that drops and repeats itself, reconciliation after a restart, and the
errors a session stops on. Every wait is bounded (``_wait``'s deadline, the broker's timeout)."""

import calendar
import datetime as dt
import math
import socket
import sys
import threading
import time

import pytest

from ml4t import BrokerError, ConfigError
from ml4t.live._alpaca import AlpacaBroker, _ns
from ml4t.live._broker import BrokerEvent, OrderRequest, Venue
from ml4t.live._fake_alpaca import FakeAlpaca

KEY, SECRET = "fake-key", "fake-secret"


@pytest.fixture
def fake():
    with FakeAlpaca(KEY, SECRET, cash=100_000.0) as server:
        yield server


def _broker(fake, **kwargs) -> AlpacaBroker:
    return AlpacaBroker(KEY, SECRET, url=fake.url, stream_url=fake.stream_url, timeout=5.0, **kwargs)


@pytest.fixture
def broker(fake):
    venue = _broker(fake)
    venue.connect()
    yield venue
    venue.close()


def _wait(broker, done, *, timeout=5.0) -> list[BrokerEvent]:
    """The events read until ``done(events)`` holds (or the deadline passes: the caller's assertion says what
    was missing)."""
    events: list[BrokerEvent] = []
    deadline = time.monotonic() + timeout
    while not done(events) and time.monotonic() < deadline:
        events += broker.events()
        time.sleep(0.005)
    return events


def _kinds(events, cid=None) -> list[str]:
    return [e.kind for e in events if cid is None or e.client_order_id == cid]


def _fills(events, cid) -> list[tuple[float, float]]:
    return [(e.quantity, e.price) for e in events if e.kind == "fill" and e.client_order_id == cid]


def _filled(events, cid) -> float:
    return sum(q for q, _ in _fills(events, cid))


# ---------------------------------------------------------------------------------------------- submitting
@pytest.mark.parametrize("tif", ["day", "gtc"])
@pytest.mark.parametrize(
    ("kind", "prices", "wire"),
    [
        ("market", {}, {}),
        ("limit", {"limit": 99.5}, {"limit_price": "99.5"}),
        ("stop", {"stop": 101.25}, {"stop_price": "101.25"}),
        ("stop_limit", {"stop": 101.0, "limit": 102.0}, {"stop_price": "101", "limit_price": "102"}),
        ("trailing_stop", {"trail_amount": 2.0}, {"trail_price": "2"}),
        ("trailing_stop", {"trail_percent": 1.5}, {"trail_percent": "1.5"}),
    ],
)
@pytest.mark.parametrize("quantity", [7.0, -3.0])
def test_each_kind_and_tif_reaches_alpaca_as_sent(broker, fake, kind, prices, wire, tif, quantity):
    cid = f"{kind}-{tif}-{quantity}-{sorted(prices)}"
    order = broker.submit(OrderRequest(cid, "AAPL", quantity, kind=kind, tif=tif, **prices))
    seen = fake.order(cid)
    assert (seen["type"], seen["time_in_force"], seen["side"], float(seen["qty"])) == (
        kind,
        tif,
        "buy" if quantity > 0 else "sell",
        abs(quantity),
    )
    for name, value in wire.items():
        assert seen[name] == value
    assert (order.client_order_id, order.broker_order_id) == (cid, seen["id"])
    assert (order.symbol, order.quantity, order.kind, order.tif, order.status) == (
        "AAPL",
        quantity,
        kind,
        tif,
        "accepted",
    )
    assert order.filled == 0.0 and math.isnan(order.avg_fill_price) and order.reason is None
    events = _wait(broker, lambda ev: "accepted" in _kinds(ev))
    assert _kinds(events) == ["accepted"]  # no price yet: nothing fills


@pytest.mark.parametrize("tif", ["ioc", "fok"])
def test_ioc_and_fok_fill_what_they_can_at_once(broker, fake, tif):
    fake.set_price("AAPL", 100.0)
    fake.set_liquidity("AAPL", 4)
    broker.submit(OrderRequest("x", "AAPL", 10, tif=tif))
    events = _wait(broker, lambda ev: "cancelled" in _kinds(ev))
    if tif == "ioc":  # four fill, the rest is cancelled
        assert _kinds(events) == ["accepted", "fill", "cancelled"] and _fills(events, "x") == [(4.0, 100.0)]
    else:  # all or nothing: nothing
        assert _kinds(events) == ["accepted", "cancelled"]
    assert fake.positions() == ({"AAPL": 4.0} if tif == "ioc" else {})


@pytest.mark.parametrize(
    ("request_", "argument"),
    [
        (OrderRequest("a", "AAPL", 1, kind="limit"), "limit"),
        (OrderRequest("a", "AAPL", 1, kind="stop_limit", stop=10.0), "limit"),
        (OrderRequest("a", "AAPL", 1, kind="stop"), "stop"),
        (OrderRequest("a", "AAPL", 1, kind="trailing_stop"), "trail_amount"),
        (OrderRequest("a", "AAPL", 1, kind="trailing_stop", trail_amount=1.0, trail_percent=1.0), "trail_amount"),
        (OrderRequest("a", "AAPL", 1, kind="iceberg"), "kind"),
        (OrderRequest("a", "AAPL", 1, tif="opg"), "tif"),
        (OrderRequest("a", "AAPL", 0.0), "quantity"),
        (OrderRequest("a", "AAPL", math.nan), "quantity"),
    ],
)
def test_a_malformed_request_is_refused_before_it_leaves(broker, fake, request_, argument):
    with pytest.raises(ConfigError) as info:
        broker.submit(request_)
    assert info.value.argument == argument
    assert ("POST", "/v2/orders") not in fake.requests


# ---------------------------------------------------------------------------------------------- fills
def test_a_market_order_fills_at_the_price_and_the_ledgers_agree(broker, fake):
    fake.set_price("AAPL", 101.5)
    order = broker.submit(OrderRequest("buy-1", "AAPL", 10))
    assert order.status in ("accepted", "filled")
    events = _wait(broker, lambda ev: "fill" in _kinds(ev))
    assert _kinds(events) == ["accepted", "fill"]
    fill = events[1]
    assert (fill.client_order_id, fill.symbol, fill.quantity, fill.price) == ("buy-1", "AAPL", 10.0, 101.5)
    assert isinstance(fill.ts, int) and fill.ts >= events[0].ts > 1_700_000_000 * 10**9
    assert broker.positions() == {"AAPL": 10.0}
    account = broker.account()
    assert account.cash == pytest.approx(100_000.0 - 1015.0)
    assert account.equity == pytest.approx(100_000.0)
    [closed] = broker.orders()
    assert (closed.status, closed.filled, closed.avg_fill_price) == ("filled", 10.0, 101.5)
    # a sale is a negative fill
    broker.submit(OrderRequest("sell-1", "AAPL", -4))
    events = _wait(broker, lambda ev: "fill" in _kinds(ev))
    assert _fills(events, "sell-1") == [(-4.0, 101.5)]
    assert broker.positions() == {"AAPL": 6.0}


def test_a_partial_fill_then_the_rest(broker, fake):
    fake.set_liquidity("MSFT", 40)
    fake.set_price("MSFT", 50.0)
    broker.submit(OrderRequest("p", "MSFT", 100))
    events = _wait(broker, lambda ev: _filled(ev, "p") >= 40)
    assert _fills(events, "p") == [(40.0, 50.0)]
    [order] = broker.orders()
    assert (order.status, order.filled, order.avg_fill_price) == ("partially_filled", 40.0, 50.0)
    fake.set_price("MSFT", 51.0)
    fake.set_price("MSFT", 52.0)
    events += _wait(broker, lambda ev: _filled(events + ev, "p") >= 100)
    assert _fills(events, "p") == [(40.0, 50.0), (40.0, 51.0), (20.0, 52.0)]
    [order] = broker.orders()
    assert order.status == "filled" and order.avg_fill_price == pytest.approx((40 * 50 + 40 * 51 + 20 * 52) / 100)
    assert broker.positions() == {"MSFT": 100.0}


def test_resting_orders_fill_when_a_price_reaches_them(broker, fake):
    fake.set_price("X", 100.0)
    broker.submit(OrderRequest("lim", "X", 5, kind="limit", limit=99.0, tif="gtc"))
    broker.submit(OrderRequest("stp", "X", -5, kind="stop", stop=97.0, tif="gtc"))
    broker.submit(OrderRequest("trl", "X", -1, kind="trailing_stop", trail_amount=3.0, tif="gtc"))
    _wait(broker, lambda ev: _kinds(ev).count("accepted") == 3)
    fake.set_price("X", 104.0)  # the trailing stop now trails 104: its stop is 101
    fake.set_price("X", 98.5)  # the limit buy (99) fills at 98.5; the trailing stop triggers and fills
    events = _wait(broker, lambda ev: {"lim", "trl"} <= {e.client_order_id for e in ev if e.kind == "fill"})
    assert _fills(events, "lim") == [(5.0, 98.5)]
    assert _fills(events, "trl") == [(-1.0, 98.5)]
    assert _fills(events, "stp") == []
    fake.set_price("X", 96.0)
    events = _wait(broker, lambda ev: "fill" in _kinds(ev))
    assert _fills(events, "stp") == [(-5.0, 96.0)]


# ---------------------------------------------------------------------------------------------- cancels
def test_a_resting_order_is_cancelled_and_a_filled_one_is_not(broker, fake):
    fake.set_price("AAPL", 100.0)
    broker.submit(OrderRequest("rest", "AAPL", 3, kind="limit", limit=90.0))
    broker.submit(OrderRequest("done", "AAPL", 2))
    _wait(broker, lambda ev: "fill" in _kinds(ev))
    broker.cancel("rest")
    events = _wait(broker, lambda ev: "cancelled" in _kinds(ev))
    assert [(e.kind, e.client_order_id) for e in events] == [("cancelled", "rest")]
    broker.cancel("done")  # Alpaca refuses (422): nothing happens, no error, no event
    broker.cancel("rest")  # already cancelled: the same
    broker.cancel("never-sent")  # unknown: the same
    assert _wait(broker, lambda ev: False, timeout=0.2) == []
    statuses = {o.client_order_id: o.status for o in broker.orders()}
    assert statuses == {"rest": "cancelled", "done": "filled"}
    assert fake.order("done")["status"] == "filled"


def test_day_orders_expire(broker, fake):
    broker.submit(OrderRequest("d", "AAPL", 1, kind="limit", limit=1.0))
    broker.submit(OrderRequest("g", "AAPL", 1, kind="limit", limit=1.0, tif="gtc"))
    fake.expire_day_orders()
    events = _wait(broker, lambda ev: "expired" in _kinds(ev))
    assert [(e.kind, e.client_order_id) for e in events if e.kind != "accepted"] == [("expired", "d")]


# ---------------------------------------------------------------------------------------------- refusals
def test_refusals_are_rejected_orders_with_alpacas_reason(broker, fake):
    fake.set_price("AAPL", 100.0)
    too_big = broker.submit(OrderRequest("big", "AAPL", 2_000))
    assert (too_big.status, too_big.reason, too_big.broker_order_id) == ("rejected", "insufficient buying power", "")
    assert (too_big.symbol, too_big.quantity, too_big.kind) == ("AAPL", 2_000, "market")
    fake.set_tradable("DELISTED", False)
    untradable = broker.submit(OrderRequest("dl", "DELISTED", 1))
    assert (untradable.status, untradable.reason) == ("rejected", 'asset "DELISTED" is not tradable')
    fake.reject_next("account is restricted to liquidation only")
    scripted = broker.submit(OrderRequest("liq", "AAPL", 1))
    assert (scripted.status, scripted.reason) == ("rejected", "account is restricted to liquidation only")
    assert broker.orders() == [] and fake.positions() == {}
    assert _wait(broker, lambda ev: False, timeout=0.1) == []  # nothing was placed, nothing happens
    # a refused id is not taken: the same id may be sent again once it can be afforded
    assert broker.submit(OrderRequest("big", "AAPL", 20)).status == "accepted"


def test_an_order_rejected_after_it_was_accepted_is_a_rejected_event(broker, fake):
    broker.submit(OrderRequest("late", "AAPL", 1, kind="limit", limit=5.0))
    fake.reject_open("late")
    events = _wait(broker, lambda ev: "rejected" in _kinds(ev))
    assert [(e.kind, e.client_order_id) for e in events] == [("accepted", "late"), ("rejected", "late")]
    [order] = broker.orders()
    assert order.status == "rejected"


def test_open_orders_hold_buying_power(broker, fake):
    fake.set_price("AAPL", 100.0)
    assert broker.submit(OrderRequest("a", "AAPL", 600, kind="limit", limit=100.0)).status == "accepted"
    assert broker.account().buying_power == pytest.approx(40_000.0)
    assert broker.submit(OrderRequest("b", "AAPL", 500, kind="limit", limit=99.0)).reason == "insufficient buying power"


# ---------------------------------------------------------------------------------------------- idempotence
def test_resubmitting_a_client_order_id_places_nothing(broker, fake):
    fake.set_price("AAPL", 100.0)
    first = broker.submit(OrderRequest("once", "AAPL", 5))
    _wait(broker, lambda ev: "fill" in _kinds(ev))
    again = broker.submit(OrderRequest("once", "AAPL", 5))
    assert again.broker_order_id == first.broker_order_id
    assert (again.status, again.filled, again.avg_fill_price) == ("filled", 5.0, 100.0)
    assert len(broker.orders()) == 1 and broker.positions() == {"AAPL": 5.0}
    assert _wait(broker, lambda ev: False, timeout=0.2) == []


# ---------------------------------------------------------------------------------------------- the stream
def test_events_never_repeat_nor_go_missing_across_stream_reconnects(broker, fake):
    fake.set_liquidity("AAPL", 1)
    fake.set_price("AAPL", 10.0)
    broker.submit(OrderRequest("r", "AAPL", 6, tif="gtc"))
    events = _wait(broker, lambda ev: _filled(ev, "r") >= 1)
    fake.set_price("AAPL", 11.0)
    events += _wait(broker, lambda ev: _filled(events + ev, "r") >= 2)
    # the fake drops the stream and, on the next connection, sends its last 3 updates again
    fake.drop_streams(replay=3)
    fake.set_price("AAPL", 12.0)  # an execution while the stream is away (caught up over REST)
    events += _wait(broker, lambda ev: _filled(events + ev, "r") >= 3)
    deadline = time.monotonic() + 5
    while fake.listeners == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    fake.set_price("AAPL", 13.0)
    events += _wait(broker, lambda ev: _filled(events + ev, "r") >= 4)
    fake.drop_streams(replay=10)
    while fake.listeners == 0 and time.monotonic() < deadline + 5:
        time.sleep(0.005)
    fake.set_price("AAPL", 14.0)
    fake.set_price("AAPL", 15.0)
    events += _wait(broker, lambda ev: _filled(events + ev, "r") >= 6)
    events += _wait(broker, lambda ev: False, timeout=0.2)
    assert _fills(events, "r") == [
        (1.0, 10.0),
        (1.0, 11.0),
        (1.0, 12.0),
        (1.0, 13.0),
        (1.0, 14.0),
        (1.0, 15.0),
    ]  # each execution once, missed ones included
    assert _kinds(events, "r") == ["accepted"] + ["fill"] * 6
    assert broker.reconnects >= 2 and broker.duplicates >= 3


def test_executions_during_an_outage_are_each_reported_with_their_own_price(broker, fake):
    fake.set_liquidity("AAPL", 1)
    fake.set_price("AAPL", 10.0)
    broker.submit(OrderRequest("o", "AAPL", 4, tif="gtc"))
    events = _wait(broker, lambda ev: _filled(ev, "o") >= 1)
    fake.drop_streams(hold=True)  # the stream is down: the next two executions are never sent on it
    fake.set_price("AAPL", 11.0)
    fake.set_price("AAPL", 12.5)
    fake.resume_streams()
    events += _wait(broker, lambda ev: _filled(events + ev, "o") >= 3)
    fake.set_price("AAPL", 13.0)  # and the stream goes on
    events += _wait(broker, lambda ev: _filled(events + ev, "o") >= 4)
    events += _wait(broker, lambda ev: False, timeout=0.1)
    assert _fills(events, "o") == [(1.0, 10.0), (1.0, 11.0), (1.0, 12.5), (1.0, 13.0)]
    fills = [e for e in events if e.kind == "fill"]
    assert [e.ts for e in fills] == sorted(e.ts for e in fills) and len({e.ts for e in fills}) == 4
    assert broker.reconnects >= 1


def test_the_fakes_updates_parse_as_alpaca_py_models(broker, fake):
    """The fake speaks what alpaca-py parses: every update as its TradeUpdate, every REST answer as its models."""
    from alpaca.trading.models import Order, TradeActivity, TradeUpdate

    fake.set_price("AAPL", 100.0)
    fake.set_liquidity("AAPL", 2)
    broker.submit(OrderRequest("m", "AAPL", 3))
    broker.submit(OrderRequest("k", "AAPL", 1, kind="limit", limit=50.0))
    fake.set_price("AAPL", 101.0)
    broker.cancel("k")
    _wait(broker, lambda ev: "cancelled" in _kinds(ev))
    updates = [TradeUpdate(**data) for data in fake.updates]
    assert [str(u.event.value if hasattr(u.event, "value") else u.event) for u in updates] == [
        "new", "partial_fill", "new", "fill", "canceled",
    ]  # fmt: skip
    assert [u.qty for u in updates if u.qty] == [2.0, 1.0]
    assert all(isinstance(u.order, Order) for u in updates)
    assert broker._rest.get_account().status == "ACTIVE"
    activities = [TradeActivity(**a) for a in broker._rest.get("/account/activities/FILL", {"direction": "asc"})]
    assert [(a.qty, a.price, a.cum_qty) for a in activities] == [(2.0, 100.0, 2.0), (1.0, 101.0, 3.0)]
    assert [p.symbol for p in broker._rest.get_all_positions()] == ["AAPL"]


# ---------------------------------------------------------------------------------------------- restarts
def test_a_restarted_client_reconciles_against_the_venue(fake):
    a = _broker(fake)
    a.connect()
    fake.set_price("AAPL", 100.0)
    fake.set_price("MSFT", 50.0)
    a.submit(OrderRequest("s-1", "AAPL", 10))
    a.submit(OrderRequest("s-2", "MSFT", -4, kind="limit", limit=49.0))
    a.submit(OrderRequest("s-3", "AAPL", 5, kind="limit", limit=90.0, tif="gtc"))
    _wait(a, lambda ev: _kinds(ev).count("fill") == 2)
    before = (a.orders(), a.positions(), a.account())
    fake.drop_streams()  # client A dies abruptly: its connections are gone, it never closed
    a._closing.set()
    b = _broker(fake)  # a fresh process would build a fresh client: this one shares nothing with A
    b.connect()
    try:
        assert (b.orders(), b.positions(), b.account()) == before
        assert {o.client_order_id: o.status for o in b.orders()} == {
            "s-1": "filled",
            "s-2": "filled",
            "s-3": "accepted",
        }
        assert b.positions() == {"AAPL": 10.0, "MSFT": -4.0}
        assert b.account().cash == pytest.approx(100_000 - 1000 + 200)
        assert _wait(b, lambda ev: False, timeout=0.2) == []  # what happened before connect is not an event
        again = b.submit(OrderRequest("s-3", "AAPL", 5, kind="limit", limit=90.0, tif="gtc"))
        assert again.broker_order_id == before[0][2].broker_order_id  # the restarted session sends nothing twice
        fake.set_price("AAPL", 89.0)  # A's resting order fills: B hears it
        events = _wait(b, lambda ev: "fill" in _kinds(ev))
        assert [(e.kind, e.client_order_id, e.quantity, e.price) for e in events] == [("fill", "s-3", 5.0, 89.0)]
    finally:
        a.close()
        b.close()


# ---------------------------------------------------------------------------------------------- configuration
def test_real_money_needs_the_explicit_opt_in(fake):
    with pytest.raises(ConfigError, match="real money") as info:
        AlpacaBroker(KEY, SECRET, paper=False)
    assert info.value.argument == "live"
    live = AlpacaBroker(KEY, SECRET, paper=False, live=True)  # constructing sends nothing
    assert (live.url, live.stream_url) == ("https://api.alpaca.markets", "wss://api.alpaca.markets/stream")
    paper = AlpacaBroker(KEY, SECRET)
    assert (paper.url, paper.stream_url) == (
        "https://paper-api.alpaca.markets",
        "wss://paper-api.alpaca.markets/stream",
    )
    assert isinstance(paper, Venue)


def test_missing_keys_name_the_argument(monkeypatch):
    monkeypatch.delenv("APCA_API_KEY_ID", raising=False)
    monkeypatch.delenv("APCA_API_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="APCA_API_KEY_ID") as info:
        AlpacaBroker()
    assert info.value.argument == "api_key"
    with pytest.raises(ConfigError, match="APCA_API_SECRET_KEY") as info:
        AlpacaBroker(KEY)
    assert info.value.argument == "secret_key"
    monkeypatch.setenv("APCA_API_KEY_ID", KEY)
    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET)
    assert AlpacaBroker()._keys == (KEY, SECRET)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [({"url": "ftp://x"}, "url"), ({"stream_url": "http://x"}, "stream_url"), ({"timeout": 0}, "timeout")],
)
def test_bad_settings_name_the_argument(kwargs, argument):
    with pytest.raises(ConfigError) as info:
        AlpacaBroker(KEY, SECRET, **kwargs)
    assert info.value.argument == argument


def test_without_alpaca_py_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "alpaca.trading.client", None)
    with pytest.raises(ImportError, match=r"pip install 'ml4t\[alpaca\]'"):
        AlpacaBroker(KEY, SECRET)


# ---------------------------------------------------------------------------------------------- failures
def test_a_venue_that_is_down_is_a_broker_error_naming_the_url():
    with FakeAlpaca(KEY, SECRET) as gone:
        url, stream_url = gone.url, gone.stream_url
    broker = AlpacaBroker(KEY, SECRET, url=url, stream_url=stream_url, timeout=2.0, max_reconnects=1)
    with pytest.raises(BrokerError, match="could not submit order 'x1' at " + url):
        broker.submit(OrderRequest("x1", "AAPL", 1))
    with pytest.raises(BrokerError, match=url):
        broker.account()
    with pytest.raises(BrokerError, match=url):
        broker.connect()
    broker.close()


def test_a_server_error_is_a_broker_error_not_a_rejection(broker, fake):
    fake.fail_next(500)
    with pytest.raises(BrokerError, match=r"could not submit order 'e1' .*HTTP 500") as info:
        broker.submit(OrderRequest("e1", "AAPL", 1))
    assert fake.url in str(info.value)
    fake.fail_next(503)
    with pytest.raises(BrokerError, match="HTTP 503"):
        broker.positions()


def test_a_lost_stream_is_a_broker_error_once_it_cannot_come_back(fake):
    broker = _broker(fake, max_reconnects=1)
    broker.connect()
    try:
        fake.set_price("AAPL", 10.0)
        broker.submit(OrderRequest("last", "AAPL", 1))
        deadline = time.monotonic() + 5
        while broker._queue.qsize() < 2 and time.monotonic() < deadline:  # accepted and filled, not yet read
            time.sleep(0.005)
        fake.stop()
        while broker._queue.qsize() < 3 and time.monotonic() < deadline + 5:  # and the stream lost for good
            time.sleep(0.005)
        assert _kinds(broker.events()) == ["accepted", "fill"]  # what was read before the loss is not lost
        for _ in range(2):  # then every call says so
            with pytest.raises(BrokerError, match=r"lost the trade_updates stream at ws://127\.0\.0\.1"):
                broker.events()
    finally:
        broker.close()


def test_wrong_keys_are_refused(fake):
    broker = AlpacaBroker(KEY, "wrong", url=fake.url, stream_url=fake.stream_url, timeout=2.0)
    with pytest.raises(BrokerError, match="HTTP 401"):
        broker.account()
    with pytest.raises(BrokerError):
        broker.submit(OrderRequest("w", "AAPL", 1))
    broker.close()


def test_the_guard_refuses_any_address_but_loopback():
    with pytest.raises(pytest.fail.Exception, match="loopback"):
        socket.create_connection(("192.0.2.1", 443), timeout=0.1)
    with pytest.raises(pytest.fail.Exception, match=r"paper-api\.alpaca\.markets"):
        AlpacaBroker(KEY, SECRET).account()  # the real paper API is never contacted from a test


# ---------------------------------------------------------------------------------------------- timestamps
@pytest.mark.parametrize(
    "text",
    [
        "2026-12-07T14:30:05.123456789Z",
        "2026-12-07T14:30:05Z",
        "2026-12-07T09:30:05.5-05:00",
        "2026-12-07T14:30:05.000001+00:00",
    ],
)
def test_timestamps_are_int_ns_utc(text):
    date, clock = text[:10], text[11:19]
    seconds = calendar.timegm(time.strptime(date + " " + clock, "%Y-%m-%d %H:%M:%S"))
    fraction = text[19:].split("Z")[0].split("+")[0].split("-")[0].lstrip(".")
    offset = -5 * 3600 if text.endswith("-05:00") else 0
    expected = (seconds - offset) * 10**9 + int((fraction + "0" * 9)[:9] or 0)
    assert _ns(text) == expected
    assert _ns(dt.datetime(2026, 12, 7, 14, 30, 5, 123456, tzinfo=dt.UTC)) == _ns("2026-12-07T14:30:05.123456Z")


def test_ml4t_live_exports_them():
    import ml4t.live

    assert ml4t.live.AlpacaBroker is AlpacaBroker and ml4t.live.FakeAlpaca is FakeAlpaca
    assert {"AlpacaBroker", "FakeAlpaca"} <= set(ml4t.live.__all__)


def test_a_venue_slower_than_the_timeout_is_a_broker_error(fake):
    broker = AlpacaBroker(KEY, SECRET, url=fake.url, stream_url=fake.stream_url, timeout=0.2)
    fake.delay_next(0.6)
    with pytest.raises(BrokerError, match=r"could not submit order 't1' at http://127\.0\.0\.1:\d+ \(.*Timeout"):
        broker.submit(OrderRequest("t1", "AAPL", 1))
    broker.close()


def test_updates_between_connect_and_listening_are_not_lost(fake):
    """connect() reads the orders, then the stream starts: what happens in between is caught up over REST."""
    fake.set_price("AAPL", 100.0)
    broker = _broker(fake)
    read_orders = broker._all_orders

    def read_then_trade(client):
        orders = read_orders(client)
        if threading.current_thread() is threading.main_thread():  # connect()'s read, before the stream
            fake._submit({"client_order_id": "between", "symbol": "AAPL", "qty": "2", "side": "buy",
                          "type": "market", "time_in_force": "day"})  # fmt: skip
        return orders

    broker._all_orders = read_then_trade
    broker.connect()
    try:
        events = _wait(broker, lambda ev: "fill" in _kinds(ev))
        assert [(e.kind, e.client_order_id, e.quantity) for e in events] == [
            ("accepted", "between", 0.0),
            ("fill", "between", 2.0),
        ]
    finally:
        broker.close()
