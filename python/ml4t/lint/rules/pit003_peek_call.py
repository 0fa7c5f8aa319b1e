"""PIT003: a call to ``peek``, which reads the next item before it arrives."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ml4t.lint._core import Finding, Module, Rule
from ml4t.lint.rules import register


@register
class PeekCall(Rule):
    """What it does:
    Flags every call to a function or method named ``peek`` (``data.peek()``, ``feed.peek(1)``, ``peek(it)``),
    also through a name bound once (``look = self.feed.peek``; ``look()``) or a helper of the file.

    Why is this bad:
    ml4t has no ``peek`` by design: a strategy sees a bar when it arrives and never before. Where other
    libraries or hand-written feeds offer ``peek``, it returns the next item without consuming it, that is,
    a bar from the future; a decision that depends on it cannot be made live.

    Example:
    ```python
    def on_bar(self, ctx, bars):
        upcoming = self.feed.peek()               # the next bar, before it happened
        if upcoming.close > bars["close"][0]:
            ctx.order("A000", 100)
    ```

    Use instead:
    ```python
    def on_bar(self, ctx, bars):
        closes = ctx.data.history("close", 2, "A000")  # the bars so far
        if closes[-1] > closes[0]:
            ctx.order("A000", 100)
    ```
    """

    code = "PIT003"
    name = "peek-call"

    def check(self, module: Module) -> Iterator[Finding]:
        for node in module.walk():
            if not isinstance(node, ast.Call):
                continue
            func = module.value(node.func)
            if (isinstance(func, ast.Attribute) and func.attr == "peek") or (
                isinstance(func, ast.Name) and func.id == "peek"
            ):
                yield self.finding(
                    module,
                    node.func,
                    f"{ast.unparse(func)}() reads the next item before it arrives: a decision built on it uses "
                    "a bar from the future",
                )
