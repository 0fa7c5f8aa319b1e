"""The issue's "plain 40-line numba loop on precomputed signals": the floor the sweep kernel is measured against.

One asset, all-in long on an entry, flat on an exit, at the close with a percent fee; per combination it keeps
what a sweep keeps (the equity curve's returns summed for the mean and variance, the compounded total return,
the maximum drawdown, the closed trades). No stops, sizes, sequencing, missing bars or CSCV blocks: the work a
kernel cannot avoid, so ``test_sweep_kernel`` / ``test_numba_loop`` is how far ml4t's kernel is from it.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(nogil=True)
def sweep_loop(close: np.ndarray, entries: np.ndarray, exits: np.ndarray, fees: float, init_cash: float) -> np.ndarray:
    """Per combination ``c`` (rows of ``entries`` / ``exits``, shape ``(n_combinations, n_bars)``): ``(mean
    return, variance of returns, total return, max drawdown, closed trades)``."""
    n_combos, n_bars = entries.shape
    out = np.empty((n_combos, 5))
    for c in range(n_combos):
        cash, position, prev = init_cash, 0.0, init_cash
        total, total_sq, wealth, peak, mdd, trades = 0.0, 0.0, 1.0, 1.0, 0.0, 0
        for t in range(n_bars):
            price = close[t]
            if position == 0.0 and entries[c, t]:
                position = cash / (price * (1.0 + fees))
                cash -= position * price * (1.0 + fees)
            elif position > 0.0 and exits[c, t]:
                cash += position * price * (1.0 - fees)
                position = 0.0
                trades += 1
            equity = cash + position * price
            r = equity / prev - 1.0
            prev = equity
            total += r
            total_sq += r * r
            wealth *= 1.0 + r
            peak = max(peak, wealth)
            mdd = min(mdd, wealth / peak - 1.0)
        mean = total / n_bars
        out[c, 0] = mean
        out[c, 1] = total_sq / n_bars - mean * mean
        out[c, 2] = wealth - 1.0
        out[c, 3] = mdd
        out[c, 4] = trades
    return out
