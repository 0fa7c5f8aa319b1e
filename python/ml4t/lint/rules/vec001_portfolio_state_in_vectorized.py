"""VEC001: a vectorized signal function reads portfolio state that does not exist yet.

Also home of :func:`signal_nodes`, the scope every ``VEC`` rule reads.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterator

from ml4t.lint._core import Finding, Module, Rule
from ml4t.lint.rules import register

_FUNCTION = (ast.FunctionDef, ast.AsyncFunctionDef)
_SIGNAL_KEYS = {"entries", "exits", "short_entries", "short_exits", "weights"}
STATE_ATTRS = frozenset({"position", "positions", "cash", "free_cash", "equity", "portfolio", "orders", "fills"})
STATE_NAMES = frozenset({"ctx", "context", "portfolio", "broker", "account"})


def _returns_signals_itself(module: Module, fn: ast.AST) -> bool:
    """Whether ``fn`` itself (not a function nested in it) returns a dict literal with a signal key."""
    for ret in ast.walk(fn):
        if isinstance(ret, ast.Return) and isinstance(ret.value, ast.Dict):
            keys = {k.value for k in ret.value.keys if isinstance(k, ast.Constant)}
            if keys & _SIGNAL_KEYS and module.enclosing(ret, _FUNCTION) is fn:
                return True
    return False


def signal_scopes(module: Module) -> list[tuple[str, ast.AST]]:
    """``(name, node)`` of each signal function, in source order: ``module.signal_functions`` that are passed to
    ``VectorizedStrategy`` (first argument or ``signal_fn=``) or themselves return a signal dict (a function merely
    *containing* one, such as a script's ``main``, is not), minus methods of event ``Strategy`` classes; plus
    lambdas passed to ``VectorizedStrategy``."""
    passed: set[str] = set()
    scopes: dict[int, tuple[str, ast.AST]] = {}
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Call) and (module.qualified(node.func) or "").endswith("VectorizedStrategy"):
            given = [*node.args[:1], *(kw.value for kw in node.keywords if kw.arg == "signal_fn")]
            for arg in given:
                if isinstance(arg, ast.Name):
                    passed.add(arg.id)
                    if arg.id in module.functions:
                        fn = module.functions[arg.id]
                        scopes[id(fn)] = (fn.name, fn)
                elif isinstance(arg, ast.Lambda):
                    scopes[id(arg)] = ("<lambda>", arg)
    event_classes = module.strategy_classes
    for fn in module.signal_functions:
        if any(module.parents.get(fn) is cls for cls in event_classes):
            continue
        if fn.name in passed or _returns_signals_itself(module, fn):
            scopes.setdefault(id(fn), (fn.name, fn))
    return sorted(scopes.values(), key=lambda s: (getattr(s[1], "lineno", 0), getattr(s[1], "col_offset", 0)))


def _numba_compiled(module: Module, scope: ast.AST) -> set[str]:
    """Names of functions compiled by Numba inside ``scope``: decorated with ``numba.*`` or passed to a
    ``numba.*(...)`` call (``njit(fn)``)."""
    out: set[str] = set()
    for node in ast.walk(scope):
        if isinstance(node, _FUNCTION):
            for deco in node.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                if (module.qualified(target) or "").startswith("numba."):
                    out.add(node.name)
        elif isinstance(node, ast.Call) and (module.qualified(node.func) or "").startswith("numba."):
            out.update(a.id for a in node.args[:1] if isinstance(a, ast.Name))
    return out


def signal_nodes(module: Module) -> Iterator[tuple[str, ast.AST, ast.AST]]:
    """``(signal function name, its node, node)`` for every node inside a signal function, closures included,
    each node once, parents before children. Functions compiled by Numba inside it (the documented
    ``map_batches`` escape hatch, which works on arrays) are skipped."""
    seen: set[int] = set()
    for name, scope in signal_scopes(module):
        compiled = _numba_compiled(module, scope)
        queue: deque[ast.AST] = deque([scope])
        while queue:
            node = queue.popleft()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if node is not scope and isinstance(node, _FUNCTION) and node.name in compiled:
                continue
            yield name, scope, node
            queue.extend(module.children(node))  # a helper call's expansion too


def covered(node: ast.AST) -> set[int]:
    """Ids of ``node`` and everything below it: a reported expression is not reported again piecewise."""
    return {id(n) for n in ast.walk(node)}


def text(node: ast.AST, limit: int = 40) -> str:
    """Short source text of ``node`` for a message."""
    source = ast.unparse(node)
    return source if len(source) <= limit else source[: limit - 3] + "..."


def _local_names(scope: ast.AST) -> set[str]:
    """Names assigned inside ``scope`` (a local ``context = ...`` is the user's own variable, not the engine's)."""
    out = {n.id for n in ast.walk(scope) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    out |= {n.name for n in ast.walk(scope) if isinstance(n, _FUNCTION) and n is not scope}
    return out


@register
class PortfolioStateInVectorized(Rule):
    """What it does:
    Flags a ``VectorizedStrategy`` signal function (or a closure inside one) that reads portfolio state: an
    attribute ``.position``, ``.positions``, ``.cash``, ``.free_cash``, ``.equity``, ``.portfolio``, ``.orders``
    or ``.fills`` on any object, or the names ``ctx``, ``context``, ``portfolio``, ``broker``, ``account`` (unless
    the function assigns that name itself). A column called ``"position"`` (``pl.col("position")``) is a string
    and is not flagged, nor is ``self.position`` in an event ``Strategy`` hook.

    Why is this bad:
    A signal function is called once, before the simulation: it returns Polars expressions that are evaluated for
    every bar before any trade happens. There is no position, cash or equity to read at that point; whatever
    object it reads is stale or belongs to another run, so the signals silently disagree with the simulation.

    Example:
    ```python
    def sma_cross(fast, slow):
        f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
        return {"entries": (f > s) & (ctx.position("AAPL") == 0), "exits": f < s}
    ```

    Use instead:
    ```python
    def sma_cross(fast, slow):
        f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
        return {"entries": f > s, "exits": f < s}   # the simulator ignores entries while in a position

    # position-dependent rules: VectorizedStrategy(sma_cross, sl_stop=0.05), or an event-driven Strategy
    ```
    """

    code = "VEC001"
    name = "portfolio-state-in-vectorized"

    def check(self, module: Module) -> Iterator[Finding]:
        done: set[int] = set()
        local: dict[int, set[str]] = {}
        for fn, scope, node in signal_nodes(module):
            if id(node) in done:
                continue
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) and node.attr in STATE_ATTRS:
                done |= covered(node)
                yield self.finding(
                    module,
                    node,
                    f"{text(node)} reads portfolio state in signal function {fn}(): signals are computed for every "
                    "bar before any trade happens, so there is no position to read (use an event Strategy or the "
                    "stop settings)",
                )
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in STATE_NAMES:
                if node.id in local.setdefault(id(scope), _local_names(scope)):
                    continue
                chain: ast.AST = node
                while isinstance(parent := module.parents.get(chain), ast.Attribute) and parent.value is chain:
                    chain = parent
                done |= covered(chain)
                yield self.finding(
                    module,
                    node,
                    f"{text(chain)} uses `{node.id}` in signal function {fn}(): signals are computed for every bar "
                    "before any trade happens, with no context, portfolio or broker (position-dependent rules "
                    "belong in an event Strategy or the stop settings)",
                )
