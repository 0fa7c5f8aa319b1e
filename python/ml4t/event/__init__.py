"""Tier 2: a :class:`Strategy` class on the Rust event loop and matching engine.

>>> from ml4t.event import Engine, Strategy
>>> class BuyAndHold(Strategy):
...     def on_bar(self, ctx, bars):
...         if not ctx.positions:
...             ctx.order(bars.symbols[0], 10)

``Engine(bars, BuyAndHold()).run()`` returns the same ``ml4t.Result`` as the vectorized mode. See
:class:`Engine` for execution settings, :class:`Context` for the order API and :class:`Strategy` for hooks.
"""

from ml4t.event._batch import Bar, BarBatch, Event, Fill, SignalBatch, Timer
from ml4t.event._context import Context
from ml4t.event._engine import Engine
from ml4t.event._strategy import HookWarning, Strategy

__all__ = [
    "Bar",
    "BarBatch",
    "Context",
    "Engine",
    "Event",
    "Fill",
    "HookWarning",
    "SignalBatch",
    "Strategy",
    "Timer",
]
