"""Tier 1: ``VectorizedStrategy``, parameter grids and sweeps on Polars expressions.

Signals are Polars expressions; a parameter grid is evaluated in lazy Polars queries and a compiled Rust
kernel (``core/src/vectorized``) simulates every combination in parallel with the GIL released. Fills and
accounting are the shared ledger's (``core/src/portfolio``); semantics follow vectorbt's ``from_signals``.
"""

from ml4t.vectorized._promote import Promoted, promote
from ml4t.vectorized._strategy import VectorizedStrategy
from ml4t.vectorized._sweep import Sweep

__all__ = ["Promoted", "Sweep", "VectorizedStrategy", "promote"]
