"""``_core.EventEngine`` under external execution (``EventEngine.incremental(..., external=True)``: a broker fills
the orders, ``apply_fill`` and ``close_order`` bring its fills and closes to the engine's ledger) and risk refusals
(``submit(..., refuse=reason)``), through the binding.

The reference for the ledger is the simulated engine itself: a broker that does, call by call, what the
simulator did on the same stream and strategy must leave the same cash, equity, positions and orders, bit for
bit; single fills are checked against hand-computed cash."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pytest
from tests.event.test_core_incremental import SETTINGS, stream

from ml4t import _core
from ml4t.errors import ConfigError, OrderError

BUY, SELL = True, False


def text(results: dict[str, Any], column: str) -> list[str | None]:
    """A dictionary-coded text column of ``results`` as strings."""
    values = results[f"{column}_values"]
    return [values[code] for code in results[column]]


def external(bars: dict[str, np.ndarray] | None = None, **changes: Any) -> Any:
    """An external engine holding ``bars`` (the stream ended), settings changed by ``changes``."""
    core = _core.EventEngine.incremental(**{**SETTINGS, **changes}, external=True)
    assert core.external
    if bars is not None:
        core.append_bars(**bars)
        core.end()
    return core


def decide(core: Any, k: int) -> None:
    """The scripted strategy (a function of k and the engine's state): market and limit orders of both sides,
    IOC limits that may not fill, a bracket, DAY limits, an order the account refuses, a refused order,
    cancels."""
    symbol = k % 2
    match k % 8:
        case 0:
            core.submit(symbol, (k // 8) % 2 == 0, 5.0, "market", "gtc")
        case 1:
            core.submit(symbol, True, 3.0, "limit", "ioc", limit=98.0 + (k % 5) * 0.5)
        case 2:
            core.submit(symbol, True, 50.0, "market", "gtc", refuse=f"max order value at decision {k}")
        case 3:
            entry = core.submit(symbol, True, 4.0, "market", "gtc")
            core.submit(symbol, False, 4.0, "stop", "gtc", stop=99.0, oco=k, parent=entry)
            core.submit(symbol, False, 4.0, "limit", "gtc", limit=101.0, oco=k, parent=entry)
        case 4:
            core.submit(symbol, False, 2.0, "limit", "day", limit=100.5 + (k % 3))
        case 5:
            core.submit(symbol, True, 150.0, "market", "gtc")  # more than the cash account can pay
        case 6:
            core.submit(symbol, k % 3 == 0, 1.0, "stop", "gtc", stop=100.0)
        case _:
            opened = core.open_orders()
            if len(opened) > 4:
                core.cancel(opened[0])


def simulator_calls(core: Any, call: Any) -> tuple[Any, list[tuple[Any, ...]]]:
    """Run ``call`` on the simulated engine and say what the simulator did in it, as a broker would report
    it: each fill, then each order it closed other than by filling it (the strategy's cancels, risk refusals
    and the OCO/bracket bookkeeping excepted: the external engine does those itself)."""
    n_fills = len(core.fills(0, 2**62))
    states = [core.order_state(i) for i in range(len(core.results()["order_id"]))]
    out = call()
    events: list[tuple[Any, ...]] = [("fill", *row) for row in core.fills(n_fills, 2**62)]
    results = core.results()
    codes = text(results, "order_reason_code")
    reasons = text(results, "order_reason")
    as_status = {"ioc_unfilled": "cancelled", "fok_unfilled": "cancelled", "day_expired": "expired"}
    for i, code in enumerate(codes):
        was_open = i >= len(states) or states[i][0] == "open"
        status = core.order_state(i)[0]
        if not was_open or status in ("open", "filled") or code is None:
            continue
        if code in as_status:
            events.append(("close", i, as_status[code], reasons[i]))
        elif code not in ("cancelled_by_strategy", "risk_limit", "oco_cancelled", "bracket_entry_unfilled"):
            events.append(("close", i, "rejected", reasons[i]))  # the account refused it
    return out, events


def apply(core: Any, events: list[tuple[Any, ...]]) -> None:
    for event in events:
        if event[0] == "fill":
            order_id, _ts, _symbol, _buy, quantity, price, fee, _slippage = event[1:]
            core.apply_fill(order_id, quantity, price, fee)
        else:
            core.close_order(*event[1:])


@pytest.mark.parametrize("execution", ["next_open", "close"])
def test_a_broker_doing_what_the_simulator_did_gives_the_simulated_ledger(execution):
    bars = stream(80, seed=3)
    bars["volume"] = np.full(80, 4e4)  # 40 units a bar: larger orders fill in parts
    changes = {
        "execution": execution,
        "wake": (True, False, False, False),
        "maintenance_margin": 0.0,
        "participation": 1e-3,
    }
    settings = {**SETTINGS, **changes}
    simulated = _core.EventEngine.incremental(**settings)
    simulated.append_bars(**bars)
    simulated.end()
    calls = [simulator_calls(simulated, partial(decide, simulated, 0))[1]]
    steps = []
    while True:
        step, events = simulator_calls(simulated, simulated.step)
        if step is None:
            break
        steps.append(step)
        calls.append(events)
        calls.append(simulator_calls(simulated, partial(decide, simulated, len(steps)))[1])
    a = simulated.results()
    assert "margin_call" not in text(a, "order_reason_code")

    brokered = external(bars, **changes)
    replay = iter(calls)
    decide(brokered, 0)
    apply(brokered, next(replay))
    reported, b_steps = 0, []
    while True:
        applied = len(brokered.fills(0, 2**62))
        step = brokered.step()
        if step is None:
            break
        # the broker's fills applied since the previous step are this step's
        assert step[5:7] == (reported, applied)
        reported = applied
        b_steps.append(step)
        apply(brokered, next(replay))
        decide(brokered, len(b_steps))
        apply(brokered, next(replay))
    assert brokered.finished and next(replay, None) is None
    b = brokered.results()

    # same steps but their fill ranges
    assert [s[:5] + s[7:] for s in b_steps] == [s[:5] + s[7:] for s in steps]
    for key in ["cash", "equity", "ts", "positions", "position_row", "position_symbol", "position_qty",
                "fill_order", "fill_quantity", "fill_price", "fill_fee", "order_quantity", "order_filled",
                "order_avg_price", "order_id", "order_ts"]:  # fmt: skip
        assert (b[key].dtype, b[key].tobytes()) == (a[key].dtype, a[key].tobytes()), key
    assert text(b, "order_status") == text(a, "order_status")
    assert text(b, "order_reason") == text(a, "order_reason")
    statuses = set(text(a, "order_status"))
    codes = set(text(a, "order_reason_code"))
    # the run exercises what it claims to
    assert {"filled", "partially_filled", "cancelled", "rejected", "expired"} <= statuses, statuses
    assert {"risk_limit", "ioc_unfilled", "oco_cancelled", "insufficient_cash", "day_expired"} <= codes, codes
    assert len(a["fill_price"]) > 20


def test_a_refused_order_is_rejected_with_its_reason_and_never_fills():
    bars = stream(6)
    for execution in ["next_open", "close"]:
        core = _core.EventEngine(
            **bars, split=None, dividend=None, signal_arrivals=np.zeros(0, dtype=np.int64),
            **{**SETTINGS, "execution": execution},
        )  # fmt: skip
        step = core.step()
        refused = core.submit(0, BUY, 5.0, "market", "gtc", refuse="max position 0")
        assert core.order_state(refused) == ("rejected", 0.0, 5.0, pytest.approx(np.nan, nan_ok=True))
        assert core.open_orders() == [] and core.pending_market(0) == 0.0
        core.finish()
        r = core.results()
        assert len(r["fill_order"]) == 0 and core.position(0) == 0.0 and core.cash == SETTINGS["init_cash"]
        assert text(r, "order_status") == ["rejected"]
        assert text(r, "order_reason_code") == ["risk_limit"]
        assert text(r, "order_reason") == ["max position 0"]
        assert r["order_closed"][0] == step[0]


def test_a_bracket_whose_entry_was_refused_has_its_legs_cancelled():
    core = external(stream(6))
    core.step()
    entry = core.submit(0, BUY, 2.0, "market", "gtc", refuse="kill switch")
    stop = core.submit(0, SELL, 2.0, "stop", "gtc", stop=90.0, oco=1, parent=entry)
    take = core.submit(0, SELL, 2.0, "limit", "gtc", limit=110.0, oco=1, parent=entry)
    r = core.results()
    assert text(r, "order_status") == ["rejected", "cancelled", "cancelled"]
    assert text(r, "order_reason_code") == ["risk_limit", "bracket_entry_unfilled", "bracket_entry_unfilled"]
    assert core.open_orders() == [] and {stop, take} == {1, 2}


def test_broker_fills_book_like_the_ledger_and_are_reported_at_the_next_step():
    bars = stream(8)
    core = external(bars, wake=(True, False, True, False))
    order = core.submit(0, BUY, 10.0, "market", "gtc")
    first = core.step()
    assert first[5:7] == (0, 0) and core.order_state(order)[0] == "open"
    assert core.apply_fill(order, 4.0, 100.0, 1.0) is None
    assert core.order_state(order) == ("open", 4.0, 6.0, 100.0)
    assert core.apply_fill(order, 6.0, 101.0, 2.0) is None
    assert core.order_state(order) == ("filled", 10.0, 0.0, (400.0 + 606.0) / 10.0)
    # hand-computed: cash pays value plus fees
    assert core.cash == 10_000.0 - 400.0 - 1.0 - 606.0 - 2.0
    assert core.position(0) == 10.0
    assert core.fills(0, 2) == [
        (order, first[0], 0, True, 4.0, 100.0, 1.0, 0.0),
        (order, first[0], 0, True, 6.0, 101.0, 2.0, 0.0),
    ]
    second = core.step()
    assert second[5:7] == (0, 2)
    core.finish()
    r = core.results()
    assert r["cash"][0] == 10_000.0 - 1009.0  # the first step's snapshot holds them
    assert r["order_closed"][0] == first[0]


def test_a_fill_the_account_would_refuse_is_booked_and_the_refusal_returned():
    core = external(stream(4))
    order = core.submit(0, BUY, 200.0, "market", "gtc")
    core.step()
    refusal = core.apply_fill(order, 200.0, 100.0)
    assert refusal is not None and refusal.startswith("insufficient cash")
    assert (core.position(0), core.cash) == (200.0, 10_000.0 - 20_000.0)


def test_the_broker_closes_orders_as_cancelled_rejected_or_expired():
    core = external(stream(4))
    ids = [core.submit(0, BUY, 2.0, "limit", "gtc", limit=90.0) for _ in range(3)]
    ts = core.step()[0]
    core.apply_fill(ids[0], 1.0, 90.0)
    core.close_order(ids[0], "expired", "day order expired")
    core.close_order(ids[1], "rejected", "insufficient buying power")
    core.close_order(ids[2], "cancelled", "cancelled at the broker")
    r = core.results()
    assert text(r, "order_status") == ["partially_filled", "rejected", "cancelled"]
    assert text(r, "order_reason_code") == ["broker"] * 3
    assert text(r, "order_reason") == ["day order expired", "insufficient buying power", "cancelled at the broker"]
    assert list(r["order_closed"]) == [ts] * 3


def test_an_external_engine_fills_nothing_itself():
    core = external(stream(10), execution="close")
    market = core.submit(0, BUY, 1.0, "market", "gtc")
    ioc = core.submit(1, BUY, 1.0, "limit", "ioc", limit=1.0)
    core.step()
    close_now = core.submit(0, BUY, 1.0, "market", "gtc")
    core.finish()
    assert core.fills(0, 100) == []
    assert core.open_orders() == [market, ioc, close_now]
    assert core.equity == SETTINGS["init_cash"]
    assert len(core.results()["equity"]) > 0


def test_bad_broker_calls_are_errors_naming_the_order_and_time():
    core = external(stream(4))
    order = core.submit(0, BUY, 2.0, "market", "gtc")
    ts = core.step()[0]
    for args, needle, argument in [
        ((9, 1.0, 100.0), "order 9 does not exist", "order_id"),
        ((order, 3.0, 100.0), "exceed", "quantity"),
        ((order, -1.0, 100.0), "quantity", "quantity"),
        ((order, 1.0, float("nan")), "price", "price"),
        ((order, 1.0, 100.0, float("inf")), "fee", "fee"),
    ]:
        with pytest.raises(OrderError, match=needle) as err:
            core.apply_fill(*args)
        assert (err.value.argument, err.value.timestamp) == (argument, ts)
    with pytest.raises(ConfigError, match="'cancelled', 'rejected' or 'expired'") as status:
        core.close_order(order, "filled", "")
    assert status.value.argument == "status"
    core.apply_fill(order, 2.0, 100.0)
    with pytest.raises(OrderError, match=f"order {order} is already closed") as closed:
        core.close_order(order, "cancelled", "")
    assert closed.value.timestamp == ts
    simulated = _core.EventEngine.incremental(**SETTINGS)
    mine = simulated.submit(0, BUY, 1.0, "market", "gtc")
    with pytest.raises(ConfigError, match="external=True"):
        simulated.apply_fill(mine, 1.0, 100.0)
    assert not simulated.external
