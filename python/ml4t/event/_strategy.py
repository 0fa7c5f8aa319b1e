"""The :class:`Strategy` base class: the hooks the event engine calls."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

    from ml4t.event._batch import BarBatch, Event, Fill, SignalBatch, Timer
    from ml4t.event._context import Context

__all__ = ["Strategy"]


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
