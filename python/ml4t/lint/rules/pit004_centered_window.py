"""PIT004: a centred rolling window or a zero-phase filter averages bars on both sides of each value."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ml4t.lint._core import Finding, Module, Rule
from ml4t.lint.rules import register

_ZERO_PHASE = frozenset({"filtfilt", "sosfiltfilt"})
_PER_WINDOW = frozenset({"apply", "rolling_apply", "rolling_map", "map_elements"})


def _centered(module: Module, node: ast.Call, method: str) -> bool:
    """``center=True`` (pandas' ``rolling`` also takes it third positionally: ``rolling(20, 1, True)``), the
    value folded through names bound once (``centred = True``; ``center=centred``)."""
    if any(kw.arg == "center" and module.constant(kw.value) is True for kw in node.keywords):
        return True
    return method == "rolling" and len(node.args) >= 3 and module.constant(node.args[2]) is True


def _imported(module: Module, func: ast.AST) -> bool:
    """Whether the name chain ``func`` starts at an imported name (``scipy.signal.filtfilt``, ``signal.filtfilt``,
    a ``from ... import filtfilt``), not at a function of the linted file."""
    while isinstance(func, ast.Attribute):
        func = func.value
    return isinstance(func, ast.Name) and func.id in module.aliases


def _inside_window_function(module: Module, node: ast.AST) -> bool:
    """Whether ``node`` sits in a lambda handed to ``.apply`` / ``rolling_map``: a filter run on each trailing
    window (and read at its last value) sees only that window."""
    fn = module.enclosing(node, ast.Lambda)
    call = module.parents.get(fn) if fn is not None else None
    return isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr in _PER_WINDOW


@register
class CenteredWindow(Rule):
    """What it does:
    Flags rolling windows with ``center=True`` (Polars ``rolling_mean`` / ``rolling_std`` / ... /
    ``rolling_map``, pandas ``.rolling(..., center=True)``) and zero-phase filters (``scipy.signal.filtfilt``,
    ``sosfiltfilt``, and a ``filtfilt`` imported from another library), keyword or positional, through names
    bound once (``center=centred``, ``smooth = signal.filtfilt``; ``smooth(b, a, x)``) and helpers of the file.

    Why is this bad:
    A centred window of width ``w`` puts the current bar in its middle: half the bars it averages come after
    it. A zero-phase filter runs forward and then backward over the whole series, so every value depends on
    all later ones. Either way the smoothed value at a bar is not known at its close, and signals built on it
    look much cleaner (no lag!) than anything that can trade.

    Example:
    ```python
    trend = pl.col("close").rolling_mean(20, center=True)
    smooth = scipy.signal.filtfilt(b, a, close)
    ```

    Use instead:
    ```python
    trend = pl.col("close").rolling_mean(20)            # trailing window: this bar and the 19 before it
    smooth = scipy.signal.lfilter(b, a, close)          # causal filter (it lags, as anything live does)
    ```
    """

    code = "PIT004"
    name = "centered-window"

    def check(self, module: Module) -> Iterator[Finding]:
        for node in module.walk():
            if not isinstance(node, ast.Call):
                continue
            if isinstance(node.func, ast.Attribute):
                method = node.func.attr
                if (method == "rolling" or method.startswith("rolling_")) and _centered(module, node, method):
                    yield self.finding(
                        module,
                        node.func,
                        f"{method}(center=True) centres its window on each bar: half the window lies after the bar, "
                        "in the future",
                    )
                    continue
            func = module.value(node.func)
            name = module.qualified(func) or ""
            if (
                name.rpartition(".")[2] in _ZERO_PHASE
                and _imported(module, func)
                and not _inside_window_function(module, node)
            ):
                yield self.finding(
                    module,
                    node.func,
                    f"{name}() filters forward and backward over the whole series: every value depends on later bars",
                )
