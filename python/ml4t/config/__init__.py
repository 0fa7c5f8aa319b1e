"""``ml4t.config``: declarative studies. So far the safe expression language that a config's entries, exits,
weights and features are written in (:func:`compile_expr`, :data:`FUNCTIONS`): a whitelisted subset of Python
syntax compiled to Polars expressions, never evaluated as Python, and unable to read the future."""

from ml4t.config._expr import FUNCTIONS, compile_expr

__all__ = ["FUNCTIONS", "compile_expr"]
