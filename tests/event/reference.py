"""A slow plain-Python reference of the event engine for one symbol: market, limit and stop GTC orders, under
``next_open`` or ``close`` execution, with a percent commission and a cash account.

Written from the documented rules, not from the engine's code paths:

* Bar ``i`` completes at its stamp. First, working orders placed before bar ``i`` are tested against it in
  submission order: market at the open; limit buy if ``low <= limit`` at ``min(open, limit)``; stop buy if
  ``high >= stop`` at ``max(open, stop)``; sells mirror. Then the strategy decides at bar ``i``; under
  ``close`` execution its market orders fill at once at bar ``i``'s close, in submission order.
* A fill of ``q`` at ``p`` pays ``fee = rate * q * p``. A cash account books it only if free cash stays >= 0
  (to a relative 1e-9): a buy spends ``q * p + fee``; a sale first reduces a long, and the part that opens or
  adds to a short reserves twice its value from free cash, net of the proceeds; covering releases that
  reserve in proportion. Otherwise the order is rejected (never resized) and stays out of the book, with two
  exceptions: a fill that only reduces the position is always booked, and a reversal (a fill crossing zero)
  is a close plus an open: when the whole is refused, the close alone is booked (its fee on the closed
  units) and the order ends ``partially_filled``.
* No maintenance margin: the draws' prices (86..114) never take a fully collateralized short near it.
* Orders never filled stay ``open``.

The float arithmetic follows the same formulas (and the engine's snapping of sums that cancel to zero) so
results agree to ~1e-9.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

REL_TOL = 1e-9
ABS_TOL = 1e-12


def _is_close(a: float, b: float) -> bool:
    return a == b or abs(a - b) <= max(REL_TOL * max(abs(a), abs(b)), ABS_TOL)


def _add(a: float, b: float) -> float:
    """``a + b``, exactly 0 when the two cancel within tolerance (as the ledger books money)."""
    opposite = math.copysign(1.0, a) != math.copysign(1.0, b)
    cancels = _is_close(abs(a), abs(b)) if opposite else _is_close(a + b, 0.0)
    return 0.0 if cancels else a + b


@dataclass(frozen=True)
class Bar:
    open: float
    high: float
    low: float
    close: float


@dataclass(frozen=True)
class Request:
    """An order decided at bar ``at``: ``quantity`` signed, ``kind`` market/limit/stop with ``price``."""

    at: int
    quantity: float
    kind: str
    price: float | None = None


@dataclass
class Outcome:
    fills: list[tuple[int, int, float, float, float]] = field(default_factory=list)  # order, bar, price, qty, fee
    status: list[str] = field(default_factory=list)
    cash: float = 0.0
    position: float = 0.0


def touch(request: Request, bar: Bar) -> float | None:
    """The fill price of ``request`` in ``bar`` (resting before its open), or None."""
    buy = request.quantity > 0
    if request.kind == "market":
        return bar.open
    p = request.price
    assert p is not None
    if request.kind == "limit":
        if buy:
            return min(bar.open, p) if bar.low <= p else None
        return max(bar.open, p) if bar.high >= p else None
    if request.kind == "stop":
        if buy:
            return max(bar.open, p) if bar.high >= p else None
        return min(bar.open, p) if bar.low <= p else None
    raise ValueError(request.kind)


def simulate(bars: list[Bar], requests: list[Request], *, init_cash: float, rate: float, execution: str) -> Outcome:
    out = Outcome(status=["open"] * len(requests), cash=init_cash)
    free_cash = init_cash
    debt = 0.0

    def booked(buy: bool, qty: float, price: float) -> tuple[float, float, float, float, float, float]:
        """``(cash, free_cash, debt, position, fee, value)`` after a fill of ``qty`` at ``price``."""
        value = qty * price * 1.0
        fee = rate * value
        pos = out.position
        if buy:
            spent = value + fee
            new_pos = _add(pos, qty)
            if pos < 0.0:
                covered = qty if new_pos < 0.0 else abs(pos)
                released = covered * (debt / abs(pos))
                new_debt = _add(debt, -released)
                new_free = _add(free_cash + 2.0 * released, -spent)
            else:
                new_debt, new_free = debt, _add(free_cash, -spent)
            new_cash = _add(out.cash, -spent)
        else:
            received = value - fee
            new_pos = _add(pos, -qty)
            if new_pos < 0.0:
                shorted = qty if pos < 0.0 else abs(new_pos)
                short_value = shorted * price
                new_debt = debt + short_value
                new_free = _add(free_cash, _add(received, -2.0 * short_value))
            else:
                new_debt, new_free = debt, free_cash + received
            new_cash = out.cash + received
        return new_cash, new_free, new_debt, new_pos, fee, value

    def book(order_id: int, i: int, price: float) -> None:
        nonlocal free_cash, debt
        request = requests[order_id]
        buy = request.quantity > 0
        qty = abs(request.quantity)
        closable = max(-out.position, 0.0) if buy else max(out.position, 0.0)
        new_cash, new_free, new_debt, new_pos, fee, value = booked(buy, qty, price)
        slack = 1e-9 * max(abs(out.cash), value, 1.0)
        status = "filled"
        if new_free < -slack and qty > closable * (1 + 1e-9):
            if closable <= 0.0:
                out.status[order_id] = "rejected"
                return
            qty, status = closable, "partially_filled"
            new_cash, new_free, new_debt, new_pos, fee, value = booked(buy, qty, price)
        out.cash, free_cash, debt, out.position = new_cash, new_free, new_debt, new_pos
        out.fills.append((order_id, i, price, qty, fee))
        out.status[order_id] = status

    working: list[int] = []
    for i, bar in enumerate(bars):
        for order_id in working:
            price = touch(requests[order_id], bar)
            if price is not None:
                book(order_id, i, price)
        working = [o for o in working if out.status[o] == "open"]
        for order_id, request in enumerate(requests):
            if request.at != i:
                continue
            if execution == "close" and request.kind == "market":
                book(order_id, i, bar.close)
            else:
                working.append(order_id)
    return out
