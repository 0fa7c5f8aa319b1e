"""``Engine``: runs a :class:`Strategy` over bars on the Rust event loop and returns an ``ml4t.Result``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

import ml4t.cache
from ml4t import _core, _progress
from ml4t._assemble import assemble
from ml4t._ns import from_ns
from ml4t.cache import CacheReport, Store
from ml4t.costs import Commission, Slippage, VolumeImpact, lower_costs
from ml4t.data import Bars, PITData, Signals
from ml4t.errors import ConfigError
from ml4t.event._batch import BarBatch, Event, Fill, SignalBatch, Timer
from ml4t.event._context import Context
from ml4t.event._indicator_cache import IndicatorCache
from ml4t.event._strategy import Strategy, note_hook
from ml4t.lint import lint_before_run
from ml4t.result import Result
from ml4t.settings import EngineSettings, signature_of

__all__ = ["Engine", "assemble_event", "engine_rules"]


class Engine:
    """An event-driven backtest of ``strategy`` over ``bars``.

    The keyword settings below (all but ``signals``) are :class:`ml4t.settings.EngineSettings` (types,
    bounds and defaults declared there, once); the engine holds them as ``.settings``.

    Parameters
    ----------
    bars:
        ``ml4t.data.Bars``. Optional numeric columns ``split`` (new units per old unit on the ex-date, e.g.
        2.0) and ``dividend`` (cash per unit on the ex-date) are applied as corporate actions. Prices must be
        unadjusted for those to be meaningful.
    strategy:
        A :class:`~ml4t.event.Strategy` instance.
    init_cash:
        Starting cash of the one account all symbols share.
    execution:
        ``"next_open"`` (default): a market order decided at bar ``t`` fills at the open of the symbol's next
        bar that started after the order reached the market (``ts_start`` of ``Bars.frame``): a decision
        at 10:00 on daily bars that opened at 09:30 fills at the next day's open. ``"close"``: at the close
        of the bar it was decided on (vectorbt's convention). Limit, stop and trailing orders are matched
        intrabar, in both, only against bars that started after they reached the market.
    commission, slippage:
        Models from :mod:`ml4t.costs` (default: none).
    participation:
        Cap on the fraction of a bar's volume the orders of one symbol may fill in that bar (e.g. 0.1); the
        rest of a GTC/DAY order fills over later bars, an IOC's rest is cancelled, a FOK is cancelled.
    signals:
        ``ml4t.data.Signals`` delivered point-in-time: ``on_signal`` at their arrival, ``ctx.data.signal``.
    latency:
        Order latency (``"50ms"``, a timedelta): an order reaches the market this long after the decision
        and trades only in bars that start at or after that (a bar covers ``(ts_start, ts_event]``). Feed
        latency of bars is a property of the data (``ml4t.data.bars(..., latency=...)``); of signals, their
        ``ts_arrival``.
    account, leverage:
        ``"cash"`` (default): no borrowing; buys are paid from free cash and shorts are fully collateralized.
        ``"margin"``: cash may go negative, but a fill may not take gross exposure above ``leverage`` (default
        2.0) times equity. Fills breaking the rule are rejected as data, never resized. In both, an order
        that only reduces or closes a position is never rejected for cash (a cash account's cover its free
        cash cannot pay leaves cash negative), and a reversal is a close plus an open: when the open is
        refused the close still fills and the order ends ``partially_filled`` with the open's reason.
    maintenance_margin:
        When equity falls below this fraction of the exposure held on borrowed money or stock (the gross
        exposure of a margin account; the shorts of a cash account) after the marks move at a bar, the engine
        liquidates every such position with forced market orders (``reason_code`` ``"margin_call"`` in
        ``Result.orders``), placed before the strategy decides and filled like its market orders (next open,
        or that bar's close under ``execution="close"``). Default 0.25, or ``0.5 / leverage`` when that is
        lower; it must be below the initial margin ``1 / leverage``. ``0`` liquidates only at equity <= 0.
        Equity at or below zero is always reported (``InsolvencyWarning``, ``Result.insolvent_at``).
    multipliers:
        Contract multipliers per symbol (``{"ES": 50.0}``; default 1): value = units x price x multiplier.
    both_touched:
        When a bracket's (or OCO pair's) stop and limit legs both touch in one bar: ``"stop_loss"`` (default,
        pessimistic) or ``"take_profit"``.
    session_tz:
        Time zone whose calendar dates delimit trading sessions for DAY orders (default ``"UTC"``).
    fractional:
        Whether ``order_target_value/percent/weights`` may trade fractional units (default False: whole
        units, rounded toward zero).
    periods_per_year:
        Annualization of the metrics; default inferred from the bars' calendar.
    """

    def __init__(self, bars: Bars, strategy: Strategy, *, signals: Signals | None = None, **settings: Any) -> None:
        if not isinstance(bars, Bars):
            raise ConfigError(f"bars must be ml4t.data.Bars, got {type(bars).__name__}", argument="bars")
        if not isinstance(strategy, Strategy):
            raise ConfigError(
                f"strategy must be an ml4t.event.Strategy instance, got {type(strategy).__name__}",
                argument="strategy",
            )
        if signals is not None and not isinstance(signals, Signals):
            raise ConfigError(f"signals must be ml4t.data.Signals, got {type(signals).__name__}", argument="signals")
        self.settings = EngineSettings.build(**settings)
        """The declared settings (:class:`ml4t.settings.EngineSettings`); defaults are stated there."""
        _check_bar_columns(bars, self.settings)
        multipliers = self.settings.multipliers or {}
        unknown = sorted(set(multipliers) - set(bars.symbols))
        if unknown:
            raise ConfigError("multipliers name symbols outside the bars", argument="multipliers", symbol=unknown[0])
        self._bars = bars
        self._strategy = strategy
        self._signals = signals
        lower_costs(self.settings.commission, self.settings.slippage)  # a cost model is checked here, at construction
        self._multipliers = np.array([multipliers.get(s, 1.0) for s in bars.symbols])

    __init__.__signature__ = signature_of(EngineSettings, "self", "bars", "strategy")  # type: ignore[attr-defined]

    cache: CacheReport | None = None
    """What the indicator cache did in the last :meth:`run` (hits, misses and why, uncached indicators), or None
    when it was off (or before the first run)."""

    def run(self, *, progress: bool | None = None, cache: bool | Store | None = None) -> Result:
        """Run the strategy from the first bar to the last and return the ``Result``.

        Cache (issue #16): ``cache=True`` reads and stores the strategy's ``indicators`` (one entry per
        indicator, keyed by its expression's plan, the bars' fingerprint and the versions of ml4t and Polars)
        in ``ml4t.cache.store()``, ``cache=False`` does not touch it, ``None`` (the default) follows
        ``ml4t.cache.settings().enabled`` (off until ``ml4t.cache.configure()``), and an ``ml4t.cache.Store``
        is used as given. The Result is the same bit for bit; :attr:`cache` says what hit and why each miss
        missed (see ``ml4t.event._indicator_cache``).

        A run that lasts over a second shows a bar on stderr (a widget in a notebook) over simulated time:
        the distinct arrival times of the bars passed, with the simulated date. ``progress=False``, or the
        environment variable ``ML4T_PROGRESS=0`` when ``progress`` is not given, hides it; it never changes
        the result. Ctrl-C raises ``KeyboardInterrupt`` from the strategy's current step: no Result is made
        and the engine keeps nothing of the run (it can run again from the start).
        """
        return self._run(None, progress, cache)

    def _run_promoted(
        self,
        simulator: _core.SignalSimulator,
        prices: tuple[np.ndarray, ...],
        signals: tuple[np.ndarray, ...],
        bar_ts: np.ndarray,
        progress: bool | None = None,
    ) -> Result:
        """The run of a promoted vectorized strategy (``ml4t.promotion``): the engine's account and clock
        driven by the signal kernel's own decisions, from ``simulator`` over the kernel's ``prices`` and
        ``signals`` laid out on the bar timeline ``bar_ts`` (int ns); ``progress`` as in :meth:`run`."""
        return self._run((simulator, prices, signals, bar_ts), progress, None)

    def _run(self, promoted: tuple[Any, Any, Any, np.ndarray] | None, progress: bool | None, cache: object) -> Result:
        strategy = self._strategy
        store = ml4t.cache.resolve(cache)
        lint_before_run(strategy, f"the strategy {type(strategy).__name__}")
        hooks = strategy._hooks()
        indicator_cache = None
        if store is not None:
            indicator_cache = IndicatorCache(store, f"{type(strategy).__module__}.{type(strategy).__qualname__}")
        bars = _with_indicators(self._bars, strategy, indicator_cache)
        self.cache = None if indicator_cache is None else indicator_cache.report()
        s = self.settings
        stream = bars.stream(s.session_tz)
        sig = self._signals.stream() if self._signals is not None else None
        columns = stream.columns
        core = _core.EventEngine(
            ts_event=columns["ts_event"],
            ts_arrival=columns["ts_arrival"],
            ts_start=columns["ts_start"],
            symbol=stream.symbol_index,
            open=columns["open"],
            high=columns["high"],
            low=columns["low"],
            close=columns["close"],
            volume=columns["volume"],
            session=stream.session,
            split=columns.get("split"),
            dividend=columns.get("dividend"),
            signal_arrivals=sig.ts_arrival if sig is not None else np.empty(0, dtype=np.int64),
            **engine_rules(s, self._multipliers, hooks),
        )
        if promoted is not None:
            simulator, prices, kernel_signals, bar_ts = promoted
            bar_of_row = np.searchsorted(bar_ts, columns["ts_event"]).astype(np.int64)
            core.promote(simulator, prices, kernel_signals, bar_of_row)
        symbols = bars.symbols
        signals = self._signals

        def view() -> PITData:
            return PITData(bars, signals, now=core.now)

        ctx = Context(
            core, view, symbols, self._multipliers.tolist(), fractional=s.fractional, close_only=bars.close_only
        )
        names = stream.names
        index = stream.symbol_index
        sig_columns, sig_names = (sig.columns, sig.names) if sig is not None else ({}, [])
        shown = _progress.enabled(progress)
        times = _distinct(columns["ts_arrival"]) if shown else columns["ts_arrival"][:0]

        def position() -> tuple[int, str | None]:
            now = core.now
            done = int(np.searchsorted(times, now, side="right"))
            return done, from_ns(now).strftime("%Y-%m-%d %H:%M") if done else None

        try:
            with (
                _progress.bar(shown, total=len(times), unit="timestamps", desc="event run") as bar,
                _progress.watch(bar, position),
            ):
                strategy.on_start(ctx)
                _drive(core, ctx, strategy, hooks, columns, names, index, sig_columns, sig_names, symbols)
                bar.to(len(times))
            core.finish()
            strategy.on_end(ctx)
        except Exception as error:
            note_hook(error, strategy, core.now)
            raise
        finally:
            ctx._close()
        return assemble_event(core.results(), self._bars, stream, s, self._multipliers, ctx._tags, strategy)


def engine_rules(s: EngineSettings, multipliers: np.ndarray, hooks: Mapping[str, bool]) -> dict[str, Any]:
    """The keyword arguments every ``_core.EventEngine`` (batch or incremental) takes besides its data: the
    account and execution rules of the settings, costs lowered, and ``wake``: which kinds of event wake the
    strategy (a generic ``on_event`` wakes for all)."""
    commission, slippage = lower_costs(s.commission, s.slippage)
    generic = hooks["on_event"]
    return {
        "multipliers": multipliers,
        "init_cash": s.init_cash,
        "leverage": s.leverage,
        "maintenance_margin": s.maintenance_margin,
        "execution": s.execution,
        "order_latency": s.latency_ns,
        "participation": s.participation,
        "both_touched": s.both_touched,
        "commission": commission,
        "slippage": slippage,
        "wake": tuple(generic or hooks[hook] for hook in ("on_bar", "on_signal", "on_fill", "on_timer")),
    }


def assemble_event(
    raw: Mapping[str, Any],
    bars: Bars,
    stream: Any,
    s: EngineSettings,
    multipliers: np.ndarray,
    tags: Mapping[int, str],
    strategy: Strategy,
    *,
    mode: str = "event",
    extra: Mapping[str, Any] | None = None,
) -> Result:
    """The ``Result`` of an event-engine run (a backtest, or a live session: ``mode="live"``) from the engine's
    records ``raw``, over ``bars`` and their ``stream``; ``extra``: more ``meta`` entries."""
    splits = bars.splits()
    columns = stream.columns
    return assemble(
        raw,
        bars.symbols,
        init_cash=s.init_cash,
        periods_per_year=s.periods_per_year if s.periods_per_year is not None else bars.periods_per_year,
        multipliers=multipliers,
        splits=splits,
        tags=tags,
        bars=bars,
        bar_marks=(stream.symbol_index, columns["close"]),  # the engine's positions come sparse
        meta={
            "mode": mode,
            "strategy": type(strategy).__name__,
            **{k: _describe(s[k]) for k in _META_SETTINGS},
            "dividends": float(raw["dividends"]),
            "splits": dict(splits),
            **(extra or {}),
        },
    )


def _drive(
    core: _core.EventEngine,
    ctx: Context,
    strategy: Strategy,
    hooks: Mapping[str, bool],
    columns: dict[str, np.ndarray],
    names: Sequence[str],
    index: np.ndarray,
    sig_columns: dict[str, np.ndarray],
    sig_names: list[str],
    symbols: list[str],
) -> None:
    """The Python side of the loop: one call into the strategy per timestamp the engine reports."""
    step = core.step
    tags = ctx._tags
    timers = ctx._timers
    empty_signals = SignalBatch(sig_columns, sig_names, 0, 0)
    empty_bars = BarBatch(columns, names, index, 0, 0)
    only_bars = not hooks["on_event"] and not (hooks["on_fill"] or hooks["on_signal"] or hooks["on_timer"])
    if only_bars:
        # The common case, kept lean: on_bar is the only hook, and the engine wakes us only for bars.
        on_bar = strategy.on_bar
        while (s := step()) is not None:
            if (data := ctx._data) is not None:
                data._now = s[0]
            on_bar(ctx, BarBatch(columns, names, index, s[1], s[2]))
        return
    on_event = strategy.on_event
    while (s := step()) is not None:
        ts, blo, bhi, slo, shi, flo, fhi, fired = s
        if (data := ctx._data) is not None:
            data._now = ts
        fills = []
        if fhi > flo:
            for order_id, fts, sym, buy, qty, price, fee, slip in core.fills(flo, fhi):
                side = "buy" if buy else "sell"
                fills.append(Fill(order_id, fts, symbols[sym], side, qty, price, fee, slip, tags.get(order_id)))
        timer_events = []
        for timer_id in fired:
            timer_events.append(Timer(timer_id, timers.get(timer_id), ts))
        bars = BarBatch(columns, names, index, blo, bhi) if bhi > blo else empty_bars
        signals = SignalBatch(sig_columns, sig_names, slo, shi) if shi > slo else empty_signals
        on_event(ctx, Event(ts, bars, signals, fills, timer_events))


_META_SETTINGS = (
    "init_cash",
    "execution",
    "commission",
    "slippage",
    "participation",
    "latency",
    "account",
    "leverage",
    "maintenance_margin",
    "both_touched",
    "session_tz",
    "fractional",
)
"""The settings a Result's ``meta`` records."""


def _distinct(ts: np.ndarray) -> np.ndarray:
    """The distinct values of sorted int64 times (the stream's arrival times: the run's timeline)."""
    return ts[np.r_[True, ts[1:] != ts[:-1]]] if ts.size else ts


def _describe(value: object) -> object:
    return repr(value) if isinstance(value, (Commission, Slippage)) else value


def _with_indicators(bars: Bars, strategy: Strategy, cache: IndicatorCache | None = None) -> Bars:
    """The bars with the strategy's indicator columns added (evaluated per symbol, in time order), through
    ``cache`` when given."""
    exprs = strategy._indicator_exprs()
    return bars.with_indicators(exprs) if cache is None else cache.with_indicators(bars, exprs)


def _check_bar_columns(bars: Bars, s: EngineSettings) -> None:
    """Refuse settings that read prices or volume the bars do not have: close-only bars fill at the close only
    (their stop and limit orders are refused by the context), and bars without volume cannot cap participation
    or price volume impact."""
    if bars.close_only and s.execution != "close":
        raise ConfigError(
            f"the bars are close-only (no open, high or low), so execution={s.execution!r} has no price to fill at; "
            "use execution='close' (market orders fill at the close; stop and limit orders are refused)",
            argument="execution",
        )
    needs = [
        name
        for name, on in (
            ("participation", s.participation is not None),
            ("slippage", isinstance(s.slippage, VolumeImpact)),
        )
        if on
    ]
    if needs and not bars.has_volume:
        raise ConfigError(
            f"{needs[0]} reads the bars' volume, and these bars have none (close-only bars without a volume column)",
            argument=needs[0],
        )
