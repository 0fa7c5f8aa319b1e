"""Tier 1: ``VectorizedStrategy``, parameter grids and sweeps on Polars expressions.

Not implemented yet (issue #3). Nothing is exported until it works.
"""

__all__: list[str] = []
