"""ml4t: a dual-mode backtesting toolkit for machine-learning quant research.

Tier 1, ``ml4t.vectorized``: signals as Polars expressions, whole parameter grids in one call.
Tier 2, ``ml4t.event``: a ``Strategy`` class on a Rust event loop and matching engine.
Both share the point-in-time data layer ``ml4t.data``, the ``Result`` shape and ``ml4t.metrics``.
``ml4t.settings`` declares every setting of both modes once; ``ml4t.promote`` (package ``ml4t.promotion``,
above both modes) turns a Tier-1 idea into a Tier-2 run, ``ml4t.compare`` reports the gap between them,
``ml4t.audit.lookahead`` proves a strategy did not use the future and ``ml4t.lint`` reads its source for
look-ahead and performance pitfalls; ``ml4t.validate`` splits data for model validation on arrival times
(walk-forward, purged combinatorial CV) and fits models without leakage.
"""

from ml4t import audit, data, datasets, lint, metrics, settings, validate
from ml4t._executor import spawn_pool
from ml4t._run_many import run_many
from ml4t.compare import Comparison, compare
from ml4t.errors import BrokerError, ConfigError, DataError, FeedError, LeakageError, LintError, Ml4tError, OrderError
from ml4t.promotion import promote
from ml4t.result import Result

__version__ = "0.1.0"

_LAZY = ("cache", "config", "live")
"""Packages ``ml4t.<name>`` reaches on first use (``ml4t.config.Study``), not imported by ``import ml4t``."""


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return importlib.import_module(f"ml4t.{name}")
    raise AttributeError(f"module 'ml4t' has no attribute {name!r}")


__all__ = [
    "BrokerError",
    "Comparison",
    "ConfigError",
    "DataError",
    "FeedError",
    "LeakageError",
    "LintError",
    "Ml4tError",
    "OrderError",
    "Result",
    "__version__",
    "audit",
    "cache",
    "compare",
    "config",
    "data",
    "datasets",
    "lint",
    "live",
    "metrics",
    "promote",
    "run_many",
    "settings",
    "spawn_pool",
    "validate",
]
