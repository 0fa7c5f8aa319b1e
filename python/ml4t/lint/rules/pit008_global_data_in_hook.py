"""PIT008: a strategy hook or signal function reading a dataset loaded into a module-level name."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ml4t.lint._core import Finding, Module, Rule
from ml4t.lint.rules import register

_LOADERS = frozenset(
    {"ml4t.data.load_bars", "ml4t.data.bars", "ml4t.datasets.synthetic_bars", "polars.DataFrame", "pandas.DataFrame"}
)
_LOADER_PREFIXES = ("polars.read_", "polars.scan_", "pandas.read_", "numpy.load")
_SAME_DATA_ATTRS = frozenset({"frame", "values"})
_SAME_DATA_METHODS = frozenset(
    {"collect", "to_pandas", "to_numpy", "lazy", "sort", "sort_values", "sort_index", "filter", "select"}
    | {"with_columns", "set_index", "reset_index", "pivot", "unstack", "dropna", "drop_nulls", "fillna", "fill_null"}
    | {"copy", "clone", "astype", "cast", "rename"}
)
_NESTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _loaded_from(module: Module, node: ast.AST, known: dict[str, str]) -> str | None:
    """What a module-level expression loads (``pl.read_parquet``...), following ``.frame``, ``.collect()``,
    ``.to_pandas()``, column subscripts and frame-to-frame methods; None when it is not a dataset."""
    if isinstance(node, ast.Name):
        return known.get(node.id)
    if isinstance(node, ast.Subscript):
        return _loaded_from(module, node.value, known)
    if isinstance(node, ast.Attribute) and node.attr in _SAME_DATA_ATTRS:
        return _loaded_from(module, node.value, known)
    if isinstance(node, ast.Call):
        name = module.qualified(node.func) or ""
        if name in _LOADERS or name.startswith(_LOADER_PREFIXES):
            return ast.unparse(node.func)
        if isinstance(node.func, ast.Attribute) and node.func.attr in _SAME_DATA_METHODS:
            return _loaded_from(module, node.func.value, known)
    return None


def _module_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Module-level statements in order, including those under ``if`` / ``try`` / ``with`` / ``for``."""
    for stmt in body:
        yield stmt
        if not isinstance(stmt, _NESTED):
            for field in ("body", "orelse", "finalbody"):
                yield from _module_statements(getattr(stmt, field, []))
            for handler in getattr(stmt, "handlers", []):
                yield from _module_statements(handler.body)


def _datasets(module: Module) -> dict[str, str]:
    """Module-level names bound to loaded data -> the loader."""
    known: dict[str, str] = {}
    for stmt in _module_statements(module.tree.body):
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets, value = [stmt.target], stmt.value
        else:
            continue
        source = _loaded_from(module, value, known)
        for target in targets:
            if isinstance(target, ast.Name):
                if source is None:
                    known.pop(target.id, None)
                else:
                    known[target.id] = source
    return known


def _instance_datasets(module: Module, cls: ast.ClassDef, datasets: dict[str, str]) -> dict[str, str]:
    """Attributes of a strategy class set from a module-level dataset in any of its methods
    (``self.prices = prices`` in ``__init__``) -> the loader."""
    out: dict[str, str] = {}
    for fn in cls.body:
        if not isinstance(fn, ast.FunctionDef):
            continue
        local = _local_names(fn)
        visible = {name: source for name, source in datasets.items() if name not in local}
        for node in ast.walk(fn):
            if not isinstance(node, ast.Assign):
                continue
            source = _loaded_from(module, node.value, visible)
            for target in node.targets:
                if (
                    source is not None
                    and isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "self"
                ):
                    out[target.attr] = source
    return out


def _local_names(fn: ast.FunctionDef) -> set[str]:
    """Names bound inside ``fn`` (parameters, assignments, loop targets, imports, nested definitions, also of
    nested functions and lambdas), minus those declared ``global``."""
    names: set[str] = set()
    declared: set[str] = set()
    for node in ast.walk(fn):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = node.args
            names |= {p.arg for p in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg) if p is not None}
            if not isinstance(node, ast.Lambda) and node is not fn:
                names.add(node.name)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {a.asname or a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Global):
            declared |= set(node.names)
    return names - declared


def signal_functions(module: Module) -> list[ast.FunctionDef]:
    """``module.signal_functions`` without the functions that merely contain one (a test defining a nested
    ``rule`` that returns ``{"entries": ...}``): each must be passed to ``VectorizedStrategy`` by name or
    return a signal dict itself."""
    passed = {
        node.args[0].id
        for node in ast.walk(module.tree)
        if isinstance(node, ast.Call)
        and (module.qualified(node.func) or "").endswith("VectorizedStrategy")
        and node.args
        and isinstance(node.args[0], ast.Name)
    }
    keys = {"entries", "exits", "short_entries", "short_exits"}

    def returns_signals(fn: ast.FunctionDef) -> bool:
        for ret in ast.walk(fn):
            if isinstance(ret, ast.Return) and isinstance(ret.value, ast.Dict):
                own = module.enclosing(ret, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) is fn
                if own and {k.value for k in ret.value.keys if isinstance(k, ast.Constant)} & keys:
                    return True
        return False

    return [fn for fn in module.signal_functions if fn.name in passed or returns_signals(fn)]


@register
class GlobalDataInHook(Rule):
    """What it does:
    Inside an event ``Strategy`` hook (``on_bar``, ``on_start``...) or a ``VectorizedStrategy`` signal
    function, flags reads of a module-level name bound to loaded data: ``pl.read_*`` / ``pl.scan_*`` /
    ``pd.read_*`` / ``np.load*``, ``ml4t.data.load_bars``, ``ml4t.datasets.synthetic_bars``,
    ``pl.DataFrame(...)`` / ``pd.DataFrame(...)``, and what is derived from them (``.frame``, ``.collect()``,
    ``.to_pandas()``, a column, a sorted or filtered copy). Also reached through a helper of the file the
    function calls (``def lookup(): return prices``), or through an attribute of the strategy that another of
    its methods set from such a name (``self.prices = prices`` in ``__init__``, read as ``self.prices`` in
    ``on_bar``). Not flagged: module-level constants (``WINDOW =
    20``), names the function binds itself (a parameter or a local of the same name), reads elsewhere.

    Why is this bad:
    The engine hands a hook only what has arrived (``ctx.data`` and the bars of this timestamp), and a signal
    function the bars of the run. A global holding the whole file has every bar, including those after the
    current one; indexing it by date or position quietly reads the future. ``ml4t.audit.lookahead`` works by
    truncating the data it passes in, so it cannot catch a global either.

    Example:
    ```python
    prices = pl.read_parquet("prices.parquet")

    class Momentum(Strategy):
        def on_bar(self, ctx, bars):
            close = prices.filter(pl.col("symbol") == "A000")["close"]   # every bar, future included
            if close[-1] > close.mean():
                ctx.order_target_percent("A000", 1.0)
    ```

    Use instead:
    ```python
    class Momentum(Strategy):
        def on_bar(self, ctx, bars):
            close = ctx.data.history("close", 60, "A000")                # the last 60 bars so far
            if close[-1] > close.mean():
                ctx.order_target_percent("A000", 1.0)
    ```
    """

    code = "PIT008"
    name = "global-data-in-hook"

    def check(self, module: Module) -> Iterator[Finding]:
        datasets = _datasets(module)
        if not datasets:
            return
        hooks = {id(fn) for fn in module.hooks}
        held = {id(cls): _instance_datasets(module, cls, datasets) for cls in module.strategy_classes}
        seen: set[int] = set()
        for fn in [*module.hooks, *signal_functions(module)]:
            if id(fn) in seen:
                continue
            seen.add(id(fn))
            local = _local_names(fn)
            instead = "ctx.data or indicators" if id(fn) in hooks else "the bars argument"
            kind = "hook" if id(fn) in hooks else "signal function"
            attributes = held.get(id(module.parents.get(fn)), {})
            for node in module.walk(fn):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.ctx, ast.Load)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "self"
                    and node.attr in attributes
                ):
                    yield self.finding(
                        module,
                        node,
                        f"{kind} {fn.name}() reads self.{node.attr}, a copy of a module-level dataset (from "
                        f"{attributes[node.attr]}), which holds bars that have not arrived yet and hides them from "
                        f"the lookahead audit: use {instead}",
                    )
                if (
                    isinstance(node, ast.Name)
                    and isinstance(node.ctx, ast.Load)
                    and node.id in datasets
                    and (node.id not in local or module.origin(node) is not None)
                ):
                    yield self.finding(
                        module,
                        node,
                        f"{kind} {fn.name}() reads the module-level dataset {node.id} (from {datasets[node.id]}), "
                        f"which holds bars that have not arrived yet and hides them from the lookahead audit: "
                        f"use {instead}",
                    )
