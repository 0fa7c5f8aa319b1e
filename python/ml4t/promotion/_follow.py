"""The promoted strategy under realistic execution: an event-driven ``Strategy`` that follows the vectorized
signals point-in-time and trades them with ordinary orders, so every engine setting applies (commission and
slippage models, volume participation, latency, margin, reject-not-resize).

At each bar the follower reads that bar's signals (computed from data up to the bar) and acts as the
vectorized rules would, with the vectorized strategy's sizing and stops:

* an exit closes the position (market order); an entry opens one when flat; an opposite entry closes the
  position and opens the other side (``opposite_entry="reverse"``, the default), or only closes it
  (``"close"``), or is ignored (``"ignore"``); an entry and an exit of one side on the same bar, or a long and
  a short entry, follow ``conflict`` / ``direction_conflict`` (default: both dropped);
* sizing at the decision bar's close: ``size_type="amount"`` units, ``"value"`` currency, ``"percent"`` a
  fraction of free cash; ``size=inf`` (all in) spends ``1 - cash_buffer`` of free cash, fees included, so a
  gap to the next open does not make the order unaffordable (it is rejected, not resized, if it still is);
  whole units unless the engine is ``fractional``. Under next-open execution "free cash" counts this bar's
  earlier orders (in symbol order, as the vectorized kernel takes them) as filled at the decision bar's close
  and the fee rate: an exit's proceeds fund the next symbol's entry in the same bar, an entry's cost is spent;
* no dust: an all-in entry smaller than ``min_entry`` of the all-in entry an account holding nothing else
  would place (the same sizing with equity in place of free cash, at the decision bar's close) is not
  placed. With one account shared by several symbols, all in means one position holds the account (the
  vectorized run rejects every other entry for cash); what the buffer, whole units or a gap at the fill leave
  behind is not an allocation, and a dust position bought with it would block the symbol's real entry when
  the account is free again. Like the vectorized run's rejected entry, the signal is retried at the next bar.
  Every entry not placed (dust, or a size that rounds to zero units) is recorded: :meth:`skipped_entries`;
* at most one order per bar and symbol under close execution: a bar in which a protective order filled
  places no signal order at its close (under next-open execution the signal order is for the next bar);
* ``sl_stop`` / ``tp_stop`` become a stop and a limit order (an OCO pair) placed when the entry fills, at the
  fill price times ``1 -/+`` the stop (a trailing stop with ``sl_trail``); an exit signal cancels them.
  Per-bar stop levels and ``accumulate=True`` are vectorized-only features: promotion refuses them under
  realistic execution.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from ml4t._time import TS_DTYPE
from ml4t.errors import ConfigError
from ml4t.event import BarBatch, Context, Fill, Strategy
from ml4t.settings import VectorizedSettings

__all__ = ["SignalFollower"]

_PROTECTIVE = ("stop-loss", "take-profit")
DUST = "dust: below min_entry of the all-in size"
ZERO_UNITS = "zero units: the size rounds to no whole unit"
SKIPPED_SCHEMA: dict[str, pl.DataType] = {
    "ts_event": TS_DTYPE,
    "symbol": pl.String(),
    "side": pl.String(),
    "quantity": pl.Float64(),
    "value": pl.Float64(),
    "equity": pl.Float64(),
    "reason": pl.String(),
}


def _flags(array: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return np.zeros(shape, dtype=bool) if array.size == 0 else np.asarray(array, dtype=bool)


class SignalFollower(Strategy):
    """Trades precomputed vectorized signals (``(n_symbols, n_bars)`` arrays) as they arrive."""

    def __init__(
        self,
        signals: tuple[np.ndarray, ...],
        bar_ts: np.ndarray,
        settings: VectorizedSettings,
        *,
        cash_buffer: float,
        min_entry: float,
        fractional: bool,
        execution: str,
    ) -> None:
        entries, exits, short_entries, short_exits, size, sl_stop, tp_stop = signals[:7]
        shape = (len(entries) if entries.size else len(exits), len(bar_ts))
        if size.size or sl_stop.size or tp_stop.size:
            raise ConfigError(
                "per-bar size and stop levels are vectorized-only: realistic promotion supports the strategy's "
                "size and sl_stop / tp_stop settings",
                argument="strategy",
            )
        if settings.accumulate:
            raise ConfigError("accumulate=True is vectorized-only under realistic promotion", argument="accumulate")
        self._long_entry = _flags(entries, shape)
        self._long_exit = _flags(exits, shape)
        self._short_entry = _flags(short_entries, shape)
        self._short_exit = _flags(short_exits, shape)
        self._bar_of = {int(t): i for i, t in enumerate(bar_ts)}
        self._s = settings
        self._cash_buffer = cash_buffer
        self._min_entry = min_entry
        self._skipped: list[tuple[int, str, str, float, float, float, str]] = []
        self._fractional = fractional
        self._entries: set[int] = set()
        self._stopped: dict[str, int] = {}  # symbol -> ts_event of its last protective fill
        self._close_execution = execution == "close"
        self._pending = 0.0  # cash this bar's orders that fill later will free (+) or spend (-), estimated

    def on_bar(self, ctx: Context, bars: BarBatch) -> None:
        ts = bars["ts_event"]
        closes = bars["close"]
        self._pending = 0.0
        for k, (symbol, sym) in enumerate(zip(bars.symbols, bars.index.tolist(), strict=True)):
            bar = self._bar_of[int(ts[k])]
            self._act(ctx, symbol, sym, bar, float(closes[k]), int(ts[k]))

    def _act(self, ctx: Context, symbol: str, sym: int, bar: int, price: float, ts: int) -> None:
        if self._close_execution and self._stopped.get(symbol) == ts:
            return  # one order per bar and symbol, as in the vectorized mode: a stop already traded this bar
        s = self._s
        long_entry, long_exit = _resolve(self._long_entry[sym, bar], self._long_exit[sym, bar], s.conflict)
        short_entry, short_exit = _resolve(self._short_entry[sym, bar], self._short_exit[sym, bar], s.conflict)
        if long_entry and short_entry:
            choice = s.direction_conflict
            long_entry, short_entry = choice == "long", choice == "short"
        held = ctx.position(symbol)
        if (long_entry and held < 0) or (short_entry and held > 0):
            if s.opposite_entry == "ignore":
                long_entry = short_entry = False
            elif s.opposite_entry == "close":
                long_exit, short_exit = held > 0, held < 0
                long_entry = short_entry = False
            else:
                long_exit, short_exit = held > 0, held < 0
        if (long_exit and held > 0) or (short_exit and held < 0):
            ctx.cancel_all(symbol)
            exit_id = ctx.order(symbol, -held, tag="exit")
            if ctx.order_status(exit_id) != "filled":  # fills at the next open, before this bar's later orders
                self._pending += held * price - abs(held) * price * s.fees - s.fixed_fees
            held = 0.0
        if held == 0.0 and (long_entry or short_entry) and not ctx.open_orders(symbol):
            units = self._units(ctx.free_cash + self._pending, price)
            side = "buy" if long_entry else "sell"
            if units <= 0:
                self._skip(ctx, ts, symbol, side, units, price, ZERO_UNITS)
            elif math.isinf(s.size) and units < self._min_entry * self._units(ctx.equity, price):
                self._skip(ctx, ts, symbol, side, units, price, DUST)
            else:
                order_id = ctx.order(symbol, units if long_entry else -units, tag="entry")
                if ctx.order_status(order_id) == "filled":  # close execution: filled now, protect from the next bar
                    self._protect(ctx, symbol, order_id)
                else:
                    self._pending -= units * price * (1.0 + s.fees) + s.fixed_fees
                    self._entries.add(order_id)

    def _skip(self, ctx: Context, ts: int, symbol: str, side: str, units: float, price: float, reason: str) -> None:
        self._skipped.append((ts, symbol, side, max(units, 0.0), max(units, 0.0) * price, ctx.equity, reason))

    def skipped_entries(self) -> pl.DataFrame:
        """The entries the follower did not place, one row per signal: ``ts_event`` (the decision bar),
        ``symbol``, ``side``, ``quantity`` and ``value`` (at the decision bar's close) it would have traded,
        the ``equity`` then, and the ``reason`` (``DUST`` or ``ZERO_UNITS``)."""
        frame = pl.DataFrame(self._skipped, schema=list(SKIPPED_SCHEMA), orient="row")
        return frame.with_columns(pl.col("ts_event").cast(pl.Int64).cast(TS_DTYPE)).cast(pl.Schema(SKIPPED_SCHEMA))

    def _units(self, cash: float, price: float) -> float:
        """The entry's size with ``cash`` to spend (free cash, or equity for the all-in size of an account
        holding nothing else)."""
        s = self._s
        size, size_type = s.size, s.size_type
        per_unit = price * (1.0 + s.fees)
        if math.isinf(size):  # all in
            units = (1.0 - self._cash_buffer) * max(cash - s.fixed_fees, 0.0) / per_unit
        elif size_type == "value":
            units = size / price
        elif size_type == "percent":
            units = size * max(cash - s.fixed_fees, 0.0) / per_unit
        else:
            units = size
        return units if self._fractional else float(math.floor(units))

    def on_fill(self, ctx: Context, fills: list[Fill]) -> None:
        for fill in fills:
            if fill.tag in _PROTECTIVE:
                self._stopped[fill.symbol] = fill.ts_event
            if fill.order_id in self._entries and ctx.order_status(fill.order_id) == "filled":
                self._entries.discard(fill.order_id)
                self._protect(ctx, fill.symbol, fill.order_id)

    def _protect(self, ctx: Context, symbol: str, entry_id: int) -> None:
        """The stop-loss and take-profit of a filled entry (at its average fill price), as an OCO pair."""
        s = self._s
        held = ctx.position(symbol)
        if held == 0:
            return
        entry_price = ctx.order_info(entry_id).avg_fill_price
        sign = 1.0 if held > 0 else -1.0
        group = ("protect", entry_id)
        if s.sl_stop is not None:
            if s.sl_trail:
                ctx.order(symbol, -held, trail_percent=s.sl_stop, oco=group, tag="stop-loss")
            else:
                ctx.order(symbol, -held, stop=entry_price * (1 - sign * s.sl_stop), oco=group, tag="stop-loss")
        if s.tp_stop is not None:
            ctx.order(symbol, -held, limit=entry_price * (1 + sign * s.tp_stop), oco=group, tag="take-profit")


def _resolve(entry: bool, exit_: bool, conflict: str) -> tuple[bool, bool]:
    if entry and exit_:
        return conflict == "entry", conflict == "exit"
    return bool(entry), bool(exit_)
