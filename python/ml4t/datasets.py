"""Synthetic, realistic, deterministic market data for examples, tests and benchmarks.

Nothing here downloads anything: :func:`synthetic_bars` draws OHLCV bars from a seeded one-factor model with
NumPy (fully vectorised) and validates them through :func:`ml4t.data.bars`, like any user data.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Literal

import numpy as np
import polars as pl

from ml4t._time import NS_PER_DAY, NS_PER_YEAR, parse_duration
from ml4t._validate import is_integer
from ml4t.data import Bars, bars
from ml4t.errors import ConfigError

__all__ = ["synthetic_bars"]

_NS_PER_MINUTE = 60 * 1_000_000_000
_SESSION_OPEN_NS = (14 * 60 + 30) * _NS_PER_MINUTE  # 14:30 UTC = 09:30 New York (EST)
_SESSION_CLOSE_NS = 21 * 60 * _NS_PER_MINUTE  # 21:00 UTC = 16:00 New York (EST)
_SESSION_NS = _SESSION_CLOSE_NS - _SESSION_OPEN_NS
_WEEKDAYS_PER_YEAR = 365.25 * 5 / 7


def synthetic_bars(
    n_assets: int = 5,
    n_bars: int = 2520,
    freq: str | dt.timedelta = "1d",
    seed: int = 0,
    *,
    start: str | dt.date = "2015-01-02",
    calendar: Literal["24/7"] | None = None,
) -> Bars:
    """``n_bars`` OHLCV bars for each of ``n_assets`` symbols ``"A000", "A001", ...``.

    Calendar (bars are stamped at their close, as everywhere in ml4t):

    * default, ``freq="1d"``: weekdays (Mon-Fri, no holidays) from ``start``, stamped at 21:00 UTC, the US
      close in winter; DST is ignored, so in summer the stamp is an hour after the real close.
    * default, intraday ``freq`` (``"1m"``, ``"5m"``, ``"1h"``...): weekday sessions 14:30-21:00 UTC (390
      minutes); the first one-minute bar is stamped 14:31. When ``freq`` does not divide the session the last
      bar of each session is shorter and stamped 21:00 (e.g. hourly bars 15:30, ..., 20:30, 21:00).
    * ``calendar="24/7"``: continuous bars from ``start`` midnight UTC, the first stamped ``start + freq``.

    Each bar's interval (``ts_start``) is the part of the session it covers: a daily bar starts at 14:30, so
    an order decided after a close (even with some latency) can take the next session's open.

    Model: per-bar log returns from one market factor plus idiosyncratic noise; each asset has an annual
    drift ~ N(6%, 4%), an annual volatility drawn in [15%, 45%] and a market correlation in [0.3, 0.8], all
    scaled to the bar's share of a trading year (weekday calendars: 365.25 * 5/7 sessions of 390 minutes;
    24/7: a Julian year). Each open is the previous close times a small gap; high and low extend the
    open-close range by a scaled random intrabar range, so ``low <= min(open, close)`` and
    ``high >= max(open, close)`` always hold; volume is lognormal and larger on big moves; first prices lie
    in 20..200. The same arguments always give identical bars.
    """
    if not is_integer(n_assets) or n_assets < 1:
        raise ConfigError(f"n_assets must be a positive integer, got {n_assets!r}", argument="n_assets")
    if not is_integer(n_bars) or n_bars < 1:
        raise ConfigError(f"n_bars must be a positive integer, got {n_bars!r}", argument="n_bars")
    if calendar not in (None, "24/7"):
        raise ConfigError(f"calendar must be None (weekday sessions) or '24/7', got {calendar!r}", argument="calendar")
    freq_ns = parse_duration(freq, argument="freq")
    if freq_ns <= 0:
        raise ConfigError("freq must be a positive duration", argument="freq")
    day0 = _start_day(start)

    if calendar == "24/7":
        ts = day0 * NS_PER_DAY + freq_ns * np.arange(1, n_bars + 1, dtype=np.int64)
        starts = ts - freq_ns
        fraction = np.full(n_bars, freq_ns / NS_PER_YEAR)
        volume_scale = np.full(n_bars, freq_ns / NS_PER_DAY)
    else:
        if freq_ns > NS_PER_DAY:
            raise ConfigError("the weekday calendar supports freq up to '1d'; use calendar='24/7'", argument="freq")
        ts, lengths = _session_stamps(day0, n_bars, freq_ns)
        starts = ts - lengths.astype(np.int64)
        fraction = lengths / (_SESSION_NS * _WEEKDAYS_PER_YEAR)
        volume_scale = lengths / _SESSION_NS

    rng = np.random.default_rng(seed)
    drift = rng.normal(0.06, 0.04, n_assets)
    vol = rng.uniform(0.15, 0.45, n_assets)
    loading = rng.uniform(0.3, 0.8, n_assets)
    first_price = np.exp(rng.uniform(math.log(20.0), math.log(200.0), n_assets))
    daily_volume = np.exp(rng.uniform(math.log(2e5), math.log(5e6), n_assets))

    bar_vol = np.sqrt(fraction)[:, None] * vol[None, :]
    market = rng.standard_normal(n_bars)[:, None]
    noise = rng.standard_normal((n_bars, n_assets))
    shock = loading * market + np.sqrt(1.0 - loading**2) * noise
    log_return = fraction[:, None] * (drift - 0.5 * vol**2)[None, :] + bar_vol * shock
    gap = 0.2 * bar_vol * rng.standard_normal((n_bars, n_assets))

    log_close = np.log(first_price)[None, :] + np.cumsum(log_return, axis=0)
    log_prev = np.vstack([np.log(first_price)[None, :], log_close[:-1]])
    close = np.exp(log_close)
    open_ = np.exp(log_prev + gap)
    intrabar = 0.5 * bar_vol
    high = np.maximum(open_, close) * np.exp(intrabar * np.abs(rng.standard_normal((n_bars, n_assets))))
    low = np.minimum(open_, close) * np.exp(-intrabar * np.abs(rng.standard_normal((n_bars, n_assets))))
    surprise = np.abs(log_return) / bar_vol
    volume = np.round(
        daily_volume[None, :]
        * volume_scale[:, None]
        * np.exp(0.3 * rng.standard_normal((n_bars, n_assets)) + 0.4 * np.minimum(surprise, 6.0))
    )

    width = max(3, len(str(n_assets - 1)))
    symbols = pl.Series("symbol", [f"A{i:0{width}d}" for i in range(n_assets)], dtype=pl.String)
    frame = pl.DataFrame(
        {
            "timestamp": pl.Series(np.repeat(ts, n_assets).view("datetime64[ns]")).dt.replace_time_zone("UTC"),
            "ts_start": pl.Series(np.repeat(starts, n_assets).view("datetime64[ns]")).dt.replace_time_zone("UTC"),
            "symbol": symbols.gather(np.tile(np.arange(n_assets), n_bars)),
            "open": open_.ravel(),
            "high": high.ravel(),
            "low": low.ravel(),
            "close": close.ravel(),
            "volume": volume.ravel(),
        }
    )
    return bars(frame, freq=freq)


def _start_day(start: str | dt.date) -> int:
    """Days since the Unix epoch of ``start`` (a date, a datetime's date or an ISO date string)."""
    if isinstance(start, dt.datetime):
        start = start.date()
    elif isinstance(start, str):
        try:
            start = dt.date.fromisoformat(start)
        except ValueError as exc:
            raise ConfigError(
                f"start must be an ISO date such as '2015-01-02', got {start!r}", argument="start"
            ) from exc
    if not isinstance(start, dt.date):
        raise ConfigError(f"start must be a date or ISO date string, got {start!r}", argument="start")
    return (start - dt.date(1970, 1, 1)).days


def _session_stamps(day0: int, n_bars: int, freq_ns: int) -> tuple[np.ndarray, np.ndarray]:
    """Close stamps (int64 ns) and lengths (ns) of ``n_bars`` bars in weekday 14:30-21:00 UTC sessions."""
    per_session = -(-_SESSION_NS // freq_ns)
    offsets = np.minimum(np.arange(1, per_session + 1, dtype=np.int64) * freq_ns, _SESSION_NS)
    lengths = np.diff(offsets, prepend=0)
    n_sessions = -(-n_bars // per_session)
    days = day0 + np.arange(n_sessions * 7 // 5 + 7, dtype=np.int64)
    days = days[(days + 3) % 7 < 5][:n_sessions]  # 1970-01-01 was a Thursday: (day + 3) % 7 is Mon=0..Sun=6
    stamps = (days[:, None] * NS_PER_DAY + _SESSION_OPEN_NS + offsets[None, :]).ravel()[:n_bars]
    return stamps, np.tile(lengths, n_sessions)[:n_bars].astype(np.float64)
