"""The audit itself: cuts, runs and comparisons."""

from __future__ import annotations

import datetime as dt
import inspect
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from ml4t import _progress
from ml4t._kernel.signals import BOOL_KEYS
from ml4t._time import from_ns, to_ns
from ml4t.audit._fields import _FLOAT_FIELDS, _SIGNAL_KEYS, DECISION_FIELDS, REL_TOL, AuditTarget
from ml4t.audit._report import AuditReport, Divergence
from ml4t.audit._runs import _Run, _subject
from ml4t.data import Bars, Signals
from ml4t.errors import ConfigError, Ml4tError, NoOrdersWarning
from ml4t.event import Strategy
from ml4t.lint import Finding
from ml4t.lint._auto import findings_of as lint_findings_of
from ml4t.promotion import Promoted
from ml4t.vectorized import VectorizedStrategy

__all__ = ["lookahead"]


# ---------------------------------------------------------------------------------------------- the audit
def lookahead(
    strategy: AuditTarget,
    bars: Bars,
    *,
    cuts: int | Sequence[dt.datetime | str | int] = 5,
    params: Mapping[str, Any] | None = None,
    engine: Mapping[str, Any] | None = None,
    signals: Signals | None = None,
    strict: bool = False,
    progress: bool | None = None,
) -> AuditReport:
    """Re-run ``strategy`` on ``bars`` truncated at several cuts and check that every decision made at or
    before each cut is identical to the full run's (see the module docstring for what is compared and what a
    pass does and does not prove).

    Parameters
    ----------
    strategy:
        A ``VectorizedStrategy`` (run as ``strategy.run(bars, **params)``); a ``Promoted`` strategy
        (``ml4t.promote(...)``: its strategy and params run on the event engine over the given bars); or an
        event strategy: a ``Strategy`` subclass (instantiated without arguments for each run), an instance
        (deep-copied before each run, since strategies carry state), or a factory returning a fresh
        ``Strategy``, called with no argument or with the run's (truncated) bars.
    bars:
        The data to audit on.
    cuts:
        The number of cuts, spread evenly over the bars' arrival times away from both ends (default 5: six
        runs in all), or explicit timestamps (tz-aware datetimes, ISO-8601 strings, int ns UTC), each at or
        after the first bar and before the last arrival.
    params:
        One value per parameter of a vectorized strategy.
    engine:
        Keyword settings of ``ml4t.event.Engine`` for an event strategy (``init_cash``, ``execution``...).
    signals:
        ``ml4t.data.Signals`` for an event strategy; truncated with the bars (rows arrived by the cut).
    strict:
        False (default): columns the audit cannot verify (``report.unverified_columns``: precomputed columns
        the strategy may read) are named in the report, and a pass says it does not cover them. True: they
        fail the audit.
    progress:
        A bar over the cuts on stderr when the audit takes over a second (its runs show none); ``False``, or
        the environment variable ``ML4T_PROGRESS=0`` when not given, hides it. Ctrl-C raises
        ``KeyboardInterrupt`` and no report is made.

    Returns
    -------
    AuditReport
        ``report.passed``; ``report.raise_if_failed()`` raises ``ml4t.LeakageError`` naming the first
        divergent decision (or the first look-ahead finding, or under ``strict`` the first unverified column).
    """
    if not isinstance(bars, Bars):
        raise ConfigError(f"bars must be ml4t.data.Bars, got {type(bars).__name__}", argument="bars")
    if len(bars) == 0:
        raise ConfigError("bars is empty", argument="bars")
    if not isinstance(strict, bool):
        raise ConfigError(f"strict must be True or False, got {strict!r}", argument="strict")
    subject = _subject(strategy, bars, params=params, engine=engine, signals=signals)
    cut_ns = _resolve_cuts(cuts, bars, signals)
    divergences: list[Divergence] = []
    n_orders = n_signals = 0
    with _progress.bar(progress, total=len(cut_ns), unit="cuts", desc="lookahead audit") as shown:
        full = subject.run(bars, signals)
        for k, cut in enumerate(cut_ns):
            shown.to(k)
            when = from_ns(cut)
            cut_signals = None if signals is None else signals.until(cut)
            try:
                with warnings.catch_warnings():  # a short prefix of the data may well trade nothing: not news
                    warnings.simplefilter("ignore", NoOrdersWarning)
                    truncated = subject.run(bars.until(cut), cut_signals)
            except Exception as error:  # the strategy's own code failed without the future: that is a divergence
                symbol = error.symbol if isinstance(error, Ml4tError) else None
                raised = " ".join([f"{type(error).__name__}: {error}", *getattr(error, "__notes__", ())])  # hook, clock
                divergences.append(Divergence(when, symbol, "run", "completed", raised, when))
                continue
            signal_div, checked = _compare_signals(full, truncated, when)
            n_signals += checked
            order_div, checked = _compare_orders(full, truncated, cut - 1 if subject.orders_before_cut else cut, when)
            n_orders += checked
            found = [d for d in (signal_div, order_div) if d is not None]
            if found:
                divergences.append(min(found, key=lambda d: d.timestamp))  # min keeps the signal on a tie
        shown.to(len(cut_ns))
    first = min(divergences, key=lambda d: d.timestamp, default=None)  # ties: the earlier cut
    static = _static_findings(strategy, bars)
    unverified = _unverified(bars, subject.columns_read())
    return AuditReport(
        passed=not divergences and not static and not (strict and unverified),
        mode=subject.mode,
        cuts=tuple(from_ns(c) for c in cut_ns),
        first_divergence=first,
        divergences=tuple(divergences),
        checked_orders=n_orders,
        checked_signals=n_signals,
        static_findings=static,
        unverified_columns=unverified,
        strict=strict,
        strategy=_name_of(strategy, subject),
        params=dict(subject.spec.params) if subject.mode != "event" else None,
        data_fingerprint=bars.fingerprint(),
    )


def _name_of(strategy: Any, subject: Any) -> str:
    """The audited strategy's name: its signal function's, or an event strategy's class (or factory) name."""
    if subject.mode != "event":
        fn = subject.spec.strategy
        return str(getattr(fn, "__name__", repr(fn)))
    if isinstance(strategy, type):
        return strategy.__name__
    if isinstance(strategy, Strategy):
        return type(strategy).__name__
    return str(getattr(strategy, "__name__", repr(strategy)))


def _unverified(bars: Bars, read: frozenset[str] | None) -> tuple[str, ...]:
    """The precomputed columns of ``bars`` (``Bars.precomputed``) the strategy may read: those its signal
    expressions name (``read``), or all of them when that is not known (``None``: event strategies, and
    expressions that select columns by pattern)."""
    return tuple(c for c in bars.precomputed if read is None or c in read)


def _static_findings(strategy: Any, bars: Bars) -> tuple[Finding, ...]:
    """The linter's unsuppressed look-ahead (``PIT``) findings inside the strategy's own source (the signal
    function of a vectorized or promoted strategy, the class of an event strategy, or a factory's own code),
    then inside the bars' feature functions (``Bars.features``; expressions have no source to lint, and the
    truncated runs recompute them)."""
    findings = list(_pit_findings(_lint_target(strategy)))
    seen: list[Any] = []
    for source in bars.features.values():
        if not isinstance(source, (pl.Expr, Signals)) and callable(source) and source not in seen:
            seen.append(source)
            findings.extend(f for f in _pit_findings(source) if f not in findings)
    return tuple(findings)


def _pit_findings(target: Any) -> list[Finding]:
    return [f for f in lint_findings_of(target) if f.code.startswith("PIT")]


def _lint_target(strategy: Any) -> Any:
    if isinstance(strategy, Promoted):
        target: Any = strategy.spec.strategy
    elif isinstance(strategy, VectorizedStrategy):
        target = strategy.signal_fn
    elif inspect.isclass(strategy) or inspect.isfunction(strategy):
        target = strategy
    else:
        target = type(strategy)
    return target


def _resolve_cuts(cuts: Any, bars: Bars, signals: Signals | None) -> list[int]:
    """The cut timestamps (int ns, ascending, distinct), each the arrival of a bar or signal."""
    arrivals = np.unique(bars.frame["ts_arrival"].cast(pl.Int64).to_numpy())
    usage = "cuts must be a positive number of cuts or a sequence of timestamps"
    if isinstance(cuts, (bool, str, bytes, dt.date)):
        raise ConfigError(f"{usage}, got {cuts!r} (wrap a single timestamp in a list)", argument="cuts")
    if isinstance(cuts, (int, np.integer)):
        n = int(cuts)
        if n < 1:
            raise ConfigError(f"{usage}, got {cuts!r}", argument="cuts")
        if len(arrivals) < n + 2:
            raise ConfigError(
                f"cuts={n} needs at least {n + 2} distinct bar times, the bars have {len(arrivals)}", argument="cuts"
            )
        step = (len(arrivals) - 1) / (n + 1)
        return [int(arrivals[round(k * step)]) for k in range(1, n + 1)]
    if not isinstance(cuts, Iterable):
        raise ConfigError(f"{usage}, got {type(cuts).__name__}", argument="cuts")
    instants = arrivals
    if signals is not None and len(signals):
        instants = np.union1d(arrivals, signals.frame["ts_arrival"].cast(pl.Int64).to_numpy())
    out: set[int] = set()
    for value in cuts:
        ns = to_ns(int(value) if isinstance(value, np.integer) else value, argument="cuts")
        if ns < arrivals[0]:
            raise ConfigError("a cut before the first bar leaves nothing to run", argument="cuts", timestamp=ns)
        snapped = int(instants[np.searchsorted(instants, ns, side="right") - 1])
        if snapped >= instants[-1]:
            raise ConfigError(
                "a cut at or after the last arrival removes nothing, so it checks nothing",
                argument="cuts",
                timestamp=ns,
            )
        out.add(snapped)
    if not out:
        raise ConfigError(f"{usage}, got an empty sequence", argument="cuts")
    return sorted(out)


# --------------------------------------------------------------------------------------------- comparing
def _compare_signals(full: _Run, truncated: _Run, cut: dt.datetime) -> tuple[Divergence | None, int]:
    """The earliest signal value (bar, then symbol, then key) that differs, and how many values were compared."""
    if truncated.timeline.size == 0:
        return None, 0
    at = np.searchsorted(full.timeline, truncated.timeline)
    if at[-1] >= full.timeline.size or not np.array_equal(full.timeline[at], truncated.timeline):
        raise AssertionError("the truncated run's bar timeline is not part of the full run's")  # pragma: no cover
    keys = [k for k in _SIGNAL_KEYS if k in full.signals or k in truncated.signals]
    best: tuple[int, int, int] | None = None  # (bar, symbol, key)
    checked = 0
    for k, key in enumerate(keys):
        shape = truncated.timeline.size
        a = _signal_or_default(full.signals, key, len(full.symbols), full.timeline.size)[:, at]
        b = _signal_or_default(truncated.signals, key, len(truncated.symbols), shape)
        differ = a != b if key in BOOL_KEYS else ~_same_floats(a, b)
        checked += b.size
        if differ.any():
            j = int(np.flatnonzero(differ.any(axis=0))[0])
            s = int(np.flatnonzero(differ[:, j])[0])
            if best is None or (j, s, k) < best:
                best = (j, s, k)
    if best is None:
        return None, checked
    j, s, k = best
    key = keys[k]
    a = _signal_or_default(full.signals, key, len(full.symbols), full.timeline.size)[s, at[j]]
    b = _signal_or_default(truncated.signals, key, len(truncated.symbols), truncated.timeline.size)[s, j]
    cast = bool if key in BOOL_KEYS else float
    timestamp = from_ns(int(truncated.timeline[j]))
    return Divergence(timestamp, truncated.symbols[s], f"signal {key!r}", cast(a), cast(b), cut), checked


def _signal_or_default(signals: dict[str, np.ndarray], key: str, n_symbols: int, n_bars: int) -> np.ndarray:
    value = signals.get(key)
    if value is not None:
        return value
    return np.zeros((n_symbols, n_bars), dtype=bool) if key in BOOL_KEYS else np.full((n_symbols, n_bars), np.nan)


def _same_floats(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        same: np.ndarray = (a == b) | (np.isnan(a) & np.isnan(b)) | np.isclose(a, b, rtol=REL_TOL, atol=0.0)
    return same


def _compare_orders(full: _Run, truncated: _Run, cut_ns: int, cut: dt.datetime) -> tuple[Divergence | None, int]:
    """The first order, in submission order, at or before the cut that differs; and how many were compared."""
    mine = full.orders[: int(np.searchsorted(full.order_ts, cut_ns, side="right"))]
    theirs = truncated.orders[: int(np.searchsorted(truncated.order_ts, cut_ns, side="right"))]
    for i in range(max(len(mine), len(theirs))):
        a = mine[i] if i < len(mine) else None
        b = theirs[i] if i < len(theirs) else None
        if a is not None and b is not None and _same_order(a, b):
            continue
        earlier = min((row for row in (a, b) if row is not None), key=lambda row: row[0])
        return (
            Divergence(from_ns(earlier[0]), earlier[1], "order", _order_dict(a), _order_dict(b), cut),
            len(mine),
        )
    return None, len(mine)


def _same_order(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    for name, x, y in zip(DECISION_FIELDS, a, b, strict=True):
        if name in _FLOAT_FIELDS:
            if not _same_number(x, y):
                return False
        elif x != y:
            return False
    return True


def _same_number(x: float | None, y: float | None) -> bool:
    x_missing = x is None or math.isnan(x)
    y_missing = y is None or math.isnan(y)
    if x_missing or y_missing:
        return x_missing and y_missing
    assert x is not None and y is not None
    return x == y or math.isclose(x, y, rel_tol=REL_TOL, abs_tol=0.0)


def _order_dict(row: tuple[Any, ...] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    out = dict(zip(DECISION_FIELDS, row, strict=True))
    out["ts_submitted"] = from_ns(int(row[0]))
    return out
