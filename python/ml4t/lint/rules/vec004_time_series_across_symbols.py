"""VEC004: a time-series operation without ``.over("symbol")`` in a panel-scope signal function."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ml4t.lint._core import Finding, Module, Rule
from ml4t.lint.rules import register
from ml4t.lint.rules.vec001_portfolio_state_in_vectorized import covered, signal_nodes, text

_FUNCTION = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_TIME_SERIES = frozenset(
    {
        "shift",
        "shift_and_fill",
        "diff",
        "pct_change",
        "cumsum",
        "cumprod",
        "cummax",
        "cummin",
        "cumcount",
        "forward_fill",
        "backward_fill",
        "interpolate",
        "rank",
    }
)
_PREFIXES = ("rolling", "ewm_", "cum_")


def _time_series(name: str) -> bool:
    return name in _TIME_SERIES or name.startswith(_PREFIXES)


def _partitions_by_symbol(call: ast.Call) -> bool:
    """Whether an ``.over(...)`` call partitions by ``symbol``: a literal ``"symbol"`` (alone, in a list, or as
    ``pl.col("symbol")``) among its partition arguments, or a partition that is not a literal (a variable: given
    the benefit of the doubt)."""
    given = [*call.args, *(kw.value for kw in call.keywords if kw.arg in ("partition_by", "expr"))]
    for arg in given:
        literals = [n.value for n in ast.walk(arg) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
        if "symbol" in literals or not literals:
            return True
    return False


def _windowed_around(module: Module, node: ast.AST, *, by_symbol: bool) -> bool:
    """Whether ``node`` is inside the expression an ``.over(...)`` call windows (its receiver): one partitioned by
    ``symbol`` when ``by_symbol``, else any."""
    child, parent = node, module.parents.get(node)
    while parent is not None and not isinstance(parent, (*_FUNCTION, ast.stmt)):
        if (
            isinstance(parent, ast.Attribute)
            and parent.attr == "over"
            and parent.value is child
            and isinstance(call := module.parents.get(parent), ast.Call)
            and call.func is parent
            and (not by_symbol or _partitions_by_symbol(call))
        ):
            return True
        child, parent = parent, module.parents.get(parent)
    return False


def panel_scopes(module: Module) -> set[int]:
    """Ids of the signal functions the module passes to ``VectorizedStrategy(..., scope="panel")`` (by name or as a
    lambda): the ones known to run on the long frame of all symbols."""
    out: set[int] = set()
    for node in ast.walk(module.tree):
        if not (isinstance(node, ast.Call) and (module.qualified(node.func) or "").endswith("VectorizedStrategy")):
            continue
        scope = next((kw.value for kw in node.keywords if kw.arg == "scope"), None)
        if not (isinstance(scope, ast.Constant) and scope.value == "panel"):
            continue
        for arg in [*node.args[:1], *(kw.value for kw in node.keywords if kw.arg == "signal_fn")]:
            if isinstance(arg, ast.Name) and arg.id in module.functions:
                out.add(id(module.functions[arg.id]))
            elif isinstance(arg, ast.Lambda):
                out.add(id(arg))
    return out


def _candidates(module: Module) -> Iterator[tuple[str, ast.AST]]:
    """``(function name, node)`` of the nodes that run on the panel: inside the module's panel-scope signal
    functions; with ``module.scope == "panel"`` (a run told the linter so), inside every function of the module
    (the run keeps the findings inside the code it runs), Numba-compiled ones excepted."""
    if module.scope == "panel":
        jitted = {id(fn) for fn in module.jitted}
        for node in module.walk():
            fn = module.enclosing(node, _FUNCTION)
            owner = fn
            while owner is not None and id(owner) not in jitted:
                owner = module.enclosing(owner, _FUNCTION)
            if fn is not None and owner is None:
                yield getattr(fn, "name", "<lambda>"), node
        return
    panel = panel_scopes(module)
    for name, scope, node in signal_nodes(module):
        if id(scope) in panel:
            yield name, node


@register
class TimeSeriesAcrossSymbols(Rule):
    """What it does:
    Flags, in a signal function run with ``VectorizedStrategy(..., scope="panel")``, a time-series operation
    (``shift``, ``diff``, ``pct_change``, ``rolling_*``, ``ewm_*``, ``cum_*``, ``forward_fill``, ``rank``...)
    that is not inside an ``.over("symbol")`` window. The linter knows the scope from the
    ``VectorizedStrategy(fn, scope="panel")`` call in the same file, or from the run itself (a panel-scope run
    lints the code it runs with this rule on).

    Why is this bad:
    In panel scope the expressions are evaluated once on the long frame of all symbols, one row per bar and
    symbol, sorted by (``ts_event``, ``symbol``). There the previous row is another symbol's bar: ``shift(1)``
    reads a different stock, ``rolling_mean(20)`` averages 20 rows of several stocks, and ``rank()`` ranks every
    row of every date at once (the future included). The signals are silently wrong.

    Example:
    ```python
    def momentum(lookback, k):
        score = pl.col("close").pct_change(lookback)
        top = score.rank(descending=True).over("ts_event") <= k
        return {"weights": pl.when(top).then(1.0 / k).otherwise(0.0)}

    VectorizedStrategy(momentum, scope="panel")
    ```

    Use instead:
    ```python
    def momentum(lookback, k):
        score = pl.col("close").pct_change(lookback).over("symbol")        # time series: per symbol
        top = score.rank(descending=True).over("ts_event") <= k            # cross-section: per date
        return {"weights": pl.when(top).then(1.0 / k).otherwise(0.0)}

    VectorizedStrategy(momentum, scope="panel")
    ```
    A cross-sectional operation windowed by date (``rank().over("ts_event")``) is not flagged. The window must
    be in the same expression as the operation: ``x = pl.col("close").shift(1)`` followed by ``x.over("symbol")``
    on another line is flagged (write ``pl.col("close").shift(1).over("symbol")``, or silence the line).
    """

    code = "VEC004"
    name = "time-series-across-symbols"

    def check(self, module: Module) -> Iterator[Finding]:
        done: set[int] = set()
        for fn, node in _candidates(module):
            if id(node) in done or not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            method = node.func.attr
            if not _time_series(method) or not self._on_expression(module, node.func.value):
                continue
            # a rank windowed by anything is a cross-section (.over("ts_event")) or a per-symbol rank
            if _windowed_around(module, node, by_symbol=method != "rank"):
                continue
            done |= covered(node)  # one finding per chain: x.rolling_mean(5).shift(1) is fixed by one .over()
            where = f"{text(node)} in panel-scope signal function {fn}()"
            if method == "rank":
                message = (
                    f"{where} ranks every row of the long frame at once, all symbols and all dates (the future "
                    "included): rank each date's cross-section with .over(\"ts_event\"); a rank of each symbol's "
                    "history needs a trailing window per symbol (over all of it, it reads the future: PIT006)"
                )
            else:
                message = (
                    f"{where} runs down the long frame of all symbols, so {method}() mixes the rows of different "
                    'symbols: window it per symbol with .over("symbol")'
                )
            yield self.finding(module, node.func, message)

    @staticmethod
    def _on_expression(module: Module, receiver: ast.AST) -> bool:
        """Whether the method is called on something that may be a Polars expression: anything but a module
        that is not Polars (``np.diff``, ``pd.Series.shift`` called through ``pd`` are not panel expressions)."""
        if isinstance(receiver, ast.Name) and receiver.id in module.aliases:
            return module.aliases[receiver.id].split(".")[0] == "polars"
        return True
