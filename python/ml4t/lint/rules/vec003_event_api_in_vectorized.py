"""VEC003: a vectorized signal function calls the event-driven API."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ml4t.lint._core import Finding, Module, Rule
from ml4t.lint.rules import register
from ml4t.lint.rules.vec001_portfolio_state_in_vectorized import covered, signal_nodes, text

_EVENT_CALLS = frozenset({"order", "cancel", "cancel_all", "bracket", "schedule", "cancel_timer"})
_PROMOTE = ("ml4t.promote", "ml4t.promotion", "ml4t.vectorized.promote", "ml4t.vectorized._promote")


def _event_name(qualified: str | None) -> bool:
    """Whether a dotted name is part of ``ml4t.event`` or promotion."""
    if qualified is None:
        return False
    return any(qualified == p or qualified.startswith(p + ".") for p in ("ml4t.event", *_PROMOTE))


@register
class EventApiInVectorized(Rule):
    """What it does:
    Flags a ``VectorizedStrategy`` signal function (or a closure inside one) that uses the event-driven API:
    calls ``.order(...)``, ``.order_target*(...)``, ``.bracket(...)``, ``.cancel(...)``, ``.schedule(...)`` on
    any object, or any name from ``ml4t.event`` (``Engine``, ``Strategy``...) or ``ml4t.promote``.

    Why is this bad:
    A signal function only describes signals: it is called once and returns Polars expressions, and the
    simulator decides the orders from them. Orders placed from inside it are not part of the vectorized run
    (or run an engine inside every parameter combination), so the backtest does not test the strategy.

    Example:
    ```python
    def sma_cross(fast, slow):
        f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
        ctx.order("AAPL", 100)
        return {"entries": f > s, "exits": f < s}
    ```

    Use instead:
    ```python
    def sma_cross(fast, slow):
        f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
        return {"entries": f > s, "exits": f < s}

    strategy = VectorizedStrategy(sma_cross, size=100)
    ml4t.promote(strategy, bars, fast=10, slow=50).run()   # the event-mode run, outside the signal function
    ```
    """

    code = "VEC003"
    name = "event-api-in-vectorized"

    def check(self, module: Module) -> Iterator[Finding]:
        done: set[int] = set()
        for fn, _, node in signal_nodes(module):
            if id(node) in done:
                continue
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                method = node.func.attr
                if method in _EVENT_CALLS or method.startswith("order_target"):
                    done |= covered(node)
                    yield self.finding(module, node.func, self._message(f"{text(node.func)}()", fn))
            elif isinstance(node, (ast.Name, ast.Attribute)) and _event_name(module.qualified(node)):
                call = module.parents.get(node)  # Engine(bars, Strategy()) is one use, not two
                done |= covered(call if isinstance(call, ast.Call) and call.func is node else node)
                yield self.finding(module, node, self._message(text(node), fn))

    @staticmethod
    def _message(what: str, fn: str) -> str:
        return (
            f"{what} in signal function {fn}() uses the event API: a vectorized strategy only returns signals and "
            "orders are the event mode's job (return entries/exits, and promote the strategy outside it)"
        )
