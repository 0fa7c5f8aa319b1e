"""PIT006: a signal normalised with a statistic of the whole sample (``(x - x.mean()) / x.std()``)."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ml4t.lint._core import Finding, Module, Rule
from ml4t.lint.rules import register
from ml4t.lint.rules.pit008_global_data_in_hook import signal_functions

_CENTRE = frozenset({"mean", "median", "min"})  # x - stat
_SCALE = frozenset({"std", "max"})  # x / stat; "sum" too, but only in signal functions (see check)
_NUMPY = {f"numpy.{p}{m}": m for m in ("mean", "median", "min", "std", "max", "sum") for p in ("", "nan")}
_NUMPY |= {"numpy.amin": "min", "numpy.amax": "max"}
_REDUCE = frozenset({"sum", "mean", "std", "var", "median", "max", "min", "prod", "count", "dot", "corr", "cov"})
_REDUCE |= {"item", "all", "any", "corrcoef", "average", "nansum", "nanmean", "nanstd", "nanvar"}
_WINDOWS = frozenset({"rolling", "expanding", "ewm", "resample", "history", "tail", "head", "latest", "window"})
_GROUPS = frozenset({"groupby", "group_by", "group_by_dynamic", "rolling", "resample", "over"})
_KEEP_SHAPE = frozenset({"abs", "dropna", "drop_nulls", "drop_nans"})


def _method(call: ast.AST) -> str | None:
    return call.func.attr if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) else None


def _stat(module: Module, node: ast.AST) -> tuple[str, ast.expr] | None:
    """A whole-sample statistic call: (its name, what it summarises) for ``x.mean()`` / ``np.std(x, ddof=1)``;
    None when it takes arguments beyond ``ddof`` (``axis=1`` may be cross-sectional, a window is not full)."""
    if not isinstance(node, ast.Call) or any(kw.arg != "ddof" for kw in node.keywords):
        return None
    if isinstance(node.func, ast.Attribute) and not node.args:
        return node.func.attr, node.func.value
    name = _NUMPY.get(module.qualified(node.func) or "")
    if name is not None and len(node.args) == 1:
        return name, node.args[0]
    return None


def _windowed(node: ast.AST) -> bool:
    """Rolling / expanding / ewm / cumulative calls, or a bounded slice (``x[i - 20:i]``, ``x.iloc[-60:]``)."""
    for sub in ast.walk(node):
        method = _method(sub)
        if method is not None and (method in _WINDOWS or method.startswith(("rolling", "ewm", "cum", "expanding"))):
            return True
        if isinstance(sub, ast.Subscript):
            parts = sub.slice.elts if isinstance(sub.slice, ast.Tuple) else [sub.slice]
            if any(isinstance(p, ast.Slice) and (p.lower is not None or p.upper is not None) for p in parts):
                return True
    return False


def _local_window(module: Module, receiver: ast.expr) -> bool:
    """A local name bound to a window (``w = x[i - 20:i]``) or iterated over (``for w in windows``)."""
    if not isinstance(receiver, ast.Name):
        return False
    scope = module.enclosing(receiver, (ast.FunctionDef, ast.AsyncFunctionDef)) or module.tree
    for sub in ast.walk(scope):
        if isinstance(sub, ast.Assign) and _windowed(sub.value):
            if any(isinstance(t, ast.Name) and t.id == receiver.id for t in sub.targets):
                return True
        elif isinstance(sub, (ast.For, ast.comprehension)) and any(
            isinstance(t, ast.Name) and t.id == receiver.id for t in ast.walk(sub.target)
        ):
            return True
    return False


def _mentions(expr: ast.AST, receiver: ast.expr) -> bool:
    """Whether ``expr`` uses ``receiver`` itself (not only through a reduction such as ``x.mean()``)."""
    keys = {ast.unparse(receiver)}
    while (
        isinstance(receiver, ast.Call)
        and isinstance(receiver.func, ast.Attribute)
        and receiver.func.attr in _KEEP_SHAPE
        and not receiver.args
    ):
        receiver = receiver.func.value  # x.abs().max() scales x
        keys.add(ast.unparse(receiver))
    stack: list[ast.AST] = [expr]
    while stack:
        sub = stack.pop()
        if isinstance(sub, ast.expr) and ast.unparse(sub) in keys:
            return True
        if not (isinstance(sub, ast.Call) and (_method(sub) in _REDUCE)):
            stack.extend(ast.iter_child_nodes(sub))
    return False


def _exempt_context(module: Module, node: ast.AST, strategies: set[ast.ClassDef]) -> bool:
    """Places where the data is not the whole sample, or the result is not a per-bar signal."""
    child, current = node, module.parents.get(node)
    while current is not None:
        if isinstance(current, ast.Lambda):
            return True  # .apply / .transform / rolling_map callbacks get one window or group
        if isinstance(current, ast.Attribute) and current.attr == "over":
            return True  # (x - x.mean()).over("date"): per timestamp, across assets
        if isinstance(current, ast.Call):
            if _method(current) in _REDUCE or (module.qualified(current.func) or "").rpartition(".")[2] in _REDUCE:
                return True  # ((r - r.mean()) ** 2).sum(), np.dot(a - a.mean(), b): a statistic, not a signal
            if (
                child is not current.func
                and isinstance(current.func, ast.Attribute)
                and any(_method(s) in _GROUPS for s in ast.walk(current.func.value))
            ):
                return True  # df.group_by("date").agg(...): per group
        if (
            isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef))
            and current.name != "indicators"
            and module.parents.get(current) in strategies
        ):
            return True  # event-strategy methods only ever see ctx.data: the past
        child, current = current, module.parents.get(current)
    return False


@register
class FullSampleNormalisation(Rule):
    """What it does:
    Flags a series centred or scaled by a statistic of the whole sample: ``x - x.mean()`` (or ``.median()``,
    ``.min()``), ``x / x.std()`` (or ``.max()``), ``(x - np.mean(x)) / np.std(x)``, and, inside a
    ``VectorizedStrategy`` signal function, ``x / x.sum()``. Not flagged: rolling, expanding, ewm and
    cumulative statistics; expressions under ``.over(...)`` or a ``group_by``/``groupby`` (per-timestamp,
    cross-sectional); callbacks (lambdas) run per window or group; event-strategy methods (they see only
    ``ctx.data``); results reduced to a number (``((r - r.mean()) ** 2).sum()``); statistics with ``axis=``.

    Why is this bad:
    The mean and standard deviation of the whole series include every later bar. A z-score built on them
    tells each early bar where the price will sit relative to its whole future range (a series that trends up
    has negative z-scores early on for that reason alone), so thresholds on it trade on the future.

    Example:
    ```python
    def signals(bars, threshold=2.0):
        close = bars.frame["close"]
        z = (close - close.mean()) / close.std()
        return {"entries": z < -threshold, "exits": z > 0}
    ```

    Use instead:
    ```python
    def signals(bars, threshold=2.0, window=60):
        close = bars.frame["close"]
        z = (close - close.rolling_mean(window)) / close.rolling_std(window)   # only the last 60 bars
        return {"entries": z < -threshold, "exits": z > 0}
    ```
    """

    code = "PIT006"
    name = "full-sample-normalisation"

    def check(self, module: Module) -> Iterator[Finding]:
        strategies = set(module.strategy_classes)
        signal_nodes = {id(n) for fn in signal_functions(module) for n in ast.walk(fn)}
        hits: dict[ast.AST, list[ast.expr]] = {}
        for node in ast.walk(module.tree):
            if isinstance(node, ast.BinOp):
                left, op, right = node.left, node.op, node.right
            elif isinstance(node, ast.AugAssign):
                left, op, right = node.target, node.op, node.value
            else:
                continue
            guarded = isinstance(right, ast.BinOp) and isinstance(right.op, ast.Add)
            if (
                isinstance(op, ast.Div)
                and isinstance(right, ast.BinOp)
                and guarded
                and isinstance(right.right, ast.Constant)
            ):
                right = right.left  # x / (x.std() + 1e-9)
            stat = _stat(module, right)
            if stat is None:
                continue
            name, receiver = stat
            wanted = _CENTRE if isinstance(op, ast.Sub) else _SCALE if isinstance(op, ast.Div) else frozenset()
            if name not in wanted and not (isinstance(op, ast.Div) and name == "sum" and id(node) in signal_nodes):
                continue
            if _windowed(receiver) or _local_window(module, receiver) or not _mentions(left, receiver):
                continue
            if _exempt_context(module, node, strategies):
                continue
            hits[node] = [right]
        for node in list(hits):  # one finding per expression: (x - x.mean()) / x.std() is reported at the "/"
            outer = module.parents.get(node)
            while outer is not None and not isinstance(outer, ast.stmt):
                if outer in hits:
                    hits[outer] = hits.pop(node) + hits[outer]
                    break
                outer = module.parents.get(outer)
        for node, stats in sorted(
            hits.items(), key=lambda kv: (getattr(kv[0], "lineno", 0), getattr(kv[0], "col_offset", 0))
        ):
            calls = " and ".join(ast.unparse(s) for s in stats)
            verb, pronoun = ("is a statistic", "it") if len(stats) == 1 else ("are statistics", "them")
            yield self.finding(
                module,
                node,
                f"{calls} {verb} of the whole sample: normalising with {pronoun} puts later bars into every "
                "earlier value (use a rolling or expanding window)",
            )
