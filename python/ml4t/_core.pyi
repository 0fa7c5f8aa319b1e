# Stub of the Rust extension `ml4t._core` (core/src/python/). Checked against the built module by
# `python -m mypy.stubtest ml4t._core` in `make lint`.
import numpy as np
import numpy.typing as npt

__all__ = ["__version__", "visible_counts"]

__version__: str

def visible_counts(
    ts_arrival: npt.NDArray[np.int64], offsets: npt.NDArray[np.int64], now: int
) -> npt.NDArray[np.int64]: ...
