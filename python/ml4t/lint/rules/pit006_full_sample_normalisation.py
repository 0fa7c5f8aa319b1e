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
_GROUPS = frozenset({"groupby", "group_by", "group_by_dynamic", "rolling", "resample"})
_TIME_WORDS = ("date", "time", "ts_", "day", "week", "month", "quarter", "year", "period", "session")
_KEEP_SHAPE = frozenset({"abs", "dropna", "drop_nulls", "drop_nans"})


def _method(call: ast.AST) -> str | None:
    return call.func.attr if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) else None


def by_time(module: Module, over: ast.Call) -> bool:
    """Whether an ``.over(...)`` call partitions by time (``"ts_event"``, ``"date"``, ``pl.col("ts").dt.date()``):
    a cross-section at each timestamp. A partition whose columns are not known (a variable) is taken as one;
    a partition by anything else (``"symbol"``, ``"sector"``) spans each group's whole history."""
    given = [*over.args, *(kw.value for kw in over.keywords if kw.arg in ("partition_by", "expr"))]
    names = [
        n.value.lower()
        for arg in given
        for n in ast.walk(module.value(arg))
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]
    return not names or any(name in ("ts", "t", "dt") or any(w in name for w in _TIME_WORDS) for name in names)


def over_call(module: Module, node: ast.AST) -> ast.Call | None:
    """The ``.over(...)`` call applied to ``node`` (``node.over("symbol")``), if any."""
    attribute = module.parents.get(node)
    call = module.parents.get(attribute) if isinstance(attribute, ast.Attribute) else None
    if isinstance(attribute, ast.Attribute) and attribute.attr == "over" and isinstance(call, ast.Call):
        return call if call.func is attribute else None
    return None


def _partition(module: Module, node: ast.AST) -> ast.Call | None:
    """A statistic's own ``.over(...)`` that partitions by something other than time."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "over":
        return node if not by_time(module, node) else None
    return None


def _stat(module: Module, node: ast.AST) -> tuple[str, ast.expr] | None:
    """A whole-sample statistic call: (its name, what it summarises) for ``x.mean()`` / ``np.std(x, ddof=1)``,
    also per partition (``x.mean().over("symbol")``); None when it takes arguments beyond ``ddof`` (``axis=1``
    may be cross-sectional, a window is not full) or is taken per timestamp (``x.mean().over("date")``)."""
    node = module.value(node)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "over":
        if by_time(module, node):
            return None
        node = node.func.value
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


def _expanded(module: Module, node: ast.AST) -> ast.expr:
    """``node`` with the names bound once replaced by their values (``c`` -> ``pl.col("close")``)."""
    return ast.parse(module.expand(node), mode="eval").body


def _mentions(module: Module, expr: ast.AST, receiver: ast.expr) -> bool:
    """Whether ``expr`` uses ``receiver`` itself (not only through a reduction such as ``x.mean()``), names
    bound once read as their values."""
    expr, receiver = _expanded(module, expr), _expanded(module, receiver)
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


def _exempt_context(module: Module, node: ast.AST, strategies: set[ast.ClassDef]) -> bool | ast.Call:
    """Places where the data is not the whole sample, or the result is not a per-bar signal: True. An
    ``.over(...)`` by something other than time around ``node``: that call (each group's whole history)."""
    child, current = node, module.parents.get(node)
    partition: ast.Call | None = None
    while current is not None:
        if isinstance(current, ast.Lambda):
            return True  # .apply / .transform / rolling_map callbacks get one window or group
        over = over_call(module, child) if isinstance(current, ast.Attribute) else None
        if over is not None:
            if by_time(module, over):
                return True  # (x - x.mean()).over("date"): per timestamp, across assets
            partition = partition or over  # (x - x.mean()).over("symbol"): each symbol's whole history
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
    return partition or False


@register
class FullSampleNormalisation(Rule):
    """What it does:
    Flags a series centred or scaled by a statistic of the whole sample: ``x - x.mean()`` (or ``.median()``,
    ``.min()``), ``x / x.std()`` (or ``.max()``), ``(x - np.mean(x)) / np.std(x)``, and, inside a
    ``VectorizedStrategy`` signal function, ``x / x.sum()``. The same per partition: an ``.over(...)`` that
    partitions by anything but time (``"symbol"``, ``"sector"``) spans each group's whole history, so
    ``((c - c.mean()) / c.std()).over("symbol")``, ``c - c.mean().over("symbol")``, ``c / c.max().over("symbol")``,
    ``c / c.sum().over("symbol")`` are flagged, and so is ``c.rank().over("symbol")`` (each bar ranked against
    its symbol's later bars). Names bound once and helpers are read through (``m = c.mean(); (c - m) / s``).
    Not flagged: rolling, expanding, ewm and cumulative statistics (also ``.over("symbol")``); expressions and
    ranks under an ``.over(...)`` by time (a column named like ``ts_event``, ``date``, ``timestamp``, a
    ``.dt.date()``, or a partition given as a variable: a cross-section at one timestamp) or a
    ``group_by``/``groupby``; callbacks (lambdas) run per window or group; event-strategy methods (they see
    only ``ctx.data``); results reduced to a number (``((r - r.mean()) ** 2).sum()``, ``mu / s``); statistics
    with ``axis=``. PIT006 rather than a code of its own: a partition changes what "the sample" is, not the
    leak.

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
        signal_nodes = {id(n) for fn in signal_functions(module) for n in module.walk(fn)}
        hits: dict[ast.AST, tuple[list[ast.AST], ast.Call | None]] = {}
        for node in module.walk():
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "rank":
                context = _exempt_context(module, node, strategies)
                if isinstance(context, ast.Call):
                    hits[node] = ([node], context)
                continue
            if isinstance(node, ast.BinOp):
                left, op, right = node.left, node.op, module.value(node.right)
            elif isinstance(node, ast.AugAssign):
                left, op, right = node.target, node.op, module.value(node.value)
            else:
                continue
            guarded = isinstance(right, ast.BinOp) and isinstance(right.op, ast.Add)
            if (
                isinstance(op, ast.Div)
                and isinstance(right, ast.BinOp)
                and guarded
                and isinstance(right.right, ast.Constant)
            ):
                right = module.value(right.left)  # x / (x.std() + 1e-9)
            stat = _stat(module, right)
            if stat is None:
                continue
            name, receiver = stat
            own = _partition(module, right)
            wanted = _CENTRE if isinstance(op, ast.Sub) else _SCALE if isinstance(op, ast.Div) else frozenset()
            summed = isinstance(op, ast.Div) and name == "sum" and (id(node) in signal_nodes or own is not None)
            if name not in wanted and not summed:
                continue
            if (
                _windowed(_expanded(module, receiver))
                or _local_window(module, receiver)
                or not _mentions(module, left, receiver)
            ):
                continue
            context = _exempt_context(module, node, strategies)
            if context is True:
                continue
            hits[node] = ([right], own or (context if isinstance(context, ast.Call) else None))
        for node in list(hits):  # one finding per expression: (x - x.mean()) / x.std() is reported at the "/"
            outer = module.parents.get(node)
            while outer is not None and not isinstance(outer, ast.stmt):
                if outer in hits:
                    stats, partition = hits.pop(node)
                    hits[outer] = (stats + hits[outer][0], hits[outer][1] or partition)
                    break
                outer = module.parents.get(outer)
        for node, (stats, partition) in sorted(
            hits.items(), key=lambda kv: (getattr(kv[0], "lineno", 0), getattr(kv[0], "col_offset", 0))
        ):
            yield self.finding(module, node, _message(module, stats, partition))


def _message(module: Module, stats: list[ast.AST], partition: ast.Call | None) -> str:
    calls = " and ".join(ast.unparse(_strip_over(s)) for s in stats)
    if partition is None:
        verb, pronoun = ("is a statistic", "it") if len(stats) == 1 else ("are statistics", "them")
        return (
            f"{calls} {verb} of the whole sample: normalising with {pronoun} puts later bars into every "
            "earlier value (use a rolling or expanding window)"
        )
    groups = [
        n.value
        for arg in partition.args
        for n in ast.walk(module.value(arg))
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]
    group = "/".join(groups) or "group"
    over = ast.unparse(partition.func).rsplit(".", 1)[-1] + "(" + ", ".join(map(ast.unparse, partition.args)) + ")"
    if len(stats) == 1 and isinstance(stats[0], ast.Call) and _method(stats[0]) == "rank":
        return (
            f"{calls} under .{over} ranks each bar against the whole history of its {group}, later bars "
            'included (rank a trailing window, or the cross-section with .over("ts_event"))'
        )
    verb, pronoun = ("is a statistic", "it") if len(stats) == 1 else ("are statistics", "them")
    return (
        f"{calls} {verb} of each {group}'s whole history (.{over}): normalising with {pronoun} puts later bars "
        "into every earlier value (use a rolling or expanding window, .over(...) keeps it per symbol)"
    )


def _strip_over(node: ast.AST) -> ast.AST:
    """``x.mean().over("symbol")`` -> ``x.mean()`` for the message (the partition is said separately)."""
    if isinstance(node, ast.Call) and _method(node) == "over" and isinstance(node.func, ast.Attribute):
        return node.func.value
    return node
