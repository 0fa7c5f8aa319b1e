"""Strategy classes the example configs refer to by import path (``ref = "strategies:SmaCrossWithStop"``)."""

from __future__ import annotations

import polars as pl

from ml4t.event import BarBatch, Context, Strategy


class SmaCrossWithStop(Strategy):
    """Per symbol: buy with an equal share of the account while the fast moving average is above the slow one,
    sell when it falls below, and keep a protective stop ``stop`` (a fraction) under every position."""

    def __init__(self, fast: int, slow: int, stop: float = 0.08) -> None:
        self.stop = stop
        self.indicators = {"fast": pl.col("close").rolling_mean(fast), "slow": pl.col("close").rolling_mean(slow)}

    def on_bar(self, ctx: Context, bars: BarBatch) -> None:
        share = 0.95 / max(len(ctx.symbols), 1)
        for bar in bars:
            held = ctx.position(bar.symbol)
            if bar.fast > bar.slow and held == 0 and not ctx.open_orders(bar.symbol):
                ctx.order_target_percent(bar.symbol, share)
            elif bar.fast < bar.slow and held > 0:
                ctx.cancel_all(bar.symbol)
                ctx.order(bar.symbol, -held)
            elif held > 0 and not ctx.open_orders(bar.symbol):
                ctx.order(bar.symbol, -held, stop=bar.close * (1 - self.stop), tag="stop-loss")
