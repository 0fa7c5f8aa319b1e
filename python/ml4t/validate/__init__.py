"""``ml4t.validate``: model validation without leakage, on arrival times.

Splitters give train/test row indices (:class:`Split`) over a dataset whose rows carry ``ts_event`` and
``ts_arrival``; a training row whose label's information had not arrived before a test block starts is purged,
and an embargo follows every test block.

- :func:`walk_forward` (rolling or expanding) and :func:`cpcv` (combinatorial purged cross-validation, with its
  backtest paths) return :class:`Splits` / :class:`CPCV`: sequences of :class:`Split` that scikit-learn takes
  as ``cv=``;
- :func:`forward_returns` builds the label frame (the return over a horizon, and the ``label_end`` that
  ``purge="label_end"`` reads);
- :func:`fit_predict` fits a model on each forward split and returns its predictions as point-in-time signals
  stamped with their arrival and their model's training cut-off;
- :func:`walk_forward_sweep` re-optimises a vectorized strategy on each training window and reports the
  chosen parameters' out-of-sample record per fold and stitched (:class:`WalkForwardResult`).
"""

from ml4t.validate._labels import forward_returns
from ml4t.validate._model import fit_predict
from ml4t.validate._splits import cpcv, walk_forward
from ml4t.validate._splitset import CPCV, Splits
from ml4t.validate._types import Split
from ml4t.validate._walk import WalkForwardResult, walk_forward_sweep

__all__ = [
    "CPCV",
    "Split",
    "Splits",
    "WalkForwardResult",
    "cpcv",
    "fit_predict",
    "forward_returns",
    "walk_forward",
    "walk_forward_sweep",
]
