"""PIT009: K-fold cross-validation of time-ordered rows without purging: each model trains on its test fold's
future."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ml4t.lint._core import Finding, Module, Rule
from ml4t.lint.rules import register
from ml4t.lint.rules.pit007_unshuffled_split_missing import sklearn_name

_KFOLDS = frozenset({"KFold", "StratifiedKFold", "GroupKFold", "StratifiedGroupKFold", "LeaveOneOut", "LeavePOut"})
"""Splitters whose test fold sits anywhere in the sample, with training rows on both sides."""
_CV_USERS = frozenset(
    {
        "cross_val_score", "cross_validate", "cross_val_predict", "permutation_test_score", "learning_curve",
        "validation_curve", "GridSearchCV", "RandomizedSearchCV", "HalvingGridSearchCV", "HalvingRandomSearchCV",
    }
)  # fmt: skip
"""Functions and searches taking ``cv=``, whose default (or an integer) is a K-fold without shuffling."""


@register
class UnpurgedKFold(Rule):
    """What it does:
    Flags K-fold cross-validation of time-ordered rows: the splitters ``KFold``, ``StratifiedKFold``,
    ``GroupKFold``, ``StratifiedGroupKFold``, ``LeaveOneOut``, ``LeavePOut`` built without shuffling (shuffled
    ones are PIT007's), and ``cross_val_score`` / ``cross_validate`` / ``cross_val_predict`` /
    ``GridSearchCV`` / ``RandomizedSearchCV`` / ``permutation_test_score`` / ``learning_curve`` /
    ``validation_curve`` called without ``cv=`` or with an integer ``cv`` (scikit-learn then uses an unshuffled
    ``KFold`` or ``StratifiedKFold``). Names bound once are read through (``folds = 5``; ``cv=folds``). A ``cv``
    given as a splitter object is not flagged at the call (the splitter is flagged where it is built, if it
    is one of these), nor is a ``cv`` whose value is not known statically or ``**kwargs``. Rows of a linted
    strategy or research file are taken to be time-ordered.

    Why is this bad:
    A K-fold test fold sits in the middle of the sample with training rows on both sides. Without purging,
    the training rows just before the fold carry labels that look into it (a 5-day forward return overlaps
    the fold's first 5 days) and those just after it share its features' windows, so the model has seen the
    answers it is scored on; and every fold but the last is scored by a model fitted on its own future.
    Cross-validated scores come out far better than anything live trading can reach.

    Example:
    ```python
    scores = cross_val_score(model, X, y, cv=5)
    folds = KFold(n_splits=5)
    ```

    Use instead:
    ```python
    splits = ml4t.validate.cpcv(frame, n_groups=6, n_test_groups=2, purge=horizon, embargo="1d")
    scores = cross_val_score(model, X, y, cv=list(splits))      # purged on arrival times
    # or train only on the past: ml4t.validate.walk_forward(...) or TimeSeriesSplit(n_splits=5, gap=horizon)
    ```
    """

    code = "PIT009"
    name = "unpurged-kfold"

    def check(self, module: Module) -> Iterator[Finding]:
        for node in module.walk():
            if not isinstance(node, ast.Call) or any(kw.arg is None for kw in node.keywords):
                continue
            name = sklearn_name(module, node, _KFOLDS | _CV_USERS)
            if name in _KFOLDS:
                given = next((kw.value for kw in node.keywords if kw.arg == "shuffle"), None)
                if given is not None and module.constant(given) is not False:
                    continue  # shuffle=True is PIT007's; an unknown shuffle is not flagged
                yield self.finding(
                    module,
                    node.func,
                    f"{name}() tests folds with training rows on both sides: each model is fitted on its test "
                    "fold's future, and unpurged neighbours leak their labels into it (use ml4t.validate.cpcv "
                    "with purge= and embargo=, or walk_forward)",
                )
            elif name in _CV_USERS:
                given = next((kw.value for kw in node.keywords if kw.arg == "cv"), None)
                value = module.constant(given) if given is not None else None
                if value is not None and type(value) is not int:
                    continue  # a splitter, a list of splits, or unknown
                folds = "its default 5-fold" if value is None else f"cv={ast.unparse(given)}"  # type: ignore[arg-type]
                yield self.finding(
                    module,
                    node.func,
                    f"{name}() with {folds} cross-validates with an unshuffled, unpurged K-fold: each model is "
                    "fitted on its test fold's future (pass cv= splits from ml4t.validate.cpcv or walk_forward, "
                    "or TimeSeriesSplit)",
                )
