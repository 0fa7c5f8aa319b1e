"""Weight matrices as ml4t bars, and the weights-mode runs the parity suites compare.

A test draws wide matrices (bars x symbols): ``close`` (NaN = the symbol has no bar then: before its listing,
after its delisting, a gap), target ``weights`` (NaN = leave the symbol alone), an optional ``rebalance`` mask
and per-bar ``leverage``. :func:`panel_bars` turns them into one long frame of bars with the signals as extra
columns (``w``, ``rb``, ``lev``), so the very same numbers reach ml4t's kernel through its public API
(``VectorizedStrategy`` returning ``{"weights": pl.col("w"), ...}``) and reach the references as matrices.
Symbols are named ``S0``, ``S1``, ... so that ml4t's symbol order is the matrices' column order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from ml4t.data import Bars, bars

START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Panel:
    close: np.ndarray
    open: np.ndarray
    weights: np.ndarray
    rebalance: np.ndarray | None
    leverage: np.ndarray | None
    bars: Bars

    @property
    def symbols(self) -> list[str]:
        return [f"S{c}" for c in range(self.close.shape[1])]


def walk(rng: np.random.Generator, n_bars: int, n_cols: int, vol: float = 0.04) -> np.ndarray:
    return 50.0 * np.exp(np.cumsum(rng.normal(0.0, vol, (n_bars, n_cols)), axis=0))


def listings(rng: np.random.Generator, close: np.ndarray, first: int = 1) -> np.ndarray:
    """NaN before a random listing or after a random delisting for some symbols from column ``first`` on, and
    the odd one-bar gap; by default the first symbol trades on every bar, so every bar of the timeline exists
    (``first=0``: any column may have holes, for matrices that need no timeline)."""
    out = close.copy()
    n_bars = out.shape[0]
    for c in range(first, out.shape[1]):
        kind = rng.integers(0, 4)
        if kind == 1:
            out[: rng.integers(1, n_bars // 2), c] = np.nan
        elif kind == 2:
            out[rng.integers(n_bars // 2, n_bars) :, c] = np.nan
        elif kind == 3:
            out[rng.integers(1, n_bars - 1), c] = np.nan
    return out


def random_weights(rng: np.random.Generator, shape: tuple[int, int], p_nan: float, shorts: bool, scale: float):
    """Weights around ``scale`` in total (some zero, some NaN; negative ones when ``shorts``)."""
    low = -0.8 if shorts else 0.0
    w = rng.uniform(low, 1.0, shape) * scale / shape[1] * 2
    w[rng.random(shape) < 0.15] = 0.0
    w[rng.random(shape) < p_nan] = np.nan
    return w


def panel_bars(
    close: np.ndarray,
    weights: np.ndarray,
    *,
    open_: np.ndarray | None = None,
    rebalance: np.ndarray | None = None,
    leverage: np.ndarray | None = None,
) -> Panel:
    """Long bars (one row per existing bar: ``close`` not NaN) with the columns ``w``, ``rb`` and ``lev``."""
    n_bars, n_cols = close.shape
    open_ = close if open_ is None else open_
    rows: dict[str, list[Any]] = {k: [] for k in ("timestamp", "symbol", "open", "high", "low", "close", "volume")}
    extra: dict[str, list[Any]] = {"w": [], "rb": [], "lev": []}
    for t in range(n_bars):
        for c in range(n_cols):
            if np.isnan(close[t, c]):
                continue
            o, cl = float(open_[t, c]), float(close[t, c])
            rows["timestamp"].append(START + dt.timedelta(days=t))
            rows["symbol"].append(f"S{c}")
            rows["open"].append(o)
            rows["high"].append(max(o, cl))
            rows["low"].append(min(o, cl))
            rows["close"].append(cl)
            rows["volume"].append(1e6)
            w = float(weights[t, c])
            extra["w"].append(None if np.isnan(w) else w)
            extra["rb"].append(True if rebalance is None else bool(rebalance[t, c]))
            lev = np.nan if leverage is None else float(leverage[t, c])
            extra["lev"].append(None if np.isnan(lev) else lev)
    frame = pl.DataFrame(
        rows | extra,
        schema={
            "timestamp": pl.Datetime("us", "UTC"),
            "symbol": pl.String,
            "open": pl.Float64,
            "high": pl.Float64,
            "low": pl.Float64,
            "close": pl.Float64,
            "volume": pl.Float64,
            "w": pl.Float64,
            "rb": pl.Boolean,
            "lev": pl.Float64,
        },
    )
    return Panel(close, open_, weights, rebalance, leverage, bars(frame, freq="1d"))


def weights_rule(*, with_rebalance: bool = False, with_leverage: bool = False):
    """The signal function: the bars' own columns as the weights-mode signals."""

    def rule() -> dict[str, pl.Expr]:
        out = {"weights": pl.col("w")}
        if with_rebalance:
            out["rebalance"] = pl.col("rb")
        if with_leverage:
            out["leverage"] = pl.col("lev")
        return out

    return rule


def shift(a: np.ndarray | None, fill: Any) -> np.ndarray | None:
    """A matrix one bar later (what a next-open run trades on bar ``t`` was decided on bar ``t - 1``)."""
    if a is None:
        return None
    out = np.empty_like(a)
    out[0] = fill
    out[1:] = a[:-1]
    return out
