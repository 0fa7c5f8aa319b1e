"""The :class:`Strategy` base class: the hooks the event engine calls.

A method named like a hook that is not one (``onbar``, ``on_bars``, ``On_bar``, ``on_tick``) would never be
called: defining it warns (:class:`HookWarning`) with the closest hook's name. An exception raised in a hook
reaches the caller of ``Engine.run`` with its own type and traceback and a note naming the hook and the
strategy's clock time (``raised in SmaCross.on_bar at 2024-01-03T21:00:00+00:00``).
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ml4t._time import format_ns

if TYPE_CHECKING:
    import polars as pl

    from ml4t.event._batch import BarBatch, Event, Fill, SignalBatch, Timer
    from ml4t.event._context import Context

__all__ = ["HookWarning", "Strategy"]


class HookWarning(UserWarning):
    """A strategy method is named like a hook but is not one, so the engine never calls it."""


class Strategy:
    """Subclass and override the hooks you need; the engine calls Python once per timestamp at most.

    Hooks (all optional):

    * ``on_start(ctx)``: before the first event (schedule timers, set state).
    * ``on_event(ctx, event)``: everything that arrived at one timestamp. The default dispatches, in this
      order, to ``on_fill(ctx, fills)``, ``on_signal(ctx, signals)``, ``on_timer(ctx, timers)`` and
      ``on_bar(ctx, bars)``, calling each only when it has something to report. Override ``on_event`` to
      handle the whole batch yourself.
    * ``on_end(ctx)``: after the last event (orders submitted here never fill; they end ``open``).

    The engine wakes the strategy only for the kinds of events it has hooks for: a strategy without hooks
    costs no Python per bar at all.

    Indicators: ``indicators`` maps a field name to a Polars expression over the bar columns (or is a method
    returning such a mapping, for parameterised strategies). They are evaluated once per symbol before the
    run (``expr.over("symbol")`` in time order) and arrive as bar fields of their own dtype (numbers as
    float64, a boolean expression as bool, strings as str): ``bars["fast"]``, ``bar.fast``, and for numbers
    ``ctx.data.latest("fast", symbol)``. Use only causal expressions (rolling windows, positive shifts): the
    value at a bar is what is known at its close, and ``ml4t.audit.lookahead`` can prove it.
    """

    indicators: Mapping[str, pl.Expr] | Callable[[], Mapping[str, pl.Expr]] | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # the class itself and its mixins; Strategy subclasses among the bases were checked when defined
        for klass in cls.__mro__:
            if klass is cls or (not issubclass(klass, Strategy) and klass is not object):
                for name, value in vars(klass).items():
                    hook = _misnamed_hook(name, value)
                    if hook is not None:
                        warnings.warn(
                            f"{klass.__qualname__}.{name} is not a hook: the engine never calls it; did you mean "
                            f"{hook}? (hooks: {', '.join(_HOOKS)}; a helper's name may start with '_')",
                            HookWarning,
                            stacklevel=2,
                        )

    def on_start(self, ctx: Context) -> None:
        """Called once before the first event."""

    def on_event(self, ctx: Context, event: Event) -> None:
        """All that happened at ``event.ts``; the default calls the specific hooks."""
        if event.fills:
            self.on_fill(ctx, event.fills)
        if event.signals:
            self.on_signal(ctx, event.signals)
        if event.timers:
            self.on_timer(ctx, event.timers)
        if event.bars:
            self.on_bar(ctx, event.bars)

    def on_bar(self, ctx: Context, bars: BarBatch) -> None:
        """The bars that arrived now (one per symbol that has a bar at this timestamp)."""

    def on_signal(self, ctx: Context, signals: SignalBatch) -> None:
        """The signal rows that arrived now."""

    def on_fill(self, ctx: Context, fills: list[Fill]) -> None:
        """Executions of this strategy's orders since the previous event."""

    def on_timer(self, ctx: Context, timers: list[Timer]) -> None:
        """Timers set with ``ctx.schedule`` that fired now."""

    def on_end(self, ctx: Context) -> None:
        """Called once after the last event."""

    def _hooks(self) -> dict[str, bool]:
        """Which hooks this strategy overrides (the engine wakes it only for those)."""
        cls = type(self)
        return {name: getattr(cls, name) is not getattr(Strategy, name) for name in _HOOKS}

    def _indicator_exprs(self) -> Mapping[str, Any]:
        spec: Any = self.indicators
        if callable(spec):
            spec = spec()
        return dict(spec or {})


_HOOKS = ("on_start", "on_event", "on_bar", "on_signal", "on_fill", "on_timer", "on_end")
_SQUASHED = {hook.replace("_", ""): hook for hook in _HOOKS}
# Hooks of other frameworks (backtrader, backtesting.py, zipline, Lean, nautilus_trader), squashed like
# ``_SQUASHED``: a strategy ported from one of them would otherwise never be called.
_FOREIGN = {
    "next": "on_bar",
    "ontick": "on_bar",
    "ondata": "on_bar",
    "onquote": "on_bar",
    "onquotetick": "on_bar",
    "ontradetick": "on_bar",
    "oncandle": "on_bar",
    "handledata": "on_bar",
    "initialize": "on_start",
    "onorder": "on_fill",
    "onorderevent": "on_fill",
    "onorderfilled": "on_fill",
    "ontrade": "on_fill",
    "notifyorder": "on_fill",
    "notifytrade": "on_fill",
    "onstop": "on_end",
    "onfinish": "on_end",
    "onschedule": "on_timer",
}


def _misnamed_hook(name: str, value: object) -> str | None:
    """The hook a method called ``name`` was probably meant to be, or None when it does not look like one.

    It looks like one when, ignoring case, it is a hook with its underscore missing or extra (``onbar``,
    ``On_bar``, ``onBar``), is within difflib's 0.8 ratio of one (``on_bars``, ``on_fills``), or is the hook of
    another framework (``next``, ``on_tick``, ``on_data``, ``handle_data``, ``notify_order``, ...: see
    ``_FOREIGN``); the closest hook is named. Other ``on_*`` helpers (``on_rebalance``) are left alone.
    """
    if (
        name.startswith("_")
        or name in _HOOKS
        or not (callable(value) or isinstance(value, (staticmethod, classmethod)))
    ):
        return None
    lower = name.lower()
    squashed = lower.replace("_", "")
    if squashed in _SQUASHED:
        return _SQUASHED[squashed]
    close = difflib.get_close_matches(lower, _HOOKS, n=1, cutoff=0.8)
    if close:
        return close[0]
    return _FOREIGN.get(squashed)


def note_hook(error: BaseException, strategy: Strategy, now_ns: int) -> None:
    """Add ``raised in <Class>.<hook> at <clock time>`` to an exception raised in one of ``strategy``'s hooks
    (the innermost hook frame of its traceback, so a hook called from a custom ``on_event`` is the one named);
    an exception from outside the hooks is left as it is."""
    cls = type(strategy)
    codes = {}
    for hook in _HOOKS:
        code = getattr(getattr(cls, hook, None), "__code__", None)
        if code is not None:
            codes[code] = hook
    found = None
    tb = error.__traceback__
    while tb is not None:
        found = codes.get(tb.tb_frame.f_code, found)
        tb = tb.tb_next
    if found is None or any(note.startswith("raised in ") for note in getattr(error, "__notes__", ())):
        return
    error.add_note(f"raised in {cls.__name__}.{found} at {format_ns(now_ns)}")
