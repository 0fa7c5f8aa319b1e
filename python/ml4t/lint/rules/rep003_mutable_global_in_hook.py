"""REP003: a strategy hook or signal function that mutates module-level state."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ml4t.lint._core import Finding, Module, Rule
from ml4t.lint.rules import register

MUTATORS = frozenset(
    {
        "append", "extend", "insert", "remove", "pop", "popitem", "clear", "update", "setdefault", "add",
        "discard", "sort", "reverse", "appendleft", "extendleft", "popleft",
    }
)  # fmt: skip
"""Methods that change a list, dict, set or deque in place."""
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def module_names(module: Module) -> set[str]:
    """Names assigned at module level (not functions, classes or imports)."""
    out: set[str] = set()
    for node in ast.walk(module.tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and module.enclosing(node, SCOPES) is None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                out |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return out


def local_names(fn: ast.FunctionDef) -> set[str]:
    """Names ``fn`` binds itself (parameters, assignments, loop and ``with`` targets, imports, nested
    definitions), less those it declares ``global``."""
    args = fn.args
    out = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg] if a}
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            out.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node is not fn:
            out.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            out |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ExceptHandler) and node.name:
            out.add(node.name)
    return out - declared_global(fn)


def declared_global(fn: ast.FunctionDef) -> set[str]:
    return {name for node in ast.walk(fn) if isinstance(node, ast.Global) for name in node.names}


def base_name(node: ast.AST) -> ast.Name | None:
    """The name at the root of a subscript/attribute chain (``CACHE`` in ``CACHE[k].x``)."""
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        node = node.value
    return node if isinstance(node, ast.Name) else None


@register
class MutableGlobalInHook(Rule):
    """What it does:
    Flags, inside an event ``Strategy`` hook (``on_bar``, ``on_start``...) or a ``VectorizedStrategy`` signal
    function: a ``global X`` statement whose names the function rebinds (``COUNT += 1``); an in-place
    mutation of a module-level name, by method (``TRADES.append(...)``, ``SEEN.add``, ``CACHE.update``...)
    or by item/attribute assignment or deletion (``CACHE[key] = value``, ``STATE.count += 1``).

    Not flagged: state on ``self``, locals and parameters, module-level names the function shadows with a
    local of the same name, and ``global X`` for a name the function only reads.

    Why is this bad:
    Module-level state outlives a run. A second run, a parameter sweep or a walk-forward fold starts from the
    leftovers of the previous one, so the same strategy on the same data gives different results depending
    on what ran before.

    Example:
    ```python
    TRADES = []

    class Breakout(Strategy):
        def on_fill(self, ctx, fills):
            TRADES.extend(fills)
    ```

    Use instead:
    ```python
    class Breakout(Strategy):
        def on_start(self, ctx):
            self.trades = []

        def on_fill(self, ctx, fills):
            self.trades.extend(fills)
    ```
    """

    code = "REP003"
    name = "mutable-global-in-hook"

    def check(self, module: Module) -> Iterator[Finding]:
        shared = module_names(module)
        why = "module state outlives the run, so the next run or parameter set starts from its leftovers"
        functions = {id(f): (f, f"`{f.name}`", "keep it on self") for f in module.hooks}
        functions |= {id(f): (f, f"signal function `{f.name}`", "keep it local") for f in module.signal_functions}
        for fn, where, remedy in functions.values():
            for node, what in self._mutations(module, fn, shared, local_names(fn)):
                yield self.finding(module, node, f"{where} {what}: {why}; {remedy}")

    @staticmethod
    def _mutations(
        module: Module, fn: ast.FunctionDef, shared: set[str], local: set[str]
    ) -> Iterator[tuple[ast.AST, str]]:
        def module_level(node: ast.AST | None) -> bool:
            if not (isinstance(node, ast.Name) and node.id in shared):
                return False
            return node.id not in local or module.origin(node) is not None  # a helper's global, not our local

        for node in module.walk(fn):
            if isinstance(node, ast.Global):
                rebound = {
                    n.id
                    for n in ast.walk(fn)
                    if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)) and n.id in node.names
                }
                if rebound:
                    yield node, f"rebinds module-level {', '.join(sorted(rebound))} through `global`"
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in MUTATORS:
                if module_level(node.func.value):
                    yield node, f"calls `{ast.unparse(node.func)}(...)` on a module-level name"
            elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
                targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
                for target in targets:
                    if isinstance(target, (ast.Subscript, ast.Attribute)) and module_level(base_name(target)):
                        yield node, f"writes module-level `{ast.unparse(target)}`"
