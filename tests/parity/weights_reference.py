"""Independent reference simulator for the vectorized mode's target-weights mode (issue #12).

It is written from the semantics contract (``/work/shared/DESIGN.md`` and the issue's weights-mode rules) and
from what ``vectorbt.Portfolio.from_orders(size=W, size_type="targetpercent", group_by=True, cash_sharing=True,
call_seq="auto")`` (vectorbt 1.2.0) does, not from ml4t's code: plain Python floats, one bar and one column at a
time, no numba, nothing imported from ``ml4t``. It is meant to be read.

The rules, per bar ``t`` and per group (all columns with ``cash_sharing=True``, else each column alone):

* The order price of column ``i`` is ``price[t, i]`` (default: the close); its valuation price is that price,
  or the last valid one when it is NaN (vectorbt's ``val_price=inf`` with ``ffill_val_price=True``). A column
  whose price is NaN (no bar: before a listing, after a delisting, a gap) places no order.
* ``target_i = weights[t, i]`` when ``rebalance[t, i]`` (default: every bar) and the weight is not NaN;
  otherwise the column is left alone (its position drifts with its price). The weights are given already
  aligned to the bar they trade on: for "fill at the next open" the caller shifts them one bar and passes
  ``price=open``.
* ``value = cash + sum_j pos_j * val_price_j`` over the group, computed once before the bar's orders (vectorbt's
  ``update_value=False``). A value of (nearly) zero or below rejects every target order ("no_equity"; vectorbt
  also logs a refusal for a target that needs no trade, which here, as everywhere, is no order).
* Leverage cap ``L``: the smallest non-NaN ``leverage_signal[t, i]`` of the group's columns, else ``leverage``,
  else none. With a cap: ``alone = sum |pos_j * val_price_j| / value`` over the columns that place no order,
  ``gross = sum |target_i|``; when ``alone + gross > L`` every target is scaled by ``max(0, L - alone) / gross``.
* ``units_i = target_i * value / val_price_i - pos_i`` (vectorbt's float order: ``size * value``, divided by the
  valuation price, minus the position), an amount order in either direction, sized like vectorbt's
  ``buy_nb`` / ``sell_nb``: slippage moves the fill price, fees are ``fees * traded value + fixed_fees``, an
  unaffordable buy is cut to the cash (the cut size floored to ``lot_size``), every size is floored to a
  multiple of ``lot_size`` (``size_granularity``), a size below ``min_size`` is rejected. An order of exactly
  zero units is no order.
* Sequence within a shared account: ``"symbol"`` column order; ``"auto"`` vectorbt's ``call_seq="auto"``: a
  stable insertion sort (``insert_argsort_nb``: an element moves left past larger or NaN ones) of the approximate
  order values ``target_i * value - pos_i * val_price_i`` (NaN for columns without a target), so sells come
  first; ``"pro_rata"``: the sells first in ``"auto"`` order, then the buys: when their total cost as asked
  (units floored to the lot size, at the fill price, fees included) is above the cash left after the sells
  (what a buy may spend), each buy gets the budget ``cash * need_i / sum(need)`` and is the same order sized
  as if the account held that budget (cut to ``(budget - fixed_fees) / (1 + fees) / fill_price`` units,
  floored to the lot size, refused like any order that cannot be afforded); otherwise each buy executes as
  asked.
* Then the bar's equity is ``cash + sum pos * close`` with the close forward-filled (the last known close).

Reasons use ml4t's ``reason_code`` vocabulary: ``insufficient_cash``, ``short_collateral``, ``cant_cover_fees``,
``below_min_size``, ``no_equity``. An order vectorbt would *ignore* (a size within 1e-12 of zero after flooring)
is kept as status ``"ignored"`` with reason ``"size_zero"``: it changes nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .reference import OrderRecord, add, is_close, is_close_or_less, is_less

NAN = math.nan

FILLED = "filled"
REJECTED = "rejected"
IGNORED = "ignored"

ORDERS = ("auto", "symbol", "pro_rata")


WeightsOrder = OrderRecord
"""One order the simulation placed: the signal reference's order record (filled: the filled size, the fill
price with slippage and the fees; not filled: the requested size, the order price, NaN fees)."""


@dataclass(frozen=True)
class WeightsResult:
    cash: np.ndarray  # (n_bars, n_groups) after the bar's orders
    position: np.ndarray  # (n_bars, n_cols) after the bar's orders
    equity: np.ndarray  # (n_bars, n_groups): cash + sum(position * last known close)
    value: np.ndarray  # (n_bars, n_groups): the value the bar's targets were sized from (before its orders)
    orders: list[WeightsOrder]  # every order placed, in execution order

    @property
    def fills(self) -> list[WeightsOrder]:
        return [o for o in self.orders if o.status == FILLED]

    @property
    def placed(self) -> list[WeightsOrder]:
        """Filled and rejected orders (the ignored ones changed nothing)."""
        return [o for o in self.orders if o.status != IGNORED]


@dataclass
class _Books:
    cash: float  # the group's
    free_cash: float  # the group's: cash not locked as collateral for shorts
    position: float  # the column's
    debt: float  # the column's: value borrowed for its short


@dataclass(frozen=True)
class _Costs:
    fees: float
    fixed_fees: float
    slippage: float
    min_size: float
    lot: float  # NaN: no lot size


def _floor_lot(size: float, lot: float) -> float:
    return size if math.isnan(lot) else size // lot * lot


def _buy(b: _Books, size: float, price: float, c: _Costs, budget: float) -> tuple[str, str, float, float, float]:
    """Buy ``size`` (> 0) units at ``price`` spending at most ``min(cash, budget)`` (``buy_nb`` without cash
    locking): status, reason, size, fill price, fees; ``b`` is updated in place when it fills."""
    fill_price = price * (1 + c.slippage)
    cash_limit = min(b.cash, budget)
    if cash_limit == 0:
        return REJECTED, "insufficient_cash", size, price, NAN
    wanted = _floor_lot(size, c.lot)
    notional = wanted * fill_price
    fees_due = notional * c.fees + c.fixed_fees
    if is_close_or_less(notional + fees_due, cash_limit):
        filled, fees_paid, spent = wanted, fees_due, notional + fees_due
    else:
        affordable = add(cash_limit, -c.fixed_fees) / (1 + c.fees)
        if affordable <= 0:
            return REJECTED, "cant_cover_fees", size, price, NAN
        filled = affordable / fill_price
        if math.isnan(c.lot):
            fees_paid, spent = cash_limit - affordable, cash_limit
        else:
            filled = _floor_lot(filled, c.lot)
            fees_paid = filled * fill_price * c.fees + c.fixed_fees
            spent = filled * fill_price + fees_paid
    if is_close(wanted, 0.0):
        return IGNORED, "size_zero", size, price, NAN
    if is_less(filled, c.min_size):
        return REJECTED, "below_min_size", size, price, NAN
    new_position = add(b.position, filled)
    if b.position < 0:  # covering releases the covered part's collateral (at the short's average price)
        covered = filled if new_position < 0 else abs(b.position)
        released = covered * (b.debt / abs(b.position))
        b.debt = add(b.debt, -released)
        b.free_cash = add(b.free_cash + 2 * released, -spent)
    else:
        b.free_cash = add(b.free_cash, -spent)
    b.cash = add(b.cash, -spent)
    b.position = new_position
    return FILLED, "", filled, fill_price, fees_paid


def _sell(b: _Books, size: float, price: float, c: _Costs) -> tuple[str, str, float, float, float]:
    """Sell ``size`` (> 0) units at ``price``, short selling past zero (``sell_nb`` for a finite amount)."""
    fill_price = price * (1 - c.slippage)
    qty = _floor_lot(size, c.lot)
    if is_close(qty, 0.0):
        return IGNORED, "size_zero", size, price, NAN
    if is_less(qty, c.min_size):
        return REJECTED, "below_min_size", size, price, NAN
    notional = qty * fill_price
    fees_paid = notional * c.fees + c.fixed_fees
    received = add(notional, -fees_paid)
    if received < 0:
        return REJECTED, "cant_cover_fees", size, price, NAN
    new_position = add(b.position, -qty)
    if new_position < 0:  # the shorted part is borrowed: debt, and twice its value locked out of free cash
        shorted = qty if b.position < 0 else abs(new_position)
        short_value = shorted * fill_price
        b.debt = b.debt + short_value
        b.free_cash = add(b.free_cash, add(received, -2 * short_value))
    else:
        b.free_cash = b.free_cash + received
    b.cash = b.cash + received
    b.position = new_position
    return FILLED, "", qty, fill_price, fees_paid


def _insert_argsort(values: list[float]) -> list[int]:
    """vectorbt's ``insert_argsort_nb``: indices in ascending order of ``values``, stable; NaN goes last."""
    a = list(values)
    idx = list(range(len(a)))
    for j in range(1, len(a)):
        a_j, i_j = a[j], idx[j]
        i = j - 1
        while i >= 0 and (a[i] > a_j or math.isnan(a[i])):
            a[i + 1], idx[i + 1] = a[i], idx[i]
            i -= 1
        a[i + 1], idx[i + 1] = a_j, i_j
    return idx


def _grid(x, shape: tuple[int, int], dtype, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=dtype)
    try:
        return np.broadcast_to(a, shape)
    except ValueError:
        raise ValueError(f"{name} of shape {a.shape} does not broadcast to {shape}") from None


def simulate_weights(
    close,
    weights,
    *,
    price=None,
    rebalance=None,
    leverage: float | None = None,
    leverage_signal=None,
    init_cash: float = 100.0,
    cash_sharing: bool = True,
    order: str = "auto",
    fees: float = 0.0,
    fixed_fees: float = 0.0,
    slippage: float = 0.0,
    min_size: float = 1e-8,
    lot_size: float | None = None,
) -> WeightsResult:
    """Simulate target weights (see the module docstring for the rules).

    ``close``, ``weights``, ``price``, ``rebalance`` and ``leverage_signal`` are (n_bars, n_cols) (or broadcast to
    it); NaN weights leave a column alone, ``rebalance`` False leaves it alone too. ``leverage`` is the setting,
    ``leverage_signal`` a per-bar cap (NaN: the setting). ``init_cash`` is per group.
    """
    close = np.asarray(close, dtype=float)
    if close.ndim != 2:
        raise ValueError("close must be 2-D (n_bars, n_cols)")
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}")
    shape = close.shape
    n_bars, n_cols = shape
    w = _grid(weights, shape, float, "weights")
    px = close if price is None else _grid(price, shape, float, "price")
    reb = _grid(True if rebalance is None else rebalance, shape, bool, "rebalance")
    lev = _grid(NAN if leverage_signal is None else leverage_signal, shape, float, "leverage_signal")
    costs = _Costs(fees, fixed_fees, slippage, min_size, NAN if lot_size is None else float(lot_size))

    groups = [list(range(n_cols))] if cash_sharing else [[c] for c in range(n_cols)]
    cash = [float(init_cash)] * len(groups)
    free_cash = list(cash)
    position = [0.0] * n_cols
    debt = [0.0] * n_cols
    val_price = [NAN] * n_cols
    last_close = [NAN] * n_cols

    orders: list[WeightsOrder] = []
    cash_out = np.empty((n_bars, len(groups)))
    value_out = np.empty((n_bars, len(groups)))
    equity_out = np.empty((n_bars, len(groups)))
    position_out = np.empty(shape)

    for t in range(n_bars):
        for g, cols in enumerate(groups):
            for c in cols:
                if not math.isnan(px[t, c]):
                    val_price[c] = float(px[t, c])
            value = cash[g]
            for c in cols:
                if position[c] != 0:
                    value += position[c] * val_price[c]
            value_out[t, g] = value

            target = {
                c: float(w[t, c]) for c in cols if reb[t, c] and not math.isnan(w[t, c]) and not math.isnan(px[t, c])
            }
            solvent = not (is_close(value, 0.0) or value < 0)
            cap = _cap([float(lev[t, c]) for c in cols], leverage)
            if target and solvent and cap is not None:
                alone = sum(abs(position[c] * val_price[c]) for c in cols if c not in target and position[c] != 0)
                target = _capped(target, alone / value, cap)

            # Units per order, from the value before the bar's orders (positions within 1e-12 of zero are zero).
            # A target within tolerance of the position is already held: no order (a rounding error of the
            # target's arithmetic, which vectorbt refuses below min_size or for want of cash).
            units = {}
            for c, x in target.items():
                held = 0.0 if is_close(position[c], 0.0) else position[c]
                u = x * value / val_price[c] - held
                if u != 0 and not is_close(held + u, held):
                    units[c] = u
            # vectorbt's approx_order_value_nb for a target percent (NaN: no target)
            approx = [target[c] * value - position[c] * val_price[c] if c in target else NAN for c in cols]
            sequence = _sequence(order, cols, approx, units)
            if not solvent:  # no equity: every target is refused (in the order the account would have placed them)
                for c in sequence:
                    side = "buy" if units[c] > 0 else "sell"
                    orders.append(WeightsOrder(t, c, side, abs(units[c]), float(px[t, c]), NAN, REJECTED, "no_equity"))
                sequence = []

            books = _Books(cash[g], free_cash[g], 0.0, 0.0)
            buys = [c for c in sequence if units[c] > 0]
            budget: dict[int, float] = {}
            for c in sequence:
                if order == "pro_rata" and buys and c == buys[0]:  # the sells are done: share the cash if short
                    budget = _pro_rata_budgets(buys, units, px[t], _snap(books.cash), costs)
                books.cash, books.free_cash = _snap(books.cash), _snap(books.free_cash)
                books.position, books.debt = _snap(position[c]), _snap(debt[c])
                orders.append(_place(books, t, c, units[c], budget.get(c, math.inf), float(px[t, c]), costs))
                position[c], debt[c] = books.position, books.debt
            cash[g], free_cash[g] = books.cash, books.free_cash

            cash_out[t, g] = cash[g]
            total = cash[g]
            for c in cols:
                position_out[t, c] = position[c]
                if not math.isnan(close[t, c]):
                    last_close[c] = float(close[t, c])
                if position[c] != 0:
                    total += position[c] * last_close[c]
            equity_out[t, g] = total

    return WeightsResult(cash=cash_out, position=position_out, equity=equity_out, value=value_out, orders=orders)


def _snap(x: float) -> float:
    """vectorbt's ``execute_order_nb`` treats cash, free cash, position and debt within 1e-12 of zero as zero."""
    return 0.0 if is_close(x, 0.0) else x


def _capped(target: dict[int, float], alone: float, cap: float) -> dict[int, float]:
    """Targets scaled so that ``alone`` (the exposure of the columns left alone) plus their gross is at most
    ``cap``; unchanged when it already is."""
    gross = sum(abs(x) for x in target.values())
    if alone + gross <= cap or gross == 0:
        return target
    scale = max(0.0, cap - alone) / gross
    return {c: x * scale for c, x in target.items()}


def _sequence(order: str, cols: list[int], approx: list[float], units: dict[int, float]) -> list[int]:
    """The columns with an order, in the order they execute."""
    ranked = list(cols) if order == "symbol" else [cols[k] for k in _insert_argsort(approx)]
    ranked = [c for c in ranked if c in units]
    if order == "pro_rata":
        return [c for c in ranked if units[c] < 0] + [c for c in ranked if units[c] > 0]
    return ranked


def _place(b: _Books, t: int, c: int, units: float, budget: float, price: float, costs: _Costs) -> WeightsOrder:
    """Execute one order of ``units`` against ``b``, a buy spending at most ``budget``."""
    if units > 0:
        status, reason, size, fill, paid = _buy(b, units, price, costs, budget)
    else:
        status, reason, size, fill, paid = _sell(b, -units, price, costs)
    return WeightsOrder(t, c, "buy" if units > 0 else "sell", size, fill, paid, status, reason)


def _cap(signals: list[float], setting: float | None) -> float | None:
    """The bar's leverage cap: the smallest non-NaN signal of the group, else the setting, else none."""
    given = [x for x in signals if not math.isnan(x)]
    if given:
        return min(given)
    return setting


def _pro_rata_budgets(buys: list[int], units: dict[int, float], prices, cash: float, c: _Costs) -> dict[int, float]:
    """The cash each buy may spend when the buys together cost more than ``cash`` (else: none, as asked).

    ``need_i`` is what buy ``i`` costs as asked: its units floored to the lot size, at the fill price, fees
    included; ``budget_i = cash * need_i / sum(need)``. ``cash`` is what a buy may spend (vectorbt's cash limit
    without cash locking): the cash left after the bar's sells. A buy under a budget is the same order, sized
    as if the account held ``budget_i`` (cut to what it pays for, fees included, floored to the lot size)."""
    fill = {k: float(prices[k]) * (1 + c.slippage) for k in buys}
    need = {k: _floor_lot(units[k], c.lot) * fill[k] * (1 + c.fees) + c.fixed_fees for k in buys}
    total = sum(need.values())
    if total <= cash:
        return {}
    return {k: cash * need[k] / total for k in buys}
