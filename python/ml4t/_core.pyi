# Stub of the Rust extension `ml4t._core` (core/src/python/). Checked against the built module by
# `python -m mypy.stubtest ml4t._core` in `make lint`.
from typing import Any, final

import numpy as np
import numpy.typing as npt

__all__ = ["PitIndex", "SignalPrograms", "SignalSimulator", "__version__", "reject_reason"]

__version__: str

@final
class PitIndex:
    """The point-in-time visibility rule over many symbols (one sorted arrival group per symbol)."""

    def __new__(cls, ts_arrival: npt.NDArray[np.int64], offsets: npt.NDArray[np.int64]) -> PitIndex: ...
    def __len__(self) -> int: ...
    def count(self, group: int, now: int) -> int: ...
    def counts(self, now: int) -> npt.NDArray[np.int64]: ...

_F64 = npt.NDArray[np.float64]
_BOOL = npt.NDArray[np.bool_]
_Prices = tuple[_F64, _F64, _F64, _F64]
"""open, high, low, close: (n_symbols, n_bars)."""
_SignalArrays = tuple[_BOOL, _BOOL, _BOOL, _BOOL, _F64, _F64, _F64]
"""entries, exits, short_entries, short_exits, size, sl_stop, tp_stop: (n_cols, n_bars); absent = (0, 0)."""

@final
class SignalSimulator:
    """The vectorized kernel with its settings lowered once (see core/src/python/vectorized.rs)."""

    def __new__(
        cls,
        *,
        execution: str,
        size: float,
        size_type: str,
        fees: float,
        fixed_fees: float,
        slippage: float,
        min_size: float,
        init_cash: float,
        long_conflict: str,
        short_conflict: str,
        direction_conflict: str,
        opposite_entry: str,
        accumulate: bool,
        sl_stop: float,
        tp_stop: float,
        sl_trail: bool,
        stop_entry_price: str,
    ) -> SignalSimulator: ...
    def sweep(self, prices: _Prices, signals: _SignalArrays, cash_sharing: bool) -> dict[str, Any]: ...
    def sweep_programs(
        self,
        prices: _Prices,
        programs: SignalPrograms,
        leaf_values: npt.NDArray[np.float64],
        leaf_valid: npt.NDArray[np.bool_],
        cash_sharing: bool,
    ) -> dict[str, Any]: ...
    def run(self, prices: _Prices, signals: _SignalArrays, cash_sharing: bool) -> dict[str, Any]: ...

def reject_reason(code: int) -> str: ...

@final
class SignalPrograms:
    """Compiled elementwise tops of a chunk's signal expressions over deduplicated Polars leaves."""

    def __new__(cls, struct_json: str, slots: list[tuple[int, int]], n_combos: int) -> SignalPrograms: ...
    def leaves(self) -> list[str]: ...
    def __len__(self) -> int: ...
    def result_types(self, leaf_is_bool: list[bool]) -> list[list[bool | None]]: ...
    def evaluate(
        self, combo: int, key: int, leaf_values: npt.NDArray[np.float64], leaf_valid: npt.NDArray[np.bool_]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]: ...
