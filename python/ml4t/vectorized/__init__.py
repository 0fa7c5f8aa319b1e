"""Tier 1: ``VectorizedStrategy``, parameter grids and sweeps on Polars expressions.

Signals are Polars expressions; a parameter grid is evaluated in lazy Polars queries and a compiled Rust
kernel (``core/src/vectorized``) simulates every combination in parallel with the GIL released. Fills and
accounting are the shared ledger's (``core/src/portfolio``); semantics follow vectorbt's ``from_signals``.
A combination runs on the event engine through ``ml4t.promotion`` (``sweep.promote(...)``), which sits above
this package: ``vectorized`` never imports ``event``.
"""

from ml4t.vectorized._strategy import VectorizedStrategy
from ml4t.vectorized._sweep import Sweep

__all__ = ["Sweep", "VectorizedStrategy"]
