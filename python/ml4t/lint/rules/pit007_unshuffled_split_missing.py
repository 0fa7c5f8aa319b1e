"""PIT007: a shuffled split of time-ordered rows (``train_test_split`` without ``shuffle=False``,
``KFold(shuffle=True)``, ``ShuffleSplit``...) puts future rows in the training set."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ml4t.lint._core import Finding, Module, Rule
from ml4t.lint.rules import register

_SHUFFLED = frozenset({"ShuffleSplit", "StratifiedShuffleSplit", "GroupShuffleSplit"})
"""Splitters that draw random rows for each split, always."""
_REPEATED = frozenset({"RepeatedKFold", "RepeatedStratifiedKFold"})
"""K-fold splitters repeated with a new shuffle each time, always."""
_SHUFFLE_OPTION = frozenset({"KFold", "StratifiedKFold", "StratifiedGroupKFold"})
"""K-fold splitters that shuffle with ``shuffle=True``."""
_PACKAGES = ("sklearn.model_selection.", "sklearn.model_selection._split.")


def sklearn_name(module: Module, call: ast.Call, names: frozenset[str]) -> str | None:
    """The name (one of ``names``) of the scikit-learn ``model_selection`` function or class ``call`` calls,
    through import aliases and names bound once (``split = train_test_split``); a bare name counts unless the
    file defines a function of that name itself."""
    func = module.value(call.func)
    qualified = module.qualified(func) or ""
    tail = qualified.rpartition(".")[2]
    if tail not in names:
        return None
    if qualified.startswith(_PACKAGES):
        return tail
    own = tail in module.functions and tail not in module.aliases
    return tail if qualified == tail and not own else None


@register
class UnshuffledSplitMissing(Rule):
    """What it does:
    Flags scikit-learn splits that shuffle time-ordered rows: ``train_test_split(...)`` called without
    ``shuffle=False`` (its default shuffles) or with ``shuffle=True``; ``KFold`` / ``StratifiedKFold`` /
    ``StratifiedGroupKFold`` with ``shuffle=True``; ``ShuffleSplit``, ``StratifiedShuffleSplit``,
    ``GroupShuffleSplit``, ``RepeatedKFold`` and ``RepeatedStratifiedKFold`` (they always shuffle). Also a bare
    name the file does not define itself, and names bound once (``shuffle=do_shuffle`` after ``do_shuffle =
    True``; ``split = train_test_split``). A ``shuffle`` whose value is not known statically, or ``**kwargs``
    that may carry it, is not flagged. Rows of a linted strategy or research file are taken to be time-ordered.
    K-fold without shuffling is PIT009's.

    Why is this bad:
    ``train_test_split`` shuffles by default. On time-ordered rows that puts random later bars in the training
    set and earlier ones in the test set: the model is fitted on the future of the very rows it is scored on,
    and neighbouring bars (which share most of a rolling feature's window or a forward label's horizon) leak
    their answers across the split. The test score says little about live trading.

    Example:
    ```python
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
    scores = cross_val_score(model, X, y, cv=KFold(5, shuffle=True))
    ```

    Use instead:
    ```python
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, shuffle=False)  # the last 20%
    # or walk forward, purged on arrival times:
    # splits = ml4t.validate.walk_forward(frame, train=500, test=100, purge=horizon)
    ```
    """

    code = "PIT007"
    name = "unshuffled-split-missing"

    def check(self, module: Module) -> Iterator[Finding]:
        for node in module.walk():
            if not isinstance(node, ast.Call):
                continue
            name = sklearn_name(module, node, _SHUFFLED | _REPEATED | _SHUFFLE_OPTION | {"train_test_split"})
            if name is None or (name != "train_test_split" and name in _SHUFFLE_OPTION and not node.keywords):
                continue
            if any(kw.arg is None for kw in node.keywords):
                continue  # **kwargs may set shuffle
            given = next((kw.value for kw in node.keywords if kw.arg == "shuffle"), None)
            shuffle = module.constant(given) if given is not None else ...
            if name == "train_test_split":
                if given is None:
                    why = "shuffles the rows by default"
                elif shuffle is True:
                    why = f"with shuffle={ast.unparse(given)} shuffles the rows"
                else:
                    continue
                yield self.finding(
                    module,
                    node.func,
                    f"train_test_split() {why}: later bars land in the training set and leak the future into the "
                    "test score (pass shuffle=False or use TimeSeriesSplit)",
                )
                continue
            if name in _SHUFFLE_OPTION:
                if shuffle is not True:
                    continue
                why = f"{name}(shuffle={ast.unparse(given)}) deals rows to folds at random"  # type: ignore[arg-type]
            elif name in _REPEATED:
                why = f"{name}() reshuffles the rows into folds on every repetition"
            else:
                why = f"{name}() draws random rows for each split"
            yield self.finding(
                module,
                node.func,
                f"{why}: later bars land in the training set and neighbouring bars leak their labels across the "
                "split (use ml4t.validate.walk_forward / cpcv, or TimeSeriesSplit)",
            )
