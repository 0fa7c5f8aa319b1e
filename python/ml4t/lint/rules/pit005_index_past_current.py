"""PIT005: inside a loop over bars, an index past the loop's current bar (``x[i + 1]``)."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ml4t.lint._core import Finding, Module, Rule
from ml4t.lint.rules import register

_COUNTERS = frozenset({"range", "numba.prange", "enumerate"})
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)


def _offset(module: Module, node: ast.AST, depth: int = 0) -> tuple[str, int] | None:
    """``i + 2`` -> ("i", 2), ``1 + i`` -> ("i", 1), ``i + 2 - 1`` -> ("i", 1), ``i`` -> ("i", 0); else None.
    Names bound once are read through (``j = i + 1``; ``x[j]``, ``k = 1``; ``x[i + k]``); a loop counter is
    bound by its loop, never once, so it stays itself."""
    if isinstance(node, ast.Name):
        bound = module.value(node)
        return _offset(module, bound, depth + 1) if bound is not node and depth < 8 else (node.id, 0)
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub))):
        return None
    right, inner = module.integer(node.right), _offset(module, node.left, depth + 1)
    if right is not None and inner is not None:
        return inner[0], inner[1] + (right if isinstance(node.op, ast.Add) else -right)
    left, inner = module.integer(node.left), _offset(module, node.right, depth + 1)
    if left is not None and inner is not None and isinstance(node.op, ast.Add):
        return inner[0], inner[1] + left
    return None


def _counter_targets(module: Module, loop: ast.For | ast.comprehension) -> set[str]:
    """The bar counter a loop binds: ``for i in range(...)``, ``for i, x in enumerate(...)``."""
    call = loop.iter
    name = module.qualified(call.func) if isinstance(call, ast.Call) else None
    if name not in _COUNTERS:
        return set()
    target = loop.target
    if name == "enumerate":
        if not (isinstance(target, ast.Tuple) and target.elts):
            return set()
        target = target.elts[0]
    return {target.id} if isinstance(target, ast.Name) else set()


def _loop_counters(module: Module, node: ast.AST) -> set[str]:
    """Counters of the loops (and comprehensions) around ``node`` within its function."""
    names: set[str] = set()
    child, current = node, module.parents.get(node)
    while current is not None and not isinstance(current, _SCOPES):
        if isinstance(current, ast.For) and child is not current.iter and child is not current.target:
            names |= _counter_targets(module, current)
        elif isinstance(current, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            for gen in current.generators:
                names |= _counter_targets(module, gen)
        child, current = current, module.parents.get(current)
    return names


def _reads_ahead(module: Module, index: ast.AST, counters: set[str]) -> tuple[str, int] | None:
    """The (counter, k) of an index reaching past the current bar: ``i + k`` (k >= 1), a slice starting there
    (``i + 1:``), or a slice whose exclusive end passes it (``:i + 2``). ``:i + 1`` ends at the current bar."""
    if isinstance(index, ast.Tuple):  # rows first: x[i + 1, j], df.iloc[i + 1, 0]
        index = index.elts[0] if index.elts else index
    if isinstance(index, ast.Slice):
        lower = _offset(module, index.lower) if index.lower is not None else None
        if lower is not None and lower[0] in counters and lower[1] >= 1:
            return lower
        upper = _offset(module, index.upper) if index.upper is not None else None
        if upper is not None and upper[0] in counters and upper[1] >= 2:
            return upper[0], upper[1] - 1
        return None
    found = _offset(module, index)
    return found if found is not None and found[0] in counters and found[1] >= 1 else None


def _written_offset(module: Module, node: ast.AST, name: str) -> int | None:
    """The largest ``name + k`` the enclosing assignment writes (``ret[i + 1] = close[i + 1] / close[i] - 1``
    computes bar ``i + 1`` from bars up to ``i + 1``: there ``i + 1`` is "now")."""
    stmt = module.enclosing(node, ast.stmt)
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, (ast.AugAssign, ast.AnnAssign)):
        targets = [stmt.target]
    else:
        return None
    written = None
    for target in targets:
        for sub in ast.walk(target):
            if isinstance(sub, ast.Subscript) and isinstance(sub.ctx, ast.Store):
                index = sub.slice.elts[0] if isinstance(sub.slice, ast.Tuple) and sub.slice.elts else sub.slice
                found = _offset(module, index)
                if found is not None and found[0] == name:
                    written = found[1] if written is None else max(written, found[1])
    return written


def _in_strategy_method(module: Module, node: ast.AST, strategies: set[ast.ClassDef]) -> bool:
    """Inside a method of an event ``Strategy``: its loops run over ``ctx.data`` (the past) or over symbols."""
    fn = module.enclosing(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    while fn is not None:
        if module.parents.get(fn) in strategies:
            return True
        fn = module.enclosing(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
    return False


@register
class IndexPastCurrent(Rule):
    """What it does:
    Inside a ``for i in range(...)`` / ``for i, x in enumerate(...)`` loop (or comprehension), flags reads
    that index past the loop's current bar: ``x[i + 1]``, ``df.iloc[i + 2]``, ``arr.values[i + 1, j]``, a
    slice starting after the bar (``x[i + 1:]``) or ending after it (``x[i - 5:i + 2]``). The offset may be
    spelled through names bound once (``j = i + 1``; ``x[j]``, ``step = 1``; ``x.iloc[i + step]``) or sit in a
    helper of the file the loop calls (``def nxt(x, i): return x[i + 1]``).

    Why is this bad:
    In a bar loop ``i`` is "now": the decision for bar ``i`` can only use bars ``0..i``. Reading ``i + 1``
    uses a bar that has not closed yet; the loop's result is a backtest of a strategy that knows the next
    price. Not flagged: writing to ``out[i + 1]`` (acting on the next bar); reading no further than the
    assignment writes (``ret[i + 1] = close[i + 1] / close[i] - 1`` computes bar ``i + 1`` from bars up to
    it); ``x[:i + 1]`` (the history up to and including now); loops in event ``Strategy`` methods (they
    only see ``ctx.data``, the past, and usually loop over symbols).

    Example:
    ```python
    for i in range(len(close) - 1):
        signal[i] = close[i + 1] > close[i]      # tomorrow's close decides today
    ```

    Use instead:
    ```python
    for i in range(1, len(close)):
        signal[i] = close[i] > close[i - 1]      # today's close against yesterday's
    ```
    """

    code = "PIT005"
    name = "index-past-current"

    def check(self, module: Module) -> Iterator[Finding]:
        strategies = set(module.strategy_classes)
        for node in module.walk():
            if not (isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load)):
                continue
            counters = _loop_counters(module, node)
            if not counters:
                continue
            ahead = _reads_ahead(module, node.slice, counters)
            if ahead is not None and not _in_strategy_method(module, node, strategies):
                name, k = ahead
                written = _written_offset(module, node, name)
                if written is not None and k <= written:
                    continue
                yield self.finding(
                    module,
                    node,
                    f"{ast.unparse(node)} reads bar {name} + {k} inside the loop over {name}: "
                    f"a bar after the current one, from the future",
                )
