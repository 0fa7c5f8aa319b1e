"""``ml4t.config``: declarative studies.

- The safe expression language that a config's rules and features are written in (:func:`compile_expr`,
  :data:`FUNCTIONS`): a whitelisted subset of Python syntax compiled to Polars expressions, never evaluated as
  Python, and unable to read the future. Its functions are time-series, cross-sectional or elementwise;
  ``compile_expr(..., scope="symbol" | "panel")`` gives them the windows of the strategy's scope (per symbol,
  per timestamp) and refuses cross-sections in the symbol scope.
- The schema (:class:`Config` and its sections, :func:`json_schema`) and the loader (:func:`load`,
  :func:`loads`): TOML or YAML, overridden by ``ML4T__SECTION__KEY`` environment variables and ``--set``
  assignments, every problem reported at once with its file, line and key path (:class:`ConfigFileError`).
- The study runner (:class:`Study`: ``check()``, ``run()`` into a reproducible run folder, an :class:`Outcome`)
  and :func:`reproduce` (a run folder rerun and compared output by output: a :class:`Reproduction`).
"""

from ml4t.config._expr import FUNCTIONS, compile_expr
from ml4t.config._load import ConfigFileError, Loaded, Problem, load, loads
from ml4t.config._run_folder import Outcome, Reproduction
from ml4t.config._schema import Config, json_schema
from ml4t.config._study import Rules, Study, reproduce

__all__ = [
    "FUNCTIONS",
    "Config",
    "ConfigFileError",
    "Loaded",
    "Outcome",
    "Problem",
    "Reproduction",
    "Rules",
    "Study",
    "compile_expr",
    "json_schema",
    "load",
    "loads",
    "reproduce",
]
