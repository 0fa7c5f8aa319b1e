"""``ml4t.config``: declarative studies.

- The safe expression language that a config's rules and features are written in (:func:`compile_expr`,
  :data:`FUNCTIONS`): a whitelisted subset of Python syntax compiled to Polars expressions, never evaluated as
  Python, and unable to read the future. Its functions are time-series, cross-sectional or elementwise;
  ``compile_expr(..., scope="symbol" | "panel")`` gives them the windows of the strategy's scope (per symbol,
  per timestamp) and refuses cross-sections in the symbol scope.
- The schema (:class:`Config` and its sections, :func:`json_schema`) and the loader (:func:`load`,
  :func:`loads`): TOML or YAML, overridden by ``ML4T__SECTION__KEY`` environment variables and ``--set``
  assignments, every problem reported at once with its file, line and key path (:class:`ConfigFileError`).
"""

from ml4t.config._expr import FUNCTIONS, compile_expr
from ml4t.config._load import ConfigFileError, Loaded, Problem, load, loads
from ml4t.config._schema import Config, json_schema

__all__ = [
    "FUNCTIONS",
    "Config",
    "ConfigFileError",
    "Loaded",
    "Problem",
    "compile_expr",
    "json_schema",
    "load",
    "loads",
]
