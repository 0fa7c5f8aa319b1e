# Stub of the Rust extension `ml4t._core` (core/src/python/). Checked against the built module by
# `python -m mypy.stubtest ml4t._core` in `make lint`.
from typing import final

import numpy as np
import numpy.typing as npt

__all__ = ["PitIndex", "__version__"]

__version__: str

@final
class PitIndex:
    """The point-in-time visibility rule over many symbols (one sorted arrival group per symbol)."""

    def __new__(cls, ts_arrival: npt.NDArray[np.int64], offsets: npt.NDArray[np.int64]) -> PitIndex: ...
    def __len__(self) -> int: ...
    def count(self, group: int, now: int) -> int: ...
    def counts(self, now: int) -> npt.NDArray[np.int64]: ...
