"""``ml4t.audit``: proof, not promise, that a strategy does not use the future (DESIGN.md §3).

:func:`lookahead` runs a strategy once on the full data, then again on the data truncated at several cut
points (``bars.until(cut)``: every bar, and every signal, that arrived at or before the cut), and checks that
every decision made at or before each cut is the same in both runs. A decision made at time ``t`` may depend
only on what had arrived by ``t``; if removing the data after a cut changes a decision at or before the cut,
that decision read the future.

What is compared, and why
-------------------------

* **Orders** (both modes): the rows of ``Result.orders`` submitted at or before the cut, in submission order,
  on their *decision* fields only: ``ts_submitted, symbol, side, order_type, quantity, limit_price,
  stop_price, time_in_force, tag``. Never ``status``, fill prices or fills: an order decided at the cut fills
  at the next bar's open (or later), which the truncated run legitimately does not have. Quantities are
  compared to a relative tolerance of 1e-9 (they are bit-identical in practice). Orders a strategy submits
  in ``on_end`` are excluded from the truncated runs: "the data ended here" is an event of the truncated run
  only, not a decision about the market. One exception: a promoted strategy under ``execution="next_open"``
  stamps the order a signal on bar ``t`` causes at ``t`` but sizes and records it at bar ``t + 1``'s open,
  so its orders are compared up to the bar before the cut (its signals still on the cut bar).
* **Signals** (vectorized strategies, and promoted ones): every signal value (``entries``, ``exits``,
  ``size``, ``sl_stop``...) of every symbol at every bar of the truncated data, against the full run's value
  at the same bar. This is the robust check for Tier 1: an order's ``ts_submitted`` is the bar it executes
  on, so under ``execution="next_open"`` a leaking signal on the cut bar itself would only show up as an
  order after the cut; its signal value shows it at the cut. Both checks run, and the report names the
  earliest divergence (a signal before the order it causes).
* A run on truncated data that **raises** while the full run did not is a divergence too: its behaviour
  changed when the future was removed.

Cuts: ``cuts=5`` places five cuts evenly over the bars' arrival times, away from both ends (the first after
about a sixth of the bars, the last about a sixth before the end), each exactly at a bar's arrival so the
cut bar itself is part of the truncated data, the most demanding place for a leak such as
``shift(-1)``. Explicit timestamps are snapped down to the last bar or signal arrival at or before them.

What passing proves, and what it does not
-----------------------------------------

A pass proves that, at each cut, no decision made at or before the cut depended on the part of the given
bars (and signals) that arrived after it. It does not prove:

* anything about decisions after the last cut; and a leak that happens to change no decision at or before
  any cut goes unseen. More cuts make a stronger proof (``cuts=20`` costs 21 runs);
* by itself, anything about information that reaches the strategy by another door than the data passed to
  the audit. To cover the commonest such door, the audit also runs the strategy linter's look-ahead rules
  (``PIT``) on the strategy's own source and fails on their unsuppressed findings
  (``AuditReport.static_findings``): a hook reading a global copy of the data is ``PIT008``. Beyond what the
  linter recognises, truncation cannot help with a file, a precomputed feature, or signal values computed
  with full-sample statistics before they were wrapped as ``Signals``: truncating the bars cannot remove the
  future from those. Build a strategy from the bars it receives (``indicators``, ``ctx.data``, or a factory
  ``lambda bars: MyStrategy(bars.frame)``), and check the embargo of ``Signals`` (``train_end``,
  ``embargo``) for predictions;
* that the strategy is deterministic: unseeded randomness makes the runs differ and fails the audit.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import inspect
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import polars as pl

from ml4t._time import from_ns, to_ns
from ml4t.data import Bars, Signals
from ml4t.errors import ConfigError, LeakageError, Ml4tError
from ml4t.event import Context, Engine, Strategy
from ml4t.lint import Finding
from ml4t.lint._auto import findings_of as lint_findings_of
from ml4t.result import Result
from ml4t.vectorized import Promoted, VectorizedStrategy
from ml4t.vectorized._signals import BOOL_KEYS, NUMBER_KEYS, Grid, Panel, evaluate

__all__ = ["AuditReport", "Divergence", "lookahead"]

DECISION_FIELDS = (
    "ts_submitted",
    "symbol",
    "side",
    "order_type",
    "quantity",
    "limit_price",
    "stop_price",
    "time_in_force",
    "tag",
)
"""The columns of ``Result.orders`` that a strategy decides; the rest (status, fills) is the market's answer."""

REL_TOL = 1e-9
"""Relative tolerance for numbers (quantities, prices, numeric signals); they are bit-identical in practice."""

_SIGNAL_KEYS = BOOL_KEYS + NUMBER_KEYS
_FLOAT_FIELDS = frozenset({"quantity", "limit_price", "stop_price"})

AuditTarget: TypeAlias = VectorizedStrategy | Promoted | Strategy | type[Strategy] | Callable[..., Strategy]
"""What :func:`lookahead` audits: a vectorized strategy (with ``params``), a promoted one, or an event
strategy given as a class, an instance (deep-copied per run) or a factory."""


# ------------------------------------------------------------------------------------------------- report
@dataclass(frozen=True)
class Divergence:
    """The first decision that changed when the data after ``cut`` was removed.

    Attributes
    ----------
    timestamp:
        When the decision was made: the bar of a signal value, the ``ts_submitted`` of an order (for a run
        that raised, the cut).
    symbol:
        The symbol it concerns (None for a run that raised without naming one).
    what:
        ``"signal 'entries'"`` (or another signal key), ``"order"``, or ``"run"`` (the truncated run raised).
    full, truncated:
        The decision in the full run and in the run on the data up to the cut: a signal value; an order as a
        dict of its decision fields, or None when that run has no such order; for ``"run"``, ``"completed"``
        and the exception raised.
    cut:
        The cut: the truncated run saw everything that arrived at or before it.
    """

    timestamp: dt.datetime
    symbol: str | None
    what: str
    full: Any
    truncated: Any
    cut: dt.datetime

    def __str__(self) -> str:
        cut = self.cut.isoformat()
        if self.what == "run":
            return (
                f"the run on the data up to {cut} raised {self.truncated} (the full run completed), so the "
                "strategy's behaviour depends on data after the cut"
            )
        if self.what == "order":
            return (
                f"the order decided at {self.timestamp.isoformat()} on {self.symbol!r} is "
                f"{_describe_order(self.full)} in the full run but {_describe_order(self.truncated)} when the "
                f"data ends at {cut}"
            )
        return (
            f"{self.what} of {self.symbol!r} at {self.timestamp.isoformat()} is {self.full!r} in the full run "
            f"but {self.truncated!r} when the data ends at {cut}"
        )


@dataclass(frozen=True, repr=False)
class AuditReport:
    """The verdict of :func:`lookahead`. ``str(report)`` (and ``repr``) is a one-paragraph summary.

    Attributes
    ----------
    passed:
        True when every decision at or before every cut matched the full run.
    mode:
        ``"vectorized"``, ``"promoted"`` or ``"event"``.
    cuts:
        The cut timestamps actually used (explicit cuts snapped to the last arrival at or before them).
    first_divergence:
        The earliest divergent decision over all cuts (ties: the earlier cut; a signal before an order),
        or None when the audit passed.
    divergences:
        The first divergence of each cut that had one, in cut order.
    checked_orders:
        Orders of the full run compared, summed over the cuts.
    checked_signals:
        Signal values (symbol x bar x signal key) compared, summed over the cuts; 0 for event strategies.
    static_findings:
        Look-ahead patterns (the linter's ``PIT`` rules, unsuppressed) in the strategy's own source: the ones
        truncation cannot test, such as a global copy of the data read inside a hook, fail the audit too.
    """

    passed: bool
    mode: str
    cuts: tuple[dt.datetime, ...]
    first_divergence: Divergence | None
    divergences: tuple[Divergence, ...] = field(default=())
    checked_orders: int = 0
    checked_signals: int = 0
    static_findings: tuple[Finding, ...] = field(default=())

    def __str__(self) -> str:
        span = f"{self.cuts[0].isoformat()} .. {self.cuts[-1].isoformat()}" if self.cuts else "none"
        n = len(self.cuts)
        if not self.divergences and self.static_findings:
            listing = "; ".join(str(f) for f in self.static_findings)
            return (
                f"Lookahead audit FAILED ({self.mode} strategy, {n} cut{'s' if n != 1 else ''} {span}): no decision "
                "changed when the data after each cut was removed, but the strategy's source has look-ahead the "
                f"truncation cannot test (the linter's findings): {listing}"
            )
        if self.passed:
            checked = f"{self.checked_orders:,} orders"
            if self.mode != "event":
                checked += f" and {self.checked_signals:,} signal values"
            return (
                f"Lookahead audit passed ({self.mode} strategy, {n} cut{'s' if n != 1 else ''} {span}): "
                f"{checked} decided up to each cut are identical when the data after the cut is removed, so no "
                f"decision before a cut depended on it. Decisions after the last cut ({self.cuts[-1].isoformat()}) "
                "are not covered, nor is information read from outside the audited data."
            )
        return (
            f"Lookahead audit FAILED ({self.mode} strategy, {len(self.divergences)} of {n} cuts diverged, "
            f"cuts {span}): {self.first_divergence}. A decision must not change when the data after it is "
            "removed: look for negative shifts, centered windows, statistics of the whole sample, or data the "
            "strategy reads from outside the bars it is given."
        )

    def __repr__(self) -> str:
        return f"AuditReport({self})"

    def raise_if_failed(self) -> AuditReport:
        """Raise ``ml4t.LeakageError`` naming the first divergence (its symbol and timestamp as attributes) when
        the audit failed; return the report otherwise."""
        d = self.first_divergence
        if self.passed:
            return self
        if d is None:
            f = self.static_findings[0]
            raise LeakageError(f"lookahead audit failed: the strategy's source reads the future: {f}", argument=f.path)
        raise LeakageError(f"lookahead audit failed: {d}", symbol=d.symbol, timestamp=d.timestamp)


# ---------------------------------------------------------------------------------------------- the audit
def lookahead(
    strategy: AuditTarget,
    bars: Bars,
    *,
    cuts: int | Sequence[dt.datetime | str | int] = 5,
    params: Mapping[str, Any] | None = None,
    engine: Mapping[str, Any] | None = None,
    signals: Signals | None = None,
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

    Returns
    -------
    AuditReport
        ``report.passed``; ``report.raise_if_failed()`` raises ``ml4t.LeakageError`` naming the first
        divergent decision.
    """
    if not isinstance(bars, Bars):
        raise ConfigError(f"bars must be ml4t.data.Bars, got {type(bars).__name__}", argument="bars")
    if len(bars) == 0:
        raise ConfigError("bars is empty", argument="bars")
    subject = _subject(strategy, bars, params=params, engine=engine, signals=signals)
    cut_ns = _resolve_cuts(cuts, bars, signals)
    full = subject.run(bars, signals)
    divergences: list[Divergence] = []
    n_orders = n_signals = 0
    for cut in cut_ns:
        when = from_ns(cut)
        cut_signals = None if signals is None else _signals_until(signals, cut)
        try:
            truncated = subject.run(bars.until(cut), cut_signals)
        except Exception as error:  # the strategy's own code failed without the future: that is a divergence
            symbol = error.symbol if isinstance(error, Ml4tError) else None
            divergences.append(Divergence(when, symbol, "run", "completed", f"{type(error).__name__}: {error}", when))
            continue
        signal_div, checked = _compare_signals(full, truncated, when)
        n_signals += checked
        order_div, checked = _compare_orders(full, truncated, cut - 1 if subject.orders_before_cut else cut, when)
        n_orders += checked
        found = [d for d in (signal_div, order_div) if d is not None]
        if found:
            divergences.append(min(found, key=lambda d: d.timestamp))  # min keeps the signal on a tie
    first = min(divergences, key=lambda d: d.timestamp, default=None)  # ties: the earlier cut
    static = _static_findings(strategy)
    return AuditReport(
        passed=not divergences and not static,
        mode=subject.mode,
        cuts=tuple(from_ns(c) for c in cut_ns),
        first_divergence=first,
        divergences=tuple(divergences),
        checked_orders=n_orders,
        checked_signals=n_signals,
        static_findings=static,
    )


def _static_findings(strategy: Any) -> tuple[Finding, ...]:
    """The linter's unsuppressed look-ahead (``PIT``) findings inside the strategy's own source: the signal
    function of a vectorized or promoted strategy, the class of an event strategy, or a factory's own code."""
    if isinstance(strategy, Promoted):
        target: Any = strategy.strategy.signal_fn
    elif isinstance(strategy, VectorizedStrategy):
        target = strategy.signal_fn
    elif inspect.isclass(strategy) or inspect.isfunction(strategy):
        target = strategy
    else:
        target = type(strategy)
    return tuple(f for f in lint_findings_of(target) if f.code.startswith("PIT"))


# ------------------------------------------------------------------------------------------------- a run
@dataclass(frozen=True)
class _Run:
    """What one run decided: orders (decision fields, submission order) and, for vectorized strategies, the
    signal arrays ``key -> (n_symbols, n_bars)`` over the bar timeline ``timeline`` (int ns)."""

    orders: list[tuple[Any, ...]]
    order_ts: np.ndarray
    symbols: list[str]
    signals: dict[str, np.ndarray]
    timeline: np.ndarray


def _run_record(orders: pl.DataFrame, symbols: list[str], signals: dict[str, np.ndarray], timeline: Any) -> _Run:
    decided = orders.sort(["ts_submitted", "order_id"], maintain_order=True).select(
        pl.col("ts_submitted").cast(pl.Int64), *DECISION_FIELDS[1:]
    )
    return _Run(
        orders=decided.rows(),
        order_ts=decided["ts_submitted"].to_numpy(),
        symbols=symbols,
        signals=signals,
        timeline=np.asarray(timeline, dtype=np.int64),
    )


class _Vectorized:
    """A vectorized strategy with one parameter combination; ``promoted`` runs it on the event engine."""

    def __init__(self, strategy: VectorizedStrategy, params: Mapping[str, Any], *, promoted: bool) -> None:
        self.strategy = strategy
        self.params = dict(params)
        self.mode = "promoted" if promoted else "vectorized"
        # Promoted under next_open, the order a signal on bar t causes is stamped t but sized at (and only
        # recorded with) bar t + 1's open: a truncated run cannot have the order of its last bar. Its decision,
        # the signal, is still compared on the cut bar; orders are compared up to the bar before the cut.
        self.orders_before_cut = promoted and strategy.settings["execution"] == "next_open"
        self.grid = Grid.build(strategy.signal_fn, self.params)
        if len(self.grid.combos) != 1:
            raise ConfigError(
                "the audit takes one value per parameter (audit each combination you care about)", argument="params"
            )

    def run(self, bars: Bars, signals: Signals | None) -> _Run:
        result: Result
        if self.mode == "promoted":
            result = Promoted(self.strategy, bars, self.params).run()
        else:
            result = self.strategy.run(bars, **self.params)
        panel = Panel.from_bars(bars)
        values = evaluate(self.strategy.signal_fn, panel, self.grid, [0])
        return _run_record(result.orders, panel.symbols, values, panel.ts.cast(pl.Int64).to_numpy())


class _Event:
    """An event strategy: a factory of fresh instances and the engine settings."""

    mode = "event"
    orders_before_cut = False

    def __init__(self, factory: Callable[[Bars], Strategy], settings: Mapping[str, Any]) -> None:
        self.factory = factory
        self.settings = dict(settings)

    def run(self, bars: Bars, signals: Signals | None) -> _Run:
        strategy = self.factory(bars)
        at_end = _watch_on_end(strategy)
        result = Engine(bars, strategy, signals=signals, **self.settings).run()
        orders = result.orders
        if at_end:  # drop the orders submitted in on_end: the end of the data is not a market decision
            orders = orders.filter(pl.col("order_id").is_in(at_end[0]))
        return _run_record(orders, bars.symbols, {}, np.empty(0, dtype=np.int64))


def _watch_on_end(strategy: Strategy) -> list[list[int]]:
    """Wrap the instance's ``on_end`` to record the ids of the orders submitted before it (one list, filled
    when ``on_end`` runs); nothing to record when the strategy has no ``on_end``."""
    seen: list[list[int]] = []
    if type(strategy).on_end is Strategy.on_end:
        return seen
    original = strategy.on_end

    def on_end(ctx: Context) -> None:
        seen.append([int(i) for i in ctx._core.results()["order_id"]])
        original(ctx)

    # a strategy with __slots__ cannot be wrapped: its on_end orders then stay in (and may diverge)
    with contextlib.suppress(AttributeError):
        object.__setattr__(strategy, "on_end", on_end)
    return seen


# --------------------------------------------------------------------------------------------- arguments
def _subject(
    strategy: Any,
    bars: Bars,
    *,
    params: Mapping[str, Any] | None,
    engine: Mapping[str, Any] | None,
    signals: Signals | None,
) -> _Vectorized | _Event:
    if signals is not None and not isinstance(signals, Signals):
        raise ConfigError(f"signals must be ml4t.data.Signals, got {type(signals).__name__}", argument="signals")
    if params is not None and not isinstance(params, Mapping):
        raise ConfigError(f"params must be a dict of parameter values, got {type(params).__name__}", argument="params")
    if engine is not None and not isinstance(engine, Mapping):
        raise ConfigError(f"engine must be a dict of Engine settings, got {type(engine).__name__}", argument="engine")
    if isinstance(strategy, (VectorizedStrategy, Promoted)):
        if engine is not None:
            raise ConfigError(
                "engine settings apply to event strategies; a vectorized strategy carries its own", argument="engine"
            )
        if signals is not None:
            raise ConfigError(
                "signals apply to event strategies; a vectorized strategy's inputs are its bars", argument="signals"
            )
        if isinstance(strategy, Promoted):
            if params is not None:
                raise ConfigError("a promoted strategy carries its own params", argument="params")
            return _Vectorized(strategy.strategy, strategy.params, promoted=True)
        return _Vectorized(strategy, params or {}, promoted=False)
    if params is not None:
        raise ConfigError(
            "params apply to vectorized strategies; give an event strategy's parameters to its constructor "
            "(a factory: lambda: MyStrategy(...))",
            argument="params",
        )
    settings = dict(engine or {})
    _check_engine_settings(settings, bars)
    return _Event(_factory(strategy), settings)


_ENGINE_SETTINGS = tuple(
    name for name in inspect.signature(Engine.__init__).parameters if name not in ("self", "bars", "strategy")
)


def _check_engine_settings(settings: dict[str, Any], bars: Bars) -> None:
    if "signals" in settings:
        raise ConfigError("pass signals to lookahead(signals=...), which truncates them", argument="engine")
    unknown = sorted(set(settings) - set(_ENGINE_SETTINGS))
    if unknown:
        raise ConfigError(
            f"unknown Engine setting {unknown[0]!r}; known: {[s for s in _ENGINE_SETTINGS if s != 'signals']}",
            argument="engine",
        )
    Engine(bars, Strategy(), **settings)  # validates the values now, naming the setting, before any run


def _factory(strategy: Any) -> Callable[[Bars], Strategy]:
    """A function giving a fresh strategy instance for the bars of one run."""
    if isinstance(strategy, type):
        if not issubclass(strategy, Strategy):
            raise ConfigError(
                f"strategy must be an ml4t.vectorized.VectorizedStrategy or an ml4t.event.Strategy (class, "
                f"instance or factory), got the class {strategy.__name__}",
                argument="strategy",
            )
        if _arity(strategy) != 0:
            raise ConfigError(
                f"{strategy.__name__}() needs arguments; pass a factory (lambda: {strategy.__name__}(...)) or an "
                "instance",
                argument="strategy",
            )
        cls = strategy
        return lambda bars: cls()
    if isinstance(strategy, Strategy):
        instance = strategy

        def fresh_copy(bars: Bars) -> Strategy:
            try:
                return copy.deepcopy(instance)
            except Exception as error:
                raise ConfigError(
                    f"cannot deep-copy the strategy instance ({type(error).__name__}: {error}); pass its class or "
                    "a factory returning a fresh instance",
                    argument="strategy",
                ) from error

        return fresh_copy
    if isinstance(strategy, Engine):
        raise ConfigError(
            "pass the strategy (class, instance or factory) and the Engine settings as engine=dict(...), not an "
            "Engine: the audit builds one engine per run",
            argument="strategy",
        )
    if callable(strategy):
        arity = _arity(strategy)
        if arity is None:
            raise ConfigError(
                "a strategy factory must take no argument or one (the bars of the run)", argument="strategy"
            )
        make = strategy

        def build(bars: Bars) -> Strategy:
            made = make(bars) if arity == 1 else make()
            if not isinstance(made, Strategy):
                raise ConfigError(
                    f"the strategy factory must return an ml4t.event.Strategy, got {type(made).__name__}",
                    argument="strategy",
                )
            return made

        return build
    raise ConfigError(
        "strategy must be an ml4t.vectorized.VectorizedStrategy, a promoted strategy, or an ml4t.event.Strategy "
        f"(class, instance or factory), got {type(strategy).__name__}",
        argument="strategy",
    )


def _arity(fn: Callable[..., Any]) -> int | None:
    """0 when ``fn`` can be called without arguments, 1 when with exactly one positional argument, else None
    (a callable without a signature counts as 0)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return 0
    for arity, args in ((0, ()), (1, (None,))):
        try:
            sig.bind(*args)
        except TypeError:
            continue
        return arity
    return None


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


def _signals_until(signals: Signals, cut: int) -> Signals:
    """The signal rows that arrived at or before ``cut`` (embargo and training window kept)."""
    frame = signals._frame.filter(pl.col("ts_arrival").cast(pl.Int64) <= cut)
    return Signals._from_canonical(frame, signals._values, signals._embargo_ns, signals._cut_ns)


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


def _describe_order(order: dict[str, Any] | None) -> str:
    if order is None:
        return "absent"
    text = f"{order['side']} {order['quantity']:g} {order['order_type']}"
    if order["limit_price"] is not None and not math.isnan(order["limit_price"]):
        text += f" limit {order['limit_price']:g}"
    if order["stop_price"] is not None and not math.isnan(order["stop_price"]):
        text += f" stop {order['stop_price']:g}"
    text += f" ({order['time_in_force']}"
    if order["tag"] is not None:
        text += f", tag {order['tag']!r}"
    return text + f", submitted {order['ts_submitted'].isoformat()})"
