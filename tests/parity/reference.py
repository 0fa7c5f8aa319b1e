"""Independent reference simulator for the vectorized mode's signal semantics.

It reproduces what ``vectorbt.Portfolio.from_signals`` (vectorbt 1.2.0) does with its default settings, so
that ml4t's vectorized mode can be checked against two implementations: vectorbt itself and this file. It is
written to be read, not to be fast: plain Python floats, one bar and one column at a time, no numba.

Semantics (the vectorbt source lines are in ``vectorbt/portfolio/nb.py`` unless said otherwise):

* One order per bar per column. Signals are resolved for every column of a cash-sharing group first, then the
  orders are executed in column order (``simulate_from_signals_nb``, the three ``for k in range(group_len)``
  loops).
* An entry while already in that position is ignored, an exit while flat is ignored (``signals_to_size_nb``).
* Entry and exit of the same direction on one bar: both dropped (``ConflictMode.Ignore``); long and short entry
  on one bar: both dropped (``DirectionConflictMode.Ignore``). Conflicts are only looked at when the bar has an
  entry at all (``if is_long_entry or is_short_entry``).
* An opposite entry reverses the whole position with one order (``OppositeEntryMode.ReverseReduce`` leaves the
  accumulation mode alone, so without accumulation ``signals_to_size_nb`` asks for ``-(position + size)``); with
  ``size=inf`` that is ``-inf``, which ``execute_order_nb`` turns into "100 percent" and ``sell_nb`` sells the
  long position plus the largest short the free cash allows.
* A stop (SL/TP) that triggers replaces the bar's signals with a full close at the stop price, without slippage,
  or at the open when the bar gaps through the stop (``StopExitPrice.StopLimit``, ``get_stop_price_nb``).
* Cash, position, debt and free cash follow ``buy_nb``/``sell_nb`` exactly, including vectorbt's tolerant float
  helpers (``vectorbt/utils/math_.py``).
* Equity per bar is cash plus position times close (close forward- then backward-filled, as the portfolio's
  ``fillna_close`` does); a position still open at the end is not closed.

Everything else (limit orders, lock_cash, max_size, size granularity, call_seq="auto", ...) is out of scope.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# vectorbt/utils/math_.py: the tolerances of its "approximately" helpers.
REL_TOL = 1e-9
ABS_TOL = 1e-12

INF = math.inf
NAN = math.nan

# Order directions, as vectorbt's ``Direction`` enum uses them inside one order.
BOTH = "both"
LONG_ONLY = "long_only"
SHORT_ONLY = "short_only"

AMOUNT = "amount"
VALUE = "value"
PERCENT = "percent"
SIZE_TYPES = (AMOUNT, VALUE, PERCENT)
STOP_ENTRY_PRICES = ("close", "fillprice")

FILLED = "filled"
REJECTED = "rejected"
IGNORED = "ignored"


# ---------------------------------------------------------------------------------------------------------------
# Tolerant float helpers (same definitions as vectorbt/utils/math_.py)
# ---------------------------------------------------------------------------------------------------------------


def is_close(a: float, b: float) -> bool:
    """``a`` and ``b`` are equal up to 1e-9 relative or 1e-12 absolute; NaN and infinities are never close."""
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
        return False
    if a == b:
        return True
    return abs(a - b) <= max(REL_TOL * max(abs(a), abs(b)), ABS_TOL)


def is_close_or_less(a: float, b: float) -> bool:
    return is_close(a, b) or a < b


def is_less(a: float, b: float) -> bool:
    return not is_close(a, b) and a < b


def _sign(x: float) -> float:
    if x > 0:
        return 1.0
    if x < 0:
        return -1.0
    return 0.0 if x == 0 else NAN


def add(a: float, b: float) -> float:
    """``a + b``, snapped to exactly zero when the two (nearly) cancel."""
    cancels = is_close(abs(a), abs(b)) if _sign(a) != _sign(b) else is_close(a + b, 0.0)
    return 0.0 if cancels else a + b


def _snap_zero(x: float) -> float:
    """``execute_order_nb`` sets cash, position, debt and free cash that are within 1e-12 of zero to zero."""
    return 0.0 if is_close(x, 0.0) else x


# ---------------------------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderRecord:
    """One order the simulation tried to execute.

    For a filled order ``size`` is the filled quantity (always positive), ``price`` the fill price including
    slippage and ``fees`` the fees paid. For a rejected or ignored order ``size`` is the requested quantity
    (``inf`` means "as much as the cash allows"), ``price`` the order price before slippage and ``fees`` NaN.
    """

    bar: int
    col: int
    side: str  # "buy" or "sell"
    size: float
    price: float
    fees: float
    status: str  # "filled", "rejected" or "ignored"
    reason: str  # "" when filled


@dataclass(frozen=True)
class RefResult:
    cash: np.ndarray  # (n_bars, n_groups): cash after each bar; one group per column unless cash_sharing
    position: np.ndarray  # (n_bars, n_cols): position after each bar
    equity: np.ndarray  # (n_bars, n_groups): cash + sum(position * close)
    orders: list[OrderRecord]  # every attempted order, in simulation order
    closed_trades: np.ndarray  # (n_cols,): vectorbt exit trades that are closed
    open_trades: np.ndarray  # (n_cols,): 1 where a trade is still open at the end, else 0

    @property
    def fills(self) -> list[OrderRecord]:
        return [o for o in self.orders if o.status == FILLED]

    @property
    def rejections(self) -> list[OrderRecord]:
        return [o for o in self.orders if o.status != FILLED]

    @property
    def trade_count(self) -> np.ndarray:
        """Closed plus open exit trades per column."""
        return self.closed_trades + self.open_trades


# ---------------------------------------------------------------------------------------------------------------
# Order execution (execute_order_nb, buy_nb, sell_nb)
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class _Books:
    """The part of the state an order changes. Cash and free cash belong to the group, position and debt to
    the column."""

    cash: float
    position: float
    debt: float  # value borrowed for the open short position (at the short's entry prices)
    free_cash: float  # cash minus what is locked as collateral for shorts


@dataclass(frozen=True)
class _Outcome:
    status: str
    side: str
    size: float
    price: float
    fees: float
    reason: str = ""


def _not_filled(status: str, side: str, size: float, price: float, reason: str) -> _Outcome:
    return _Outcome(status, side, size, price, NAN, reason)


def _buy(
    b: _Books,
    size: float,
    price: float,
    direction: str,
    fees: float,
    fixed_fees: float,
    slippage: float,
    min_size: float,
    percent: float,
) -> tuple[_Books, _Outcome]:
    """Buy ``size`` units (``inf``: all the cash allows), or cover a short (``direction == SHORT_ONLY``)."""
    fill_price = price * (1 + slippage)
    cash_limit = b.cash
    if not math.isnan(percent):
        cash_limit = min(cash_limit, percent * cash_limit)

    def no(status: str, reason: str) -> tuple[_Books, _Outcome]:
        return b, _not_filled(status, "buy", size, price, reason)

    if direction == SHORT_ONLY:
        if b.position == 0:
            return no(REJECTED, "no open position")
        wanted = min(-b.position, size)  # covering never buys more than the short
    else:
        if cash_limit == 0:
            return no(REJECTED, "no cash")
        if math.isinf(size) and math.isinf(cash_limit):
            raise ValueError("Attempt to go in long direction infinitely")
        wanted = size
    if wanted == 0:
        return no(IGNORED, "size is zero")

    notional = wanted * fill_price
    fees_due = notional * fees + fixed_fees
    if is_close_or_less(notional + fees_due, cash_limit):
        filled, fees_paid, spent = wanted, fees_due, notional + fees_due
    else:
        # Spend the whole cash limit: notional * (1 + fees) + fixed_fees == cash_limit.
        affordable_notional = add(cash_limit, -fixed_fees) / (1 + fees)
        if affordable_notional <= 0:
            return no(REJECTED, "cannot cover fees")
        filled = affordable_notional / fill_price
        fees_paid = cash_limit - affordable_notional
        spent = cash_limit

    if is_close(wanted, 0.0):
        return no(IGNORED, "size is zero")
    if is_less(filled, min_size):
        return no(REJECTED, "below min size")

    new_position = add(b.position, filled)
    if b.position < 0:
        # Covering releases the collateral of the covered part (at the short's average entry price) from debt.
        covered = filled if new_position < 0 else abs(b.position)
        avg_short_price = b.debt / abs(b.position)
        released = covered * avg_short_price
        new_debt = add(b.debt, -released)
        new_free_cash = add(b.free_cash + 2 * released, -spent)
    else:
        new_debt = b.debt
        new_free_cash = add(b.free_cash, -spent)
    new_books = _Books(cash=add(b.cash, -spent), position=new_position, debt=new_debt, free_cash=new_free_cash)
    return new_books, _Outcome(FILLED, "buy", filled, fill_price, fees_paid)


def _sell(
    b: _Books,
    size: float,
    price: float,
    direction: str,
    fees: float,
    fixed_fees: float,
    slippage: float,
    min_size: float,
    percent: float,
) -> tuple[_Books, _Outcome]:
    """Sell ``size`` units: close a long (``direction == LONG_ONLY``), or sell and/or sell short."""
    fill_price = price * (1 - slippage)

    def no(status: str, reason: str) -> tuple[_Books, _Outcome]:
        return b, _not_filled(status, "sell", size, price, reason)

    if direction == LONG_ONLY:
        qty = min(b.position, size)  # closing never sells more than the long
    elif math.isinf(size) and not math.isnan(percent):
        # "As much as possible": the long position plus the largest short the free cash (including what selling
        # the long brings in) can collateralise. This is the path of every reversal with size=inf.
        long_size = max(b.position, 0.0)
        long_proceeds = long_size * fill_price * (1 - fees)
        usable = add(b.free_cash, long_proceeds)
        if usable <= 0:
            if b.position <= 0:
                return no(REJECTED, "no cash to short")
            qty = long_size
        else:
            max_short = add(usable, -fixed_fees) / (fill_price * (1 + fees))
            qty = add(long_size, max_short)  # note: fixed fees can make max_short negative
            if qty <= 0:
                return no(REJECTED, "cannot cover fees")
    else:
        qty = size  # a finite short sale is never checked against cash
    if not math.isnan(percent):
        qty = percent * qty

    if direction == LONG_ONLY:
        if b.position == 0:
            return no(REJECTED, "no open position")
    elif math.isinf(qty):
        raise ValueError("Attempt to go in short direction infinitely")

    if is_close(qty, 0.0):
        return no(IGNORED, "size is zero")
    if is_less(qty, min_size):
        return no(REJECTED, "below min size")

    notional = qty * fill_price
    fees_paid = notional * fees + fixed_fees
    proceeds = add(notional, -fees_paid)
    if proceeds < 0:
        return no(REJECTED, "cannot cover fees")

    new_position = add(b.position, -qty)
    if new_position < 0:
        # The shorted part is borrowed: it adds to debt and locks twice its value out of free cash
        # (the proceeds stay as collateral plus the same amount as margin).
        shorted = qty if b.position < 0 else abs(new_position)
        short_value = shorted * fill_price
        new_debt = b.debt + short_value
        new_free_cash = add(b.free_cash, add(proceeds, -2 * short_value))
    else:
        new_debt = b.debt
        new_free_cash = b.free_cash + proceeds
    new_books = _Books(cash=b.cash + proceeds, position=new_position, debt=new_debt, free_cash=new_free_cash)
    return new_books, _Outcome(FILLED, "sell", qty, fill_price, fees_paid)


@dataclass(frozen=True)
class _Order:
    size: float  # signed: > 0 buys, < 0 sells; in units of size_type
    size_type: str
    direction: str
    price: float
    slippage: float


def _execute(
    books: _Books, order: _Order, val_price: float, fees: float, fixed_fees: float, min_size: float
) -> tuple[_Books, _Outcome]:
    """``execute_order_nb``: convert the order to units (or to a percent of resources), then buy or sell.

    The returned books are the input books with near-zero values snapped to zero even when nothing fills."""
    b = _Books(
        cash=_snap_zero(books.cash),
        position=_snap_zero(books.position),
        debt=_snap_zero(books.debt),
        free_cash=_snap_zero(books.free_cash),
    )
    side = "buy" if order.size > 0 else "sell"
    if math.isnan(order.size):
        return b, _not_filled(IGNORED, side, order.size, order.price, "size is nan")
    if math.isnan(order.price):
        return b, _not_filled(IGNORED, side, order.size, order.price, "price is nan")
    if math.isnan(b.cash) or b.cash < 0:
        raise ValueError("cash cannot be NaN and must be greater than 0")
    if not math.isfinite(order.price) or order.price <= 0:
        raise ValueError("order price must be finite and greater than 0")
    if order.direction == LONG_ONLY and b.position < 0:
        raise ValueError("position is negative but the order is long-only")
    if order.direction == SHORT_ONLY and b.position > 0:
        raise ValueError("position is positive but the order is short-only")

    size, size_type = order.size, order.size_type
    if size_type == VALUE:
        # The valuation price is the bar's order price (vectorbt's default val_price=inf), forward-filled.
        if math.isinf(val_price) or val_price <= 0:
            raise ValueError("valuation price must be finite and greater than 0")
        if math.isnan(val_price):
            return b, _not_filled(IGNORED, side, size, order.price, "valuation price is nan")
        size, size_type = size / val_price, AMOUNT
    if size_type == AMOUNT and order.direction != LONG_ONLY and size == -INF:
        size, size_type = -1.0, PERCENT  # selling "everything" means 100 percent of the maximum (short) size
    percent = NAN
    if size_type == PERCENT:
        percent = abs(size)
        size = math.copysign(INF, size)

    if size > 0:
        return _buy(b, size, order.price, order.direction, fees, fixed_fees, order.slippage, min_size, percent)
    return _sell(b, -size, order.price, order.direction, fees, fixed_fees, order.slippage, min_size, percent)


# ---------------------------------------------------------------------------------------------------------------
# Signals and stops
# ---------------------------------------------------------------------------------------------------------------


def _resolve_conflicts(long_entry: bool, long_exit: bool, short_entry: bool, short_exit: bool):
    """vectorbt's default conflict modes, which drop both sides of every conflict."""
    if long_entry or short_entry:  # vectorbt looks at conflicts only on bars with an entry
        if long_entry and long_exit:
            long_entry = long_exit = False
        if short_entry and short_exit:
            short_entry = short_exit = False
        if long_entry and short_entry:
            long_entry = short_entry = False
    return long_entry, long_exit, short_entry, short_exit


def _order_from_signals(
    position: float,
    long_entry: bool,
    long_exit: bool,
    short_entry: bool,
    short_exit: bool,
    size: float,
    size_type: str,
    accumulate: bool,
    val_price: float,
) -> tuple[float, str, str]:
    """``signals_to_size_nb``: the signed order size, its size type and the order's direction."""
    if position > 0:
        if short_entry:
            if accumulate:
                return -size, size_type, BOTH  # reduce (and maybe flip) by the order size
            return -_reversal_size(position, size, size_type, val_price), AMOUNT, BOTH
        if long_exit:
            if accumulate:
                return -size, size_type, LONG_ONLY
            return -abs(position), AMOUNT, LONG_ONLY
        if long_entry and accumulate:
            return size, size_type, LONG_ONLY
        return 0.0, size_type, LONG_ONLY if long_entry else BOTH
    if position < 0:
        if long_entry:
            if accumulate:
                return size, size_type, BOTH
            return _reversal_size(position, size, size_type, val_price), AMOUNT, BOTH
        if short_exit:
            if accumulate:
                return size, size_type, SHORT_ONLY
            return abs(position), AMOUNT, SHORT_ONLY
        if short_entry and accumulate:
            return -size, size_type, SHORT_ONLY
        return 0.0, size_type, SHORT_ONLY if short_entry else BOTH
    if long_entry:
        return size, size_type, BOTH
    if short_entry:
        return -size, size_type, BOTH
    return 0.0, size_type, BOTH


def _reversal_size(position: float, size: float, size_type: str, val_price: float) -> float:
    """Units to trade to close ``position`` and open ``size`` the other way (NaN size: just close)."""
    units = abs(position)
    if not math.isnan(size):
        if size_type == PERCENT:
            raise ValueError("SizeType.Percent does not support position reversal using signals")
        units += size / val_price if size_type == VALUE else size
    return units


def _stop_fill_price(
    position: float, reference: float, stop: float, is_stop_loss: bool, open_: float, low: float, high: float
) -> float:
    """``get_stop_price_nb``: the price a stop fills at on this bar, or NaN if it does not trigger.

    The stop level is ``reference * (1 - stop)`` for a long stop-loss and a short take-profit (triggered by a
    fall), ``reference * (1 + stop)`` otherwise. A bar that opens through the level fills at the open."""
    if stop < 0:
        raise ValueError("Stop value must be 0 or greater")
    if position == 0:
        return NAN
    triggered_by_fall = (position > 0) == is_stop_loss
    if triggered_by_fall:
        level = reference * (1 - stop)
        if open_ <= level:
            return open_
    else:
        level = reference * (1 + stop)
        if level <= open_:
            return open_
    if low <= level <= high:
        return level
    return NAN


@dataclass
class _Stops:
    """Armed stops of one column. ``sl_reference`` trails when ``sl_trail``; ``tp_reference`` never moves."""

    sl_stop: float = NAN
    sl_reference: float = NAN
    sl_trail: bool = False
    tp_stop: float = NAN
    tp_reference: float = NAN

    def armed(self) -> bool:
        return not (math.isnan(self.sl_stop) and math.isnan(self.tp_stop))

    def arm_sl(self, stop: float, reference: float, trail: bool) -> None:
        self.sl_stop, self.sl_reference, self.sl_trail = stop, reference, trail

    def arm_tp(self, stop: float, reference: float) -> None:
        self.tp_stop, self.tp_reference = stop, reference

    def clear(self) -> None:
        self.arm_sl(NAN, NAN, False)
        self.arm_tp(NAN, NAN)


# ---------------------------------------------------------------------------------------------------------------
# The simulation
# ---------------------------------------------------------------------------------------------------------------


def _as_2d(x, shape: tuple[int, int], dtype, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=dtype)
    try:  # NumPy broadcasting: a scalar, one value per column (1-D), or (n_bars, 1), or the full shape
        return np.broadcast_to(a, shape)
    except ValueError:
        raise ValueError(f"{name} of shape {a.shape} does not broadcast to {shape}") from None


def _filled_close(close: np.ndarray) -> np.ndarray:
    """Forward- then backward-filled close per column (vectorbt's ``fillna_close``)."""
    out = close.copy()
    for c in range(out.shape[1]):
        last = NAN
        for t in range(out.shape[0]):
            if math.isnan(out[t, c]):
                out[t, c] = last
            else:
                last = out[t, c]
        nxt = NAN
        for t in range(out.shape[0] - 1, -1, -1):
            if math.isnan(out[t, c]):
                out[t, c] = nxt
            else:
                nxt = out[t, c]
    return out


def _count_exit_trades(fills: list[OrderRecord]) -> tuple[int, int]:
    """Closed and open exit trades of one column, as ``get_exit_trades_nb`` aggregates its orders.

    Every order that reduces the position closes one trade (a partial exit closes a part of it); an order that
    flips the position closes one trade and opens another; a position left at the end is one open trade."""
    closed = 0
    in_position = False
    is_long = True
    entered = 0.0  # size of the open trade
    for f in fills:
        if not in_position:
            in_position, is_long, entered = True, f.side == "buy", 0.0
        if (f.side == "buy") == is_long:
            entered += f.size
        elif is_close_or_less(f.size, entered):
            closed += 1
            if is_close(f.size, entered):
                in_position = False
            else:
                entered *= (entered - f.size) / entered
        else:
            closed += 1
            entered = f.size - entered
            is_long = not is_long
    still_open = 1 if in_position and is_less(-entered, 0.0) else 0
    return closed, still_open


def simulate(
    close,
    entries,
    exits,
    *,
    short_entries=None,
    short_exits=None,
    open=None,  # named like vectorbt's argument
    high=None,
    low=None,
    price=None,
    init_cash: float = 100.0,
    cash_sharing: bool = False,
    size=np.inf,
    size_type: str = "amount",
    fees=0.0,
    fixed_fees=0.0,
    slippage=0.0,
    min_size=1e-8,
    accumulate: bool = False,
    sl_stop=np.nan,
    sl_trail: bool = False,
    tp_stop=np.nan,
    stop_entry_price: str = "close",
) -> RefResult:
    """Simulate long/short signals like ``vectorbt.Portfolio.from_signals`` with its default settings.

    ``close`` is (n_bars, n_cols) (a 1-D array is one column). ``entries``/``exits`` are long signals,
    ``short_entries``/``short_exits`` short signals. ``price`` is the order price (default: close); "fill at the
    next bar's open" is emulated by the caller with signals shifted one bar later and ``price=open``.
    ``size``, ``fees``, ``fixed_fees``, ``slippage``, ``min_size``, ``sl_stop`` and ``tp_stop`` are scalars or
    arrays broadcastable to (n_bars, n_cols). ``size_type`` is "amount" (units), "value" (cash, converted at the
    order price) or "percent" (of the cash for buys, of the maximum position for sells).
    ``stop_entry_price`` is "close" (the close of the entry bar, vectorbt's default) or "fillprice".
    With ``cash_sharing`` all columns form one group with one cash account.
    """
    close = np.asarray(close, dtype=float)
    if close.ndim == 1:
        close = close[:, None]
    if close.ndim != 2:
        raise ValueError("close must be 1-D or 2-D")
    shape = close.shape
    n_bars, n_cols = shape
    if size_type not in SIZE_TYPES:
        raise ValueError(f"size_type must be one of {SIZE_TYPES}")
    if stop_entry_price not in STOP_ENTRY_PRICES:
        raise ValueError(f"stop_entry_price must be one of {STOP_ENTRY_PRICES}")

    def floats(x, name: str) -> np.ndarray:
        return _as_2d(np.nan if x is None else x, shape, float, name)

    def flags(x, name: str) -> np.ndarray:
        return _as_2d(False if x is None else x, shape, bool, name)

    long_entries, long_exits = flags(entries, "entries"), flags(exits, "exits")
    short_entries_, short_exits_ = flags(short_entries, "short_entries"), flags(short_exits, "short_exits")
    open_, high_, low_ = floats(open, "open"), floats(high, "high"), floats(low, "low")
    price_ = close if price is None else floats(price, "price")
    size_, fees_, fixed_fees_ = floats(size, "size"), floats(fees, "fees"), floats(fixed_fees, "fixed_fees")
    slippage_, min_size_ = floats(slippage, "slippage"), floats(min_size, "min_size")
    sl_stop_, tp_stop_ = floats(sl_stop, "sl_stop"), floats(tp_stop, "tp_stop")

    # vectorbt rejects a negative size on any bar (signals_to_size_nb runs on every bar, order or not); the cost
    # checks, which it makes only when an order is placed (execute_order_nb), are made here for every bar.
    if any(is_less(float(s), 0.0) for s in size_.flat):
        raise ValueError("Negative size is not allowed. You must express direction using signals.")
    if not np.isfinite(fees_).all() or not np.isfinite(fixed_fees_).all():
        raise ValueError("fees and fixed_fees must be finite")
    if not np.isfinite(slippage_).all() or (slippage_ < 0).any():
        raise ValueError("slippage must be finite and 0 or greater")
    if not np.isfinite(min_size_).all() or (min_size_ < 0).any():
        raise ValueError("min_size must be finite and 0 or greater")

    groups = [list(range(n_cols))] if cash_sharing else [[c] for c in range(n_cols)]
    group_init_cash = np.broadcast_to(np.asarray(init_cash, dtype=float), (len(groups),))
    group_cash = [float(x) for x in group_init_cash]
    group_free_cash = list(group_cash)
    position = [0.0] * n_cols
    debt = [0.0] * n_cols
    val_price = [NAN] * n_cols  # last known order price per column
    stops = [_Stops() for _ in range(n_cols)]

    orders: list[OrderRecord] = []
    cash_out = np.empty((n_bars, len(groups)))
    position_out = np.empty(shape)

    for t in range(n_bars):
        for g, cols in enumerate(groups):
            # 1) Decide every column's order from the state before this bar's orders.
            pending: dict[int, _Order] = {}
            for c in cols:
                bar_price = float(price_[t, c])
                if not math.isnan(bar_price):
                    val_price[c] = bar_price
                pos = position[c]
                stop_price = _check_stops(stops[c], pos, open_[t, c], high_[t, c], low_[t, c], close[t, c])
                if not math.isnan(stop_price):
                    # A stop closes the whole position at the stop price, without slippage.
                    signals = (False, pos > 0, False, pos < 0)
                    order_price, order_slippage, may_accumulate = stop_price, 0.0, False
                else:
                    signals = _resolve_conflicts(
                        bool(long_entries[t, c]),
                        bool(long_exits[t, c]),
                        bool(short_entries_[t, c]),
                        bool(short_exits_[t, c]),
                    )
                    order_price, order_slippage, may_accumulate = bar_price, float(slippage_[t, c]), accumulate
                signed_size, order_size_type, direction = _order_from_signals(
                    pos, *signals, float(size_[t, c]), size_type, may_accumulate, val_price[c]
                )
                if signed_size != 0:  # NaN counts as an order (it is then ignored with a reason)
                    pending[c] = _Order(signed_size, order_size_type, direction, order_price, order_slippage)

            # 2) Execute them in column order against the group's cash.
            for c in cols:
                if c not in pending:
                    continue
                order = pending[c]
                before = _Books(group_cash[g], position[c], debt[c], group_free_cash[g])
                after, outcome = _execute(
                    before, order, val_price[c], float(fees_[t, c]), float(fixed_fees_[t, c]), float(min_size_[t, c])
                )
                group_cash[g], position[c], debt[c], group_free_cash[g] = (
                    after.cash,
                    after.position,
                    after.debt,
                    after.free_cash,
                )
                orders.append(
                    OrderRecord(
                        t, c, outcome.side, outcome.size, outcome.price, outcome.fees, outcome.status, outcome.reason
                    )
                )
                if outcome.status == FILLED:
                    entry_reference = float(close[t, c]) if stop_entry_price == "close" else outcome.price
                    _update_stops(
                        stops[c],
                        before.position,
                        after.position,
                        entry_reference,
                        float(sl_stop_[t, c]),
                        bool(sl_trail),
                        float(tp_stop_[t, c]),
                    )

            cash_out[t, g] = group_cash[g]
            for c in cols:
                position_out[t, c] = position[c]

    filled_close = _filled_close(close)
    equity = np.empty((n_bars, len(groups)))
    for g, cols in enumerate(groups):
        for t in range(n_bars):
            total = cash_out[t, g]
            for c in cols:
                if position_out[t, c] != 0:
                    total += position_out[t, c] * filled_close[t, c]
            equity[t, g] = total

    closed_trades = np.zeros(n_cols, dtype=np.int64)
    open_trades = np.zeros(n_cols, dtype=np.int64)
    for c in range(n_cols):
        closed_trades[c], open_trades[c] = _count_exit_trades([o for o in orders if o.col == c and o.status == FILLED])

    return RefResult(
        cash=cash_out,
        position=position_out,
        equity=equity,
        orders=orders,
        closed_trades=closed_trades,
        open_trades=open_trades,
    )


def _check_stops(stops: _Stops, position: float, open_: float, high: float, low: float, close: float) -> float:
    """The price an armed stop fills at on this bar (NaN: none triggers), then move a trailing stop-loss.

    Missing open is the close; missing low/high are the lower/higher of open and close. The stop-loss is
    checked first, so it wins when both levels are inside the bar. The trailing reference moves to the bar's
    high (long) or low (short) only after the check, so a bar's own extreme never triggers it."""
    if not stops.armed():
        return NAN
    open_, high, low, close = float(open_), float(high), float(low), float(close)
    if math.isnan(open_):
        open_ = close
    if math.isnan(low):
        low = min(open_, close)
    if math.isnan(high):
        high = max(open_, close)
    fill = NAN
    if not math.isnan(stops.sl_stop):
        fill = _stop_fill_price(position, stops.sl_reference, stops.sl_stop, True, open_, low, high)
    if math.isnan(fill) and not math.isnan(stops.tp_stop):
        fill = _stop_fill_price(position, stops.tp_reference, stops.tp_stop, False, open_, low, high)
    if not math.isnan(stops.sl_stop) and stops.sl_trail:
        if position > 0 and high > stops.sl_reference:
            stops.sl_reference = high
        elif position < 0 and low < stops.sl_reference:
            stops.sl_reference = low
    return fill


def _update_stops(
    stops: _Stops,
    position_before: float,
    position_after: float,
    entry_reference: float,
    sl_stop: float,
    sl_trail: bool,
    tp_stop: float,
) -> None:
    """After a fill: flat clears the stops, a new or reversed position arms both with this bar's values, a
    larger position re-arms each stop whose value on this bar is not NaN, a smaller one keeps them."""
    if position_after == 0:
        stops.clear()
    elif position_before == 0 or _sign(position_after) != _sign(position_before):
        stops.arm_sl(sl_stop, entry_reference, sl_trail)
        stops.arm_tp(tp_stop, entry_reference)
    elif abs(position_after) > abs(position_before):
        if not math.isnan(sl_stop):
            stops.arm_sl(sl_stop, entry_reference, sl_trail)
        if not math.isnan(tp_stop):
            stops.arm_tp(tp_stop, entry_reference)
