"""REP001: reading the wall clock."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ml4t.lint._core import Finding, Module, Rule
from ml4t.lint.rules import register

CLOCKS = frozenset(
    {
        "datetime.datetime.now",
        "datetime.datetime.utcnow",
        "datetime.datetime.today",
        "datetime.date.today",
        "time.time",
        "time.time_ns",
        "pandas.Timestamp.now",
        "pandas.Timestamp.today",
        "pandas.Timestamp.utcnow",
    }
)
"""Calls that always read the clock."""
CLOCKS_WITHOUT_ARGUMENT = frozenset({"time.localtime", "time.gmtime", "time.ctime"})
"""Calls that read the clock when given no timestamp (with one they only convert it)."""
CLOCKS_BY_STRING = frozenset({"numpy.datetime64", "pandas.Timestamp", "pandas.to_datetime"})
"""Constructors that read the clock when given the string ``"now"`` or ``"today"``."""
LOGGING = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log"})


def imported_name(module: Module, node: ast.AST) -> str | None:
    """The qualified name of a name/attribute chain whose root is an import (``np.random.rand`` ->
    ``numpy.random.rand``); None when the root is not imported (a local variable, say)."""
    root = node
    while isinstance(root, ast.Attribute):
        root = root.value
    if not isinstance(root, ast.Name) or root.id not in module.aliases:
        return None
    return module.qualified(node)


def clock_read(module: Module, call: ast.Call) -> str | None:
    """The clock function ``call`` reads the wall clock with, else None."""
    name = imported_name(module, module.value(call.func))  # also ``now = datetime.now``; ``now()``
    if name in CLOCKS:
        return name
    if name in CLOCKS_WITHOUT_ARGUMENT and not call.args and not call.keywords:
        return name
    if name in CLOCKS_BY_STRING and call.args:
        first = call.args[0]
        if isinstance(first, ast.Constant) and first.value in ("now", "today"):
            return name
    return None


def harmless(module: Module, call: ast.Call) -> bool:
    """An elapsed-time measurement (``t0 = time.time()`` ... ``time.time() - t0``) or a value only logged."""
    scope = module.enclosing(call, (ast.FunctionDef, ast.AsyncFunctionDef)) or module.tree
    clocks = {
        target.id
        for node in ast.walk(scope)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and clock_read(module, node.value)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    parent = module.parents.get(call)
    in_strategy = scope in module.hooks or scope in module.signal_functions  # elapsed wall time is wrong there too
    if not in_strategy and _minus_clock(module, call, clocks):
        return True
    if (
        not in_strategy
        and isinstance(parent, ast.Assign)
        and len(parent.targets) == 1
        and isinstance(parent.targets[0], ast.Name)
    ):
        name = parent.targets[0].id
        uses = [n for n in ast.walk(scope) if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)]
        if uses and all(_minus_clock(module, use, clocks) for use in uses):
            return True
    current: ast.AST | None = parent
    while current is not None and not isinstance(current, ast.stmt):
        if isinstance(current, ast.Call):
            func = current.func
            if (isinstance(func, ast.Name) and func.id == "print") or (
                isinstance(func, ast.Attribute) and func.attr in LOGGING
            ):
                return True
        current = module.parents.get(current)
    return False


def _minus_clock(module: Module, node: ast.AST, clocks: set[str]) -> bool:
    """Whether ``node`` is one side of a subtraction whose other side is also a clock read."""
    parent = module.parents.get(node)
    if not (isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Sub)):
        return False
    other = parent.right if parent.left is node else parent.left
    if isinstance(other, ast.Name):
        return other.id in clocks
    return isinstance(other, ast.Call) and clock_read(module, other) is not None


@register
class WallClockRead(Rule):
    """What it does:
    Flags reads of the current date or time: ``datetime.now()`` / ``utcnow()`` / ``today()``,
    ``date.today()``, ``time.time()`` / ``time_ns()``, ``time.localtime()`` / ``gmtime()`` / ``ctime()``
    without a timestamp, ``pd.Timestamp.now()`` / ``today()`` / ``utcnow()``, ``pd.Timestamp("now")``,
    ``pd.to_datetime("today")`` and ``np.datetime64("now")``, whatever the import aliases.

    Not flagged: ``time.perf_counter()`` / ``time.monotonic()``; elapsed-time measurements outside strategy
    hooks and signal functions (one clock read minus another, ``time.time() - t0`` with ``t0 = time.time()``);
    clock reads that are only printed or logged; fixed dates such as ``datetime(2024, 1, 1)``.

    Why is this bad:
    A backtest must depend only on its data. A result that uses the wall clock (a lookback window ending
    "today", a filter on "now") changes from one day to the next and cannot be reproduced or audited.

    Example:
    ```python
    def on_bar(self, ctx, bars):
        if datetime.now() - self.entry_time > timedelta(days=5):
            ctx.close("AAPL")
    ```

    Use instead:
    ```python
    def on_bar(self, ctx, bars):
        if ctx.now - self.entry_time > timedelta(days=5):
            ctx.close("AAPL")
    ```
    """

    code = "REP001"
    name = "wall-clock-read"

    def check(self, module: Module) -> Iterator[Finding]:
        for node in module.walk():
            if not isinstance(node, ast.Call):
                continue
            clock = clock_read(module, node)
            if clock and not harmless(module, node):
                yield self.finding(
                    module,
                    node,
                    f"{ast.unparse(node)} reads the wall clock: a backtest must depend only on its data, "
                    "so use ctx.now or the bar's timestamp",
                )
