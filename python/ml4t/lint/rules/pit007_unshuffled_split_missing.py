"""PIT007: ``train_test_split`` without ``shuffle=False`` puts future rows in the training set."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ml4t.lint._core import Finding, Module, Rule
from ml4t.lint.rules import register

_SPLIT = frozenset({"sklearn.model_selection.train_test_split", "sklearn.model_selection._split.train_test_split"})


@register
class UnshuffledSplitMissing(Rule):
    """What it does:
    Flags ``train_test_split(...)`` (scikit-learn's, or a bare ``train_test_split`` the file does not define
    itself) called without ``shuffle=False``, or with ``shuffle=True``. A ``shuffle`` given as a variable, or
    ``**kwargs`` that may carry it, is not flagged.

    Why is this bad:
    ``train_test_split`` shuffles by default. On time-ordered rows that puts random later bars in the training
    set and earlier ones in the test set: the model is fitted on the future of the very rows it is scored on,
    and neighbouring bars (which share most of a rolling feature's window or a forward label's horizon) leak
    their answers across the split. The test score says little about live trading.

    Example:
    ```python
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
    ```

    Use instead:
    ```python
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, shuffle=False)  # the last 20%
    # or walk forward: sklearn.model_selection.TimeSeriesSplit(n_splits=5, gap=horizon)
    ```
    """

    code = "PIT007"
    name = "unshuffled-split-missing"

    def check(self, module: Module) -> Iterator[Finding]:
        own = "train_test_split" in module.functions and "train_test_split" not in module.aliases
        for node in ast.walk(module.tree):
            if not isinstance(node, ast.Call):
                continue
            name = module.qualified(node.func) or ""
            if name not in _SPLIT and not (name == "train_test_split" and not own):
                continue
            if any(kw.arg is None for kw in node.keywords):
                continue  # **kwargs may set shuffle
            shuffle = next((kw.value for kw in node.keywords if kw.arg == "shuffle"), None)
            if shuffle is None:
                why = "shuffles the rows by default"
            elif isinstance(shuffle, ast.Constant) and shuffle.value is True:
                why = "with shuffle=True shuffles the rows"
            else:
                continue
            yield self.finding(
                module,
                node.func,
                f"train_test_split() {why}: later bars land in the training set and leak the future into the "
                "test score (pass shuffle=False or use TimeSeriesSplit)",
            )
