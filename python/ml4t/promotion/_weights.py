"""The promoted weights strategy under realistic execution: an event-driven ``Strategy`` that trades the
vectorized target weights point-in-time through :meth:`ml4t.event.Context.order_target_weights`, so every
engine setting applies (commission and slippage models, volume participation, latency, margin,
reject-not-resize, whole units unless ``fractional``).

The vectorized arrays are ``(n_symbols, n_bars)`` in the kernel's layout (``ml4t._kernel``): ``weights``
(NaN: no target), ``rebalance`` (a ``(0, 0)`` array when the strategy has none: every bar) and ``leverage``
(NaN or ``(0, 0)``: the strategy's ``leverage`` setting). At each bar the follower reads that bar's row,
computed from data up to the bar:

* a symbol has a target where its weight is a number and its rebalance flag is set; a bar where no symbol
  has one is no rebalance (positions drift with prices, as in the vectorized run);
* at a rebalance bar the follower calls ``ctx.order_target_weights`` at the bar's close with the targets
  of the symbols that have a bar now, times ``1 - cash_buffer`` (the share of equity left in cash so fees and
  a gap to the fill do not make the last buys unaffordable; 0 for none), the bar's leverage cap (the smallest
  of the row's ``leverage`` numbers, else the setting) and the strategy's ``lot_size``. Every other symbol is
  left alone: it keeps its position and counts in the cap with its exposure at its last price;
* a target of a symbol without a bar at that time (before its listing, after its delisting, a gap) places no
  order and is recorded in :meth:`WeightsFollower.skipped_targets` (reason ``NO_BAR``), as is every target
  of a rebalance when equity is not positive (``NO_EQUITY``);
* a delisted symbol's position is kept at its last mark (its last close) until the end: with no bar there is
  no price to trade at, and a weight of 0 after the delisting is recorded as skipped, not filled. Under
  next-open execution an order decided at a symbol's last bar waits for a bar that never comes and ends
  ``open`` in ``Result.orders``.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from ml4t.errors import ConfigError
from ml4t.event import BarBatch, Context, Strategy
from ml4t.promotion._follow import SKIPPED_SCHEMA
from ml4t.settings import VectorizedSettings

__all__ = ["NO_BAR", "NO_EQUITY", "WeightsFollower"]

NO_BAR = "no bar: the symbol has no bar at the rebalance (not listed yet, delisted, or a gap)"
NO_EQUITY = "no equity: the account's equity is not positive"


class WeightsFollower(Strategy):
    """Trades precomputed target weights (``(n_symbols, n_bars)`` arrays) at their rebalance bars."""

    def __init__(
        self,
        weights: np.ndarray,
        rebalance: np.ndarray,
        leverage: np.ndarray,
        bar_ts: np.ndarray,
        settings: VectorizedSettings,
        *,
        cash_buffer: float,
    ) -> None:
        weights = np.asarray(weights, dtype=np.float64)
        shape = (weights.shape[0], len(bar_ts)) if weights.ndim == 2 else None
        for name, array in (("weights", weights), ("rebalance", rebalance), ("leverage", leverage)):
            if array.size and array.shape != shape:
                raise ConfigError(f"{name} must be (n_symbols, n_bars) = {shape}, got {array.shape}", argument=name)
        targeted = ~np.isnan(weights)
        if rebalance.size:
            targeted &= np.asarray(rebalance, dtype=bool)
        self._weights = np.where(targeted, weights, np.nan)
        self._rebalances = targeted.any(axis=0)
        self._leverage = np.asarray(leverage, dtype=np.float64) if leverage.size else None
        self._bar_of = {int(t): i for i, t in enumerate(bar_ts)}
        self._s = settings
        self._scale = 1.0 - cash_buffer
        self._skipped: list[tuple[int, str, str | None, float | None, float | None, float, str]] = []

    def on_bar(self, ctx: Context, bars: BarBatch) -> None:
        ts = int(bars["ts_event"][0])
        bar = self._bar_of[ts]
        if not self._rebalances[bar]:
            return
        row = self._weights[:, bar]
        present = set(bars.index.tolist())
        symbols = ctx.symbols
        equity = ctx.equity
        targets: dict[str, float | None] = {}
        for sym in np.flatnonzero(~np.isnan(row)).tolist():
            symbol, weight = symbols[sym], float(row[sym])
            if sym not in present:
                self._skip(ctx, ts, symbol, weight, equity, NO_BAR)
            elif not equity > 0:
                self._skip(ctx, ts, symbol, weight, equity, NO_EQUITY)
            else:
                targets[symbol] = weight * self._scale
        if targets:
            ctx.order_target_weights(targets, leverage=self._cap(bar), lot_size=self._s.lot_size)

    def _cap(self, bar: int) -> float | None:
        """The bar's leverage cap: the smallest of the row's ``leverage`` numbers, else the setting."""
        if self._leverage is not None:
            column = self._leverage[:, bar]
            if not np.isnan(column).all():
                return float(np.nanmin(column))
        return self._s.leverage

    def _skip(self, ctx: Context, ts: int, symbol: str, weight: float, equity: float, reason: str) -> None:
        """A target not traded: ``side``, ``quantity`` and ``value`` are what reaching it would have traded at
        the symbol's last price (null before its first price)."""
        price = ctx.price(symbol)
        held = ctx.position(symbol)
        if math.isfinite(price) and equity > 0:
            delta = weight * equity / price - held
            side = "buy" if delta > 0 else "sell"
            self._skipped.append((ts, symbol, side, abs(delta), abs(delta) * price, equity, reason))
        else:
            self._skipped.append((ts, symbol, "buy" if weight > 0 else "sell", None, None, equity, reason))

    def skipped_targets(self) -> pl.DataFrame:
        """The targets the follower did not trade, one row per symbol and rebalance, in the schema of
        ``SignalFollower.skipped_entries``: ``ts_event`` (the rebalance bar), ``symbol``, ``side``,
        ``quantity`` and ``value`` (at the last price, null without one), ``equity`` and ``reason``."""
        frame = pl.DataFrame(self._skipped, schema=list(SKIPPED_SCHEMA), orient="row")
        return frame.with_columns(pl.col("ts_event").cast(pl.Int64).cast(SKIPPED_SCHEMA["ts_event"])).cast(
            pl.Schema(SKIPPED_SCHEMA)
        )
