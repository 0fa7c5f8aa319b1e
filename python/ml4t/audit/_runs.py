"""One run of the strategy under audit, in either mode: what it decided."""

from __future__ import annotations

import contextlib
import copy
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import polars as pl

from ml4t._kernel.signals import Grid, call_signal_fn, evaluate, panel_of
from ml4t.audit._fields import DECISION_FIELDS
from ml4t.data import Bars, Signals
from ml4t.errors import ConfigError
from ml4t.event import Context, Engine, Strategy
from ml4t.promotion import Promoted
from ml4t.result import Result
from ml4t.settings import EngineSettings, RunSpec, VectorizedSettings
from ml4t.vectorized import VectorizedStrategy

if TYPE_CHECKING:
    from ml4t import _core


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
    """A vectorized run (a :class:`RunSpec` with one parameter combination); ``promoted`` runs it on the
    event engine."""

    def __init__(self, spec: RunSpec, *, promoted: bool) -> None:
        assert isinstance(spec.settings, VectorizedSettings)
        self.spec = spec
        self.mode = "promoted" if promoted else "vectorized"
        # Under next_open (vectorized or promoted), the order a signal on bar t causes is stamped t but sized
        # at (and only recorded with) bar t + 1's open: a truncated run cannot have the order of its last bar.
        # Its decision, the signal, is still compared on the cut bar; orders are compared up to the bar before.
        self.orders_before_cut = spec.settings.execution == "next_open"
        self.grid = Grid.build(spec.strategy, spec.params)
        if len(self.grid.combos) != 1:
            raise ConfigError(
                "the audit takes one value per parameter (audit each combination you care about)", argument="params"
            )
        self._strategy = VectorizedStrategy(spec.strategy, **spec.settings.to_dict())

    def run(self, bars: Bars, signals: Signals | None) -> _Run:
        result: Result
        if self.mode == "promoted":
            result = Promoted(self.spec, bars, {}).run(progress=False)  # the audit's own bar counts the cuts
        else:
            result = self._strategy.run(bars, **self.spec.params)
        panel = panel_of(bars)
        values = evaluate(self.spec.strategy, panel, self.grid, [0], self._strategy.settings)
        return _run_record(result.orders, panel.symbols, values, panel.ts.cast(pl.Int64).to_numpy())

    def columns_read(self) -> frozenset[str] | None:
        """The bar columns the signal expressions read (``meta.root_names()``), or None when an expression
        selects columns by pattern, dtype or position (``pl.all()``, a regex, a selector): then any column.
        Besides these, the kernel reads only OHLCV."""
        signals = call_signal_fn(self.spec.strategy, self.grid.params(0), self._strategy.settings)
        names: set[str] = set()
        for expr in signals.values():
            if not _names_every_column(expr):
                return None
            names.update(expr.meta.root_names())
        return frozenset(names)


def _names_every_column(expr: pl.Expr) -> bool:
    """True when every column ``expr`` reads is named in it: no node selects columns by pattern, dtype, position
    or exclusion (each of those yields no root name, so its columns cannot be known without the frame)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if node.meta.has_multiple_outputs() or node.meta.is_regex_projection():
            return False
        if node.meta.is_column_selection() and not node.meta.root_names():
            return False
        stack.extend(node.meta.pop())
    return True


class _Event:
    """An event run: a :class:`RunSpec` whose strategy is a factory of fresh instances for the bars of a run."""

    mode = "event"
    orders_before_cut = False

    def __init__(self, spec: RunSpec) -> None:
        self.spec = spec

    def columns_read(self) -> frozenset[str] | None:
        """None: an event strategy may read any column of its bars (``bar.<column>``, ``ctx.data.history``)."""
        return None

    def run(self, bars: Bars, signals: Signals | None) -> _Run:
        strategy = self.spec.strategy(bars)
        at_end = _watch_on_end(strategy)
        result = Engine(bars, strategy, signals=signals, **self.spec.settings.to_dict()).run(progress=False)
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
        engine = cast("_core.EventEngine", ctx._core)  # the audit runs backtests: ctx holds the engine itself
        seen.append([int(i) for i in engine.results()["order_id"]])
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
            return _Vectorized(strategy.spec, promoted=True)
        return _Vectorized(strategy.spec(**(params or {})), promoted=False)
    if params is not None:
        raise ConfigError(
            "params apply to vectorized strategies; give an event strategy's parameters to its constructor "
            "(a factory: lambda: MyStrategy(...))",
            argument="params",
        )
    settings = _engine_settings(dict(engine or {}), bars)
    return _Event(RunSpec(strategy=_factory(strategy), settings=settings))


def _engine_settings(settings: dict[str, Any], bars: Bars) -> EngineSettings:
    """The Engine settings of the audited runs, validated now (naming the setting) before any run."""
    if "signals" in settings:
        raise ConfigError("pass signals to lookahead(signals=...), which truncates them", argument="engine")
    try:
        EngineSettings.check_names(settings)
    except ConfigError as error:
        raise error.replace(message=f"engine={{...}}: {error.message}", argument="engine") from None
    return Engine(bars, Strategy(), **settings).settings


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
