"""ml4t's event engine against backtrader on the semantics they share, on synthetic data.

Each test runs the same rule in both engines (an ml4t ``Strategy`` and a backtrader strategy built on
``tests/parity/backtrader_runner.py``) over the same bars and compares every fill (timestamp, symbol, side,
quantity exactly; price and commission to 1e-9), every order's final status, the cash and value after every
bar (1e-9 relative) and the final cash and value. backtrader: one ``PandasDirectData`` feed per symbol on one
broker, ``stdstats=False``, commission set explicitly as a stock-like percentage of traded value
(``commtype=COMM_PERC, percabs=True, stocklike=True``), no slippage, no volume filler.

Shared semantics (asserted equal here)
--------------------------------------
* A bar stamped ``t`` is complete at ``t``; the strategy decides on it after the bar's orders were matched.
* Market order decided on bar ``t``: fills at bar ``t+1``'s open (backtrader without cheat-on-open), stamped
  ``t+1``. An order decided on the last bar never fills and stays open.
* Limit buy: fills if ``low <= limit``, at ``min(open, limit)`` (the open when the bar gaps below the limit);
  limit sell: if ``high >= limit``, at ``max(open, limit)``.
* Stop buy: triggers if ``high >= stop``, fills at ``max(open, stop)`` (the worse open on a gap through the
  stop); stop sell: if ``low <= stop``, at ``min(open, stop)``.
* Orders are GTC by default in both. ml4t ``tif="day"`` on daily bars (one bar per session) is backtrader's
  ``valid=<the next bar's datetime>``: tested on the next bar only, expired on the one after. A cancel in
  the strategy acts after the current bar was matched, in both.
* Percent commission ``rate * quantity * price`` per fill: ``costs.Percent(r)`` is
  ``setcommission(commission=r, commtype=COMM_PERC, percabs=True, stocklike=True)``.
* Shorts in a cash account: the sale's proceeds are cash and the short is marked at the close; cash and
  value agree with backtrader's default ``shortcash=True`` stock accounting (with ample cash: ml4t also
  reserves collateral from free cash, which backtrader does not model).
* ml4t ``execution="close"`` and backtrader ``broker.set_coc(True)``: a market order decided on bar ``t`` fills
  at bar ``t``'s close, stamped ``t``, with the same commission and the same value from bar ``t+1`` on.
* Several symbols at one timestamp: both execute (and cash-check) the working orders of all symbols in
  submission order, so with tight cash a sale of ``B`` submitted before a purchase of ``A`` funds it in both;
  ``Context.order_target_weights`` submits its sells before its buys, so their proceeds are there.

Documented differences (each asserted to really differ in ``test_difference_*``)
---------------------------------------------------------------------------------
1. Cash check. backtrader checks an order's cash when it is accepted at the start of the next bar,
   pseudo-executing it at the *decision bar's close* (``order.created.price``), and refuses it with status
   ``Margin``; ml4t checks at the fill, at the actual fill price plus fees. A buy that is unaffordable at the
   close but affordable at the next open fills in ml4t and is ``Margin`` in backtrader. When it is
   unaffordable at the fill, both refuse: backtrader's ``Margin`` is ml4t's ``rejected`` with a ``reason``.
   Neither resizes an order.
2. Stop-limit whose limit is not met at the trigger price (asserted in ``test_stop_limit_trigger_bar``). Both
   fill at the limit in the trigger bar when it gapped through the stop and then came back (the open is the
   trigger and the rest of the bar follows it), and on a down bar closing within the limit. On an *up* bar
   (``open < close``) triggered intrabar, ml4t also fills at the limit when the close is within it (the close
   follows any trigger); backtrader's assumed open-low-high-close path does not test the close, so it waits
   for the next bar.
3. Close execution timing of the books: under ``set_coc(True)`` backtrader stamps the fill at the decision
   bar but books cash, position and commission during the *next* bar, so its value at bar ``t`` does not
   yet include the trade; ml4t books it at ``t``. From bar ``t+1`` on the values agree. An order decided
   on the last bar fills at that bar's close in ml4t and never in backtrader.
4. Trailing stops. ml4t moves a trailing stop's level with each bar's high (a sell) or low (a buy), after
   testing the bar against the level set by earlier bars; backtrader's ``StopTrail`` moves it with each bar's
   close. After a bar that spikes up and closes low, ml4t's sell stop sits higher and triggers sooner.
5. A plain OCO pair (``oco=``) whose legs both touch in one bar: ml4t fills the stop leg (as a bracket's
   stop-loss, the conservative reading of an unknown intrabar path); backtrader fills the leg submitted first.
6. A flat bar (``open == close``) is an up bar to backtrader's stop-limit path (open-low-high-close): a buy
   stop-limit triggered intrabar on a flat bar closing within its limit waits for the next bar there (as in
   2), while a sell fills in the bar in both. ml4t has no bar direction in this rule (asserted in
   ``test_stop_limit_trigger_bar``).
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

import ml4t.costs as costs
from ml4t.data import Bars, bars
from ml4t.datasets import synthetic_bars
from ml4t.event import Engine, Strategy
from ml4t.result import Result

bt = pytest.importorskip("backtrader")

from tests.parity.backtrader_runner import BacktraderRun, Recorder, run_backtrader, timestamps  # noqa: E402

INIT_CASH = 10_000_000.0  # ample: neither engine ever refuses an order for cash in the agreement tests
SIZE = 100
ATOL = 1e-9
RTOL = 1e-9
FILL_KEY = ["ts_event", "symbol", "side"]


# ---------------------------------------------------------------------------------------------- data


@pytest.fixture(scope="module")
def daily() -> Bars:
    return synthetic_bars(5, 400, "1d", seed=3)


@pytest.fixture(scope="module")
def gappy() -> Bars:
    """Daily bars whose opens gap from the previous close by ~1.5% (sd), so limit and stop orders are often
    jumped over at the open and the gap rules are exercised on both sides."""
    frame = synthetic_bars(4, 300, "1d", seed=11).frame.sort("symbol", "ts_event")
    shock = np.exp(0.015 * np.random.default_rng(11).standard_normal(frame.height))
    prev_close = pl.col("close").shift(1).over("symbol")
    frame = (
        frame.with_columns(pl.Series("shock", shock))
        .with_columns(open=pl.when(prev_close.is_null()).then(pl.col("open")).otherwise(prev_close * pl.col("shock")))
        .with_columns(high=pl.max_horizontal("high", "open"), low=pl.min_horizontal("low", "open"))
        .drop("shock")
    )
    return bars(frame, freq="1d")


def _frame(rows: list[tuple[float, float, float, float]], symbol: str = "X") -> Bars:
    """Hand-made daily bars (open, high, low, close) stamped 21:00 UTC on consecutive days."""
    start = dt.datetime(2024, 1, 1, 21, tzinfo=dt.UTC)
    return bars(
        pl.DataFrame(
            {
                "timestamp": [start + dt.timedelta(days=i) for i in range(len(rows))],
                "symbol": [symbol] * len(rows),
                "open": [float(r[0]) for r in rows],
                "high": [float(r[1]) for r in rows],
                "low": [float(r[2]) for r in rows],
                "close": [float(r[3]) for r in rows],
                "volume": [1e6] * len(rows),
            }
        ),
        freq="1d",
    )


# ----------------------------------------------------------------------------------------- comparison


def _fills(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(*FILL_KEY, "quantity", "fill_price", "fee").sort(FILL_KEY, maintain_order=True)


def _orders(frame: pl.DataFrame) -> list[tuple]:
    return sorted(frame.select("ts_submitted", "symbol", "side", "order_type", "status").rows())


def _assert_same(res: Result, run: BacktraderRun) -> pl.DataFrame:
    """Every fill, every order's final status, the books after every bar and at the end. Returns the fills."""
    ours, theirs = _fills(res.fills), _fills(run.fills)
    assert ours.height == theirs.height > 0
    for column in FILL_KEY:
        assert ours[column].to_list() == theirs[column].to_list(), column
    assert ours["quantity"].to_list() == theirs["quantity"].to_list()
    for column in ("fill_price", "fee"):
        np.testing.assert_allclose(ours[column].to_numpy(), theirs[column].to_numpy(), rtol=0, atol=ATOL)
    assert _orders(res.orders) == _orders(run.orders)
    assert res.equity["ts_event"].to_list() == run.equity["ts_event"].to_list()
    for column in ("cash", "equity"):
        np.testing.assert_allclose(res.equity[column].to_numpy(), run.equity[column].to_numpy(), rtol=RTOL)
    assert res.equity["cash"][-1] == pytest.approx(run.cash, rel=1e-6)
    assert res.equity["equity"][-1] == pytest.approx(run.value, rel=1e-6)
    return ours


def _with_bars(fills: pl.DataFrame, data: Bars) -> pl.DataFrame:
    """The fills with their bar's open (to tell a gap fill from a fill at the order's price)."""
    return fills.join(data.frame.select("ts_event", "symbol", "open"), on=["ts_event", "symbol"], how="left")


def _check_fees(fills: pl.DataFrame, rate: float) -> None:
    np.testing.assert_allclose(
        fills["fee"].to_numpy(), rate * (fills["quantity"] * fills["fill_price"]).to_numpy(), rtol=1e-12, atol=0
    )


# ------------------------------------------------------------------- 1. market orders: SMA crossovers


class MlCross(Strategy):
    """Per symbol: buy SIZE when SMA(fast) crosses above SMA(slow) while flat; sell everything on the cross
    below while long. ``short=True``: reverse to -SIZE / +SIZE instead (long-short, always in the market)."""

    def __init__(self, fast: int, slow: int, short: bool = False) -> None:
        self.fast, self.slow, self.short = fast, slow, short
        self.prev: dict[str, bool] = {}

    def indicators(self):
        return {"fast": pl.col("close").rolling_mean(self.fast), "slow": pl.col("close").rolling_mean(self.slow)}

    def on_bar(self, ctx, bars):
        for bar in bars:
            fast, slow = bar.fast, bar.slow
            if math.isnan(slow):
                continue
            symbol, above = bar.symbol, fast > slow
            prev, self.prev[symbol] = self.prev.get(symbol), above
            if prev is None or prev == above:
                continue
            held = ctx.position(symbol)
            if self.short:
                ctx.order(symbol, (SIZE if above else -SIZE) - held)
            elif above and held == 0:
                ctx.order(symbol, SIZE)
            elif not above and held > 0:
                ctx.order(symbol, -held)


class BtCross(Recorder):
    params = (("fast", 5), ("slow", 20), ("short", False))

    def __init__(self) -> None:
        super().__init__()
        sma = bt.indicators.SimpleMovingAverage
        self.legs = [(d, sma(d.close, period=self.p.fast), sma(d.close, period=self.p.slow)) for d in self.datas]
        self.prev: dict[str, bool] = {}

    def step(self, warm: bool) -> None:
        if not warm:  # backtrader's minimum period: both SMAs are defined from bar slow-1 on, as in polars
            return
        for data, fast, slow in self.legs:
            symbol, above = data._name, fast[0] > slow[0]
            prev, self.prev[symbol] = self.prev.get(symbol), above
            if prev is None or prev == above:
                continue
            held = self.getposition(data).size
            if self.p.short:
                self.place(symbol, (SIZE if above else -SIZE) - held)
            elif above and held == 0:
                self.place(symbol, SIZE)
            elif not above and held > 0:
                self.place(symbol, -held)


@pytest.mark.parametrize("rate", [0.0, 0.001, 0.0025])
def test_market_orders_sma_cross_long_only(daily, rate):
    res = Engine(daily, MlCross(5, 20), init_cash=INIT_CASH, commission=costs.Percent(rate)).run()
    run = run_backtrader(daily, BtCross, init_cash=INIT_CASH, commission=rate, fast=5, slow=20)
    fills = _assert_same(res, run)
    assert fills["symbol"].n_unique() == len(daily.symbols)
    assert set(fills["side"]) == {"buy", "sell"}
    assert res.orders.filter(pl.col("status") == "open").height <= len(daily.symbols)  # only last-bar orders
    # next-open: every fill at its bar's open
    joined = _with_bars(fills, daily)
    np.testing.assert_array_equal(joined["fill_price"].to_numpy(), joined["open"].to_numpy())
    _check_fees(fills, rate)


def test_market_orders_long_short_reversals(daily):
    rate = 0.001
    res = Engine(daily, MlCross(5, 20, short=True), init_cash=INIT_CASH, commission=costs.Percent(rate)).run()
    run = run_backtrader(daily, BtCross, init_cash=INIT_CASH, commission=rate, fast=5, slow=20, short=True)
    fills = _assert_same(res, run)
    assert fills["quantity"].max() == 2 * SIZE  # reversals: one order closes and reopens
    assert (res.positions["position_qty"] < 0).any()
    _check_fees(fills, rate)


# --------------------------------------------------------------------------------------- 2. limit orders


class MlLimits(Strategy):
    """While flat: every bar, a buy limit ``entry`` below the close, good for the next bar only (DAY). While
    long: one GTC sell limit ``exit`` above the close of the bar the position was first seen, until it fills."""

    def __init__(self, entry: float, exit: float) -> None:
        self.entry, self.exit = entry, exit
        self.exits: dict[str, int] = {}

    def on_bar(self, ctx, bars):
        for bar in bars:
            symbol, held = bar.symbol, ctx.position(bar.symbol)
            if held == 0:
                ctx.order(symbol, SIZE, limit=bar.close * (1 - self.entry), tif="day")
            elif symbol not in self.exits or ctx.order_status(self.exits[symbol]) != "open":
                self.exits[symbol] = ctx.order(symbol, -held, limit=bar.close * (1 + self.exit))


class BtLimits(Recorder):
    params = (("entry", 0.01), ("exit", 0.02), ("calendar", ()))

    def __init__(self) -> None:
        super().__init__()
        self.exits: dict[str, object] = {}

    def step(self, warm: bool) -> None:
        calendar = self.p.calendar
        i = len(self)  # bars seen so far: calendar[i] is the next bar's stamp
        valid = calendar[i] if i < len(calendar) else calendar[-1] + dt.timedelta(days=1)
        for data in self.datas:
            symbol, held = data._name, self.getposition(data).size
            if held == 0:
                self.place(symbol, SIZE, exectype=bt.Order.Limit, price=data.close[0] * (1 - self.p.entry), valid=valid)
            elif symbol not in self.exits or not self.exits[symbol].alive():
                self.exits[symbol] = self.place(
                    symbol, -held, exectype=bt.Order.Limit, price=data.close[0] * (1 + self.p.exit)
                )


def test_limit_orders_day_entries_and_gtc_exits(gappy):
    rate = 0.001
    res = Engine(gappy, MlLimits(0.01, 0.02), init_cash=INIT_CASH, commission=costs.Percent(rate)).run()
    run = run_backtrader(
        gappy, BtLimits, init_cash=INIT_CASH, commission=rate, entry=0.01, exit=0.02, calendar=timestamps(gappy)
    )
    _assert_same(res, run)
    statuses = res.orders.group_by("side", "status").len()
    assert statuses.filter(side="buy", status="expired")["len"].item() > 20  # DAY entries that did not fill
    # both branches of the limit rule ran on both sides: at the limit, and at a better open (a gap)
    fills = _with_bars(res.fills.join(res.orders.select("order_id", "limit_price"), on="order_id"), gappy)
    at_open = fills.filter(pl.col("fill_price") == pl.col("open"))
    at_limit = fills.filter(pl.col("fill_price") == pl.col("limit_price"))
    assert at_open.height + at_limit.height == fills.height
    for side in ("buy", "sell"):
        assert at_open.filter(side=side).height > 0 and at_limit.filter(side=side).height > 0, side
    assert (at_open.filter(side="buy")["open"] < at_open.filter(side="buy")["limit_price"]).all()
    assert (at_open.filter(side="sell")["open"] > at_open.filter(side="sell")["limit_price"]).all()
    _check_fees(res.fills, rate)


# ---------------------------------------------------------------------------------------- 3. stop orders


class MlStops(Strategy):
    """Cancel-and-replace every bar. While flat: a buy stop ``entry`` above the close; while long: a sell stop
    ``exit`` below the close for the whole position (a hand-made trailing stop)."""

    def __init__(self, entry: float, exit: float) -> None:
        self.entry, self.exit = entry, exit
        self.working: dict[str, int] = {}

    def on_bar(self, ctx, bars):
        for bar in bars:
            symbol, held = bar.symbol, ctx.position(bar.symbol)
            if symbol in self.working:
                ctx.cancel(self.working[symbol])  # False when it filled on this bar
            if held == 0:
                self.working[symbol] = ctx.order(symbol, SIZE, stop=bar.close * (1 + self.entry))
            else:
                self.working[symbol] = ctx.order(symbol, -held, stop=bar.close * (1 - self.exit))


class BtStops(Recorder):
    params = (("entry", 0.01), ("exit", 0.015))

    def __init__(self) -> None:
        super().__init__()
        self.working: dict[str, object] = {}

    def step(self, warm: bool) -> None:
        for data in self.datas:
            symbol, held = data._name, self.getposition(data).size
            old = self.working.get(symbol)
            if old is not None and old.alive():
                self.cancel(old)
            if held == 0:
                price = data.close[0] * (1 + self.p.entry)
                self.working[symbol] = self.place(symbol, SIZE, exectype=bt.Order.Stop, price=price)
            else:
                price = data.close[0] * (1 - self.p.exit)
                self.working[symbol] = self.place(symbol, -held, exectype=bt.Order.Stop, price=price)


@pytest.mark.parametrize("rate", [0.0, 0.001])
def test_stop_orders_with_gaps_through_the_stop(gappy, rate):
    res = Engine(gappy, MlStops(0.01, 0.015), init_cash=INIT_CASH, commission=costs.Percent(rate)).run()
    run = run_backtrader(gappy, BtStops, init_cash=INIT_CASH, commission=rate, entry=0.01, exit=0.015)
    _assert_same(res, run)
    assert res.orders.filter(status="cancelled").height > 100
    fills = _with_bars(res.fills.join(res.orders.select("order_id", "stop_price"), on="order_id"), gappy)
    gapped = fills.filter(pl.col("fill_price") == pl.col("open"))
    at_stop = fills.filter(pl.col("fill_price") == pl.col("stop_price"))
    assert gapped.height + at_stop.height == fills.height
    for side in ("buy", "sell"):  # the gap rule (fill at the worse open) and the intrabar rule, both sides
        assert gapped.filter(side=side).height > 0 and at_stop.filter(side=side).height > 0, side
    assert (gapped.filter(side="buy")["open"] > gapped.filter(side="buy")["stop_price"]).all()
    assert (gapped.filter(side="sell")["open"] < gapped.filter(side="sell")["stop_price"]).all()
    _check_fees(res.fills, rate)


# ----------------------------------------------------------------- 4. close execution vs cheat-on-close


def test_close_execution_matches_cheat_on_close(daily):
    """Fills, orders and final books agree; the per-bar books agree except on the bars where a trade was
    decided (difference 4: backtrader books a cheat-on-close fill one bar late)."""
    rate = 0.001
    res = Engine(daily, MlCross(5, 20), init_cash=INIT_CASH, execution="close", commission=costs.Percent(rate)).run()
    run = run_backtrader(daily, BtCross, init_cash=INIT_CASH, commission=rate, coc=True, fast=5, slow=20)
    ours, theirs = _fills(res.fills), _fills(run.fills)
    assert ours.height == theirs.height > 0
    assert ours.select(*FILL_KEY, "quantity").rows() == theirs.select(*FILL_KEY, "quantity").rows()
    for column in ("fill_price", "fee"):
        np.testing.assert_allclose(ours[column].to_numpy(), theirs[column].to_numpy(), rtol=0, atol=ATOL)
    joined = ours.join(daily.frame.select("ts_event", "symbol", "close"), on=["ts_event", "symbol"])
    np.testing.assert_array_equal(joined["fill_price"].to_numpy(), joined["close"].to_numpy())  # decision close
    assert res.equity["equity"][-1] == pytest.approx(run.value, rel=1e-6)
    assert res.equity["cash"][-1] == pytest.approx(run.cash, rel=1e-6)
    # the books differ exactly on the bars that had fills, and agree on every other bar
    fill_bars = set(ours["ts_event"].to_list())
    differs = ~np.isclose(res.equity["cash"].to_numpy(), run.equity["cash"].to_numpy(), rtol=RTOL, atol=0)
    assert set(res.equity.filter(pl.Series(differs))["ts_event"].to_list()) == fill_bars
    same = ~res.equity["ts_event"].is_in(list(fill_bars)).to_numpy()
    np.testing.assert_allclose(res.equity["equity"].to_numpy()[same], run.equity["equity"].to_numpy()[same], rtol=RTOL)


# ------------------------------------------------------------------------ 5. documented differences

DAY = dt.timedelta(days=1)
T0 = dt.datetime(2024, 1, 1, 21, tzinfo=dt.UTC)  # _frame's first stamp


class MlScript(Strategy):
    """Submits ``script[i]`` (a list of ``(symbol, quantity, order kwargs)``) on the i-th timestamp."""

    def __init__(self, script: dict[int, list[tuple[str, float, dict]]]) -> None:
        self.script, self.i = script, 0

    def on_bar(self, ctx, bars):
        for symbol, quantity, kwargs in self.script.get(self.i, []):
            ctx.order(symbol, quantity, **kwargs)
        self.i += 1


class BtScript(Recorder):
    params = (("script", None),)

    def step(self, warm: bool) -> None:
        for symbol, quantity, kwargs in self.p.script.get(len(self) - 1, []):
            self.place(symbol, quantity, **kwargs)


def _both(data: Bars, ml_script: dict, bt_script: dict, *, init_cash: float = 1e6, rate: float = 0.0, **engine):
    res = Engine(data, MlScript(ml_script), init_cash=init_cash, commission=costs.Percent(rate), **engine).run()
    coc = engine.get("execution") == "close"
    run = run_backtrader(data, BtScript, init_cash=init_cash, commission=rate, coc=coc, script=bt_script)
    return res, run


def _rows(fills: pl.DataFrame) -> list[tuple]:
    return _fills(fills).select("ts_event", "side", "quantity", "fill_price").rows()


def test_difference_cash_check_at_the_decision_close():
    """1. A buy of 100 with 10,000 cash, decided at a close of 101, next open 99: backtrader's acceptance check
    prices it at 101 (10,100 > 10,000) and refuses it (Margin); ml4t checks the actual fill, 9,900, and fills."""
    data = _frame([(100, 102, 99, 101), (99, 100, 98, 99.5), (99, 100, 98, 99.5)])
    res, run = _both(data, {0: [("X", 100, {})]}, {0: [("X", 100, {})]}, init_cash=10_000.0)
    assert _rows(res.fills) == [(T0 + DAY, "buy", 100.0, 99.0)]
    assert res.orders["status"].to_list() == ["filled"]
    assert run.fills.height == 0
    assert run.orders["status"].to_list() == ["margin"]


def test_both_refuse_a_fill_they_cannot_afford():
    """1 (agreement part). Affordable at the decision close (99), not at the next open (101): both refuse, neither
    resizes; backtrader's ``Margin`` is ml4t's ``rejected`` with a reason."""
    data = _frame([(100, 102, 98, 99), (101, 102, 100, 101.5), (101, 102, 100, 101.5)])
    res, run = _both(data, {0: [("X", 100, {})]}, {0: [("X", 100, {})]}, init_cash=10_000.0)
    assert res.fills.height == 0 and run.fills.height == 0
    assert res.orders.select("status", "reason").rows() == [
        ("rejected", "insufficient cash: the fill costs 10100.00 with fees, free cash is 10000.00")
    ]
    assert run.orders["status"].to_list() == ["margin"]
    assert res.equity["equity"].to_list() == run.equity["equity"].to_list() == [10_000.0] * 3


STOP_LIMIT_CASES = {
    # name: (bar 1 as (open, high, low, close), quantity, stop, limit, ml4t's fill, backtrader's fill);
    # bar 0 is (100, 101, 99, 100), bar 2 is (103, 104, 101, 102) for buys and (93, 96, 92, 95) for sells.
    # a fill is (bar index, price)
    "agree: intrabar trigger, limit above the stop": ((103, 106, 102, 103.5), 10, 105, 105.5, (1, 105), (1, 105)),
    "agree: gap through the stop, open within limit": ((105.5, 107, 104, 106), 10, 105, 106, (1, 105.5), (1, 105.5)),
    "agree: buy gaps over stop and limit, comes back": ((108, 109, 105.5, 107), 10, 105, 106, (1, 106), (1, 106)),
    "agree: sell gaps under stop and limit, comes back": ((92, 95, 91, 93), -10, 95, 94, (1, 94), (1, 94)),
    "agree: down bar, limit below the stop": ((104.5, 106, 102, 103), 10, 105, 104, (1, 104), (1, 104)),
    "agree: up bar, close above the limit": ((103, 106, 102, 104.5), 10, 105, 104, (2, 103), (2, 103)),
    "differ 2: up bar, close within the limit": ((103, 106, 102, 103.5), 10, 105, 104, (1, 104), (2, 103)),
    "differ 6: flat bar is an up bar to backtrader": ((103, 106, 102, 103), 10, 105, 104, (1, 104), (2, 103)),
    "agree: a hair's down bar, same prices": ((103.01, 106, 102, 103), 10, 105, 104, (1, 104), (1, 104)),
    "agree: flat bar, sell, close within the limit": ((97, 98, 94, 97), -10, 95, 96, (1, 96), (1, 96)),
}


@pytest.mark.parametrize("case", list(STOP_LIMIT_CASES))
def test_stop_limit_trigger_bar(case):
    """2. A stop-limit whose trigger price is beyond its limit: ml4t fills at the limit in the trigger bar when the
    bar provably traded there after the trigger (after a gap the whole bar follows the open; after an intrabar
    trigger the close does); backtrader assumes an open-low-high-close path on up bars and does not test the
    close, so on an up bar closing within the limit it waits for the next bar."""
    bar1, qty, stop, limit, ours, theirs = STOP_LIMIT_CASES[case]
    bar2 = (103, 104, 101, 102) if qty > 0 else (93, 96, 92, 95)
    data = _frame([(100, 101, 99, 100), bar1, bar2])
    res, run = _both(
        data,
        {0: [("X", qty, {"stop": stop, "limit": limit})]},
        {0: [("X", qty, {"exectype": bt.Order.StopLimit, "price": stop, "plimit": limit})]},
    )
    side = "buy" if qty > 0 else "sell"
    assert _rows(res.fills) == [(T0 + ours[0] * DAY, side, abs(qty), ours[1])]
    assert _rows(run.fills) == [(T0 + theirs[0] * DAY, side, abs(qty), theirs[1])]
    assert (ours == theirs) == case.startswith("agree")


def test_difference_cheat_on_close_books_the_fill_one_bar_late():
    """3. Same fill (decision bar's close, stamped there); backtrader's cash and value include it only from the
    next bar. An order decided on the last bar fills in ml4t, never in backtrader."""
    data = _frame([(100, 101, 99, 100), (104.5, 106, 102, 103), (103, 104, 101, 102)])
    script = {0: [("X", 10, {})], 2: [("X", -10, {})]}
    res, run = _both(data, script, script, rate=0.001, execution="close")
    assert _rows(res.fills) == [(T0, "buy", 10.0, 100.0), (T0 + 2 * DAY, "sell", 10.0, 102.0)]
    assert _rows(run.fills) == [(T0, "buy", 10.0, 100.0)]
    assert run.orders["status"].to_list() == ["filled", "open"]
    ours, theirs = res.equity["equity"].to_list(), run.equity["equity"].to_list()
    assert ours[0] == pytest.approx(1e6 - 1.0) and theirs[0] == 1e6  # the 1.00 commission: booked at t vs t+1
    assert ours[1] == pytest.approx(theirs[1], rel=1e-12)
    assert ours[2] == pytest.approx(1e6 - 1.0 + 20.0 - 1.02) and theirs[2] == pytest.approx(1e6 - 1.0 + 20.0)


def test_difference_trailing_stop_follows_highs_in_ml4t_closes_in_backtrader():
    """4. Long 10 from bar 1's open; a sell trailing stop 5 below, decided on bar 1 (close 100: level 95). Bar 2
    spikes to 110 and closes at 101: ml4t's level moves to 105 (the high), backtrader's to 96 (the close). Bar 3
    (low 100) triggers ml4t's at its open of 101 (below the level: a gap); bar 4 (low 90) backtrader's at 96."""
    rows = [(100, 101, 99, 100), (100, 101, 99, 100), (100, 110, 99, 101), (101, 102, 100, 101), (101, 101, 90, 92)]
    data = _frame([*rows, (92, 93, 91, 92)])
    entry = {0: [("X", 10, {})]}
    ml = {**entry, 1: [("X", -10, {"trail_amount": 5.0})]}
    theirs = {**entry, 1: [("X", -10, {"exectype": bt.Order.StopTrail, "trailamount": 5.0})]}
    res, run = _both(data, ml, theirs)
    bought = (T0 + DAY, "buy", 10.0, 100.0)
    assert _rows(res.fills) == [bought, (T0 + 3 * DAY, "sell", 10.0, 101.0)]
    assert _rows(run.fills) == [bought, (T0 + 4 * DAY, "sell", 10.0, 96.0)]
    assert res.orders.filter(order_type="trailing_stop")["stop_price"].to_list() == [105.0]  # 110 - 5


class MlOco(Strategy):
    """Long 10 from bar 1's open; on bar 1, an OCO exit pair: a sell stop at 95 and a sell limit at 105."""

    def __init__(self, stop_first: bool) -> None:
        self.stop_first, self.i = stop_first, 0

    def on_bar(self, ctx, bars):
        if self.i == 0:
            ctx.order("X", 10)
        elif self.i == 1:
            legs = [{"stop": 95.0}, {"limit": 105.0}]
            for leg in legs if self.stop_first else legs[::-1]:
                ctx.order("X", -10, oco="exit", **leg)
        self.i += 1


class BtOco(Recorder):
    params = (("stop_first", True),)

    def step(self, warm: bool) -> None:
        if len(self) == 1:
            self.place("X", 10)
        elif len(self) == 2:
            legs = [{"exectype": bt.Order.Stop, "price": 95.0}, {"exectype": bt.Order.Limit, "price": 105.0}]
            first = None
            for leg in legs if self.p.stop_first else legs[::-1]:
                order = self.place("X", -10, oco=first, **leg)
                first = first or order


@pytest.mark.parametrize("stop_first", [True, False], ids=["stop submitted first", "limit submitted first"])
def test_difference_oco_pair_both_touched_in_one_bar(stop_first):
    """5. Bar 2 (low 94, high 106) touches both legs: ml4t fills the stop either way; backtrader the first leg."""
    data = _frame([(100, 101, 99, 100), (100, 101, 99, 100), (100, 106, 94, 100), (100, 101, 99, 100)])
    res = Engine(data, MlOco(stop_first), init_cash=1e6).run()
    run = run_backtrader(data, BtOco, init_cash=1e6, stop_first=stop_first)
    bought = (T0 + DAY, "buy", 10.0, 100.0)
    assert _rows(res.fills) == [bought, (T0 + 2 * DAY, "sell", 10.0, 95.0)]
    assert _rows(run.fills) == [bought, (T0 + 2 * DAY, "sell", 10.0, 95.0 if stop_first else 105.0)]
    stop_wins = {"stop": "filled", "limit": "cancelled"}
    assert dict(res.orders.filter(side="sell").select("order_type", "status").rows()) == stop_wins
    theirs = stop_wins if stop_first else {"stop": "cancelled", "limit": "filled"}
    assert dict(run.orders.filter(side="sell").select("order_type", "status").rows()) == theirs


# ------------------------------------------------------------------ 6. several symbols at one timestamp


def _two_symbols() -> Bars:
    flat = _frame([(100, 101, 99, 100)] * 4, symbol="A").frame
    return bars(pl.concat([flat, flat.with_columns(symbol=pl.lit("B"))]), freq="1d")


def test_orders_across_symbols_match_in_submission_order():
    """All cash in B (95 x 100 of 10,000). Sell B, then buy A, decided together: both engines execute in
    submission order (not in symbol order, where A's bar comes first), so the sale funds the purchase."""
    data = _two_symbols()
    script = {0: [("B", 95, {})], 1: [("B", -95, {}), ("A", 95, {})]}
    res, run = _both(data, script, script, init_cash=10_000.0)
    expected = [("B", "buy", "filled"), ("B", "sell", "filled"), ("A", "buy", "filled")]
    assert run.orders.select("symbol", "side", "status").rows() == expected
    assert res.orders.select("symbol", "side", "status").rows() == expected
    assert res.fills.select("symbol", "side").rows() == [("B", "buy"), ("B", "sell"), ("A", "buy")]
    _assert_same(res, run)


class MlRebalance(Strategy):
    def __init__(self) -> None:
        self.i = 0

    def on_bar(self, ctx, bars):
        if self.i == 0:
            ctx.order("B", 95)
        elif self.i == 1:
            ctx.order_target_weights({"A": 0.95, "B": 0.0})  # "sells are submitted before buys"
        self.i += 1


def test_order_target_weights_sells_fund_the_buys():
    data = _two_symbols()
    res = Engine(data, MlRebalance(), init_cash=10_000.0).run()
    run = run_backtrader(
        data, BtScript, init_cash=10_000.0, script={0: [("B", 95, {})], 1: [("B", -95, {}), ("A", 95, {})]}
    )
    assert res.orders.filter(symbol="A")["status"].to_list() == ["filled"]
    _assert_same(res, run)
