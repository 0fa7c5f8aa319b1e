# Stub of the Rust extension `ml4t._core` (core/src/python/). Checked against the built module by
# `python -m mypy.stubtest ml4t._core` in `make lint`.
from typing import Any, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "KERNEL_KEYS",
    "EventEngine",
    "PitIndex",
    "Progress",
    "SignalPrograms",
    "SignalSimulator",
    "__version__",
    "cscv_logits",
    "dense_positions",
    "exposure",
    "exposure_means",
    "fraction_of_equity",
    "return_statistics",
    "round_trips",
]

__version__: str
KERNEL_KEYS: list[str]

def cscv_logits(
    count: npt.NDArray[np.float64],
    s1: npt.NDArray[np.float64],
    s2: npt.NDArray[np.float64],
    mean: npt.NDArray[np.float64],
    metric: str,
) -> npt.NDArray[np.float64]: ...
def exposure(
    qty: npt.NDArray[np.float64],
    value: npt.NDArray[np.float64],
    n_symbols: int,
    equity: npt.NDArray[np.float64],
) -> tuple[list[npt.NDArray[np.float64]], list[npt.NDArray[np.int64]], npt.NDArray[np.int64]]: ...
def exposure_means(
    qty: npt.NDArray[np.float64],
    value: npt.NDArray[np.float64],
    n_symbols: int,
    equity: npt.NDArray[np.float64],
) -> dict[str, float]: ...
def fraction_of_equity(
    value: npt.NDArray[np.float64], equity: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]: ...
def return_statistics(
    equity: npt.NDArray[np.float64], init_cash: float, excess: float, level: float
) -> dict[str, float]: ...
def round_trips(
    symbol: npt.NDArray[np.uint32],
    ts: npt.NDArray[np.int64],
    buy: npt.NDArray[np.bool_],
    quantity: npt.NDArray[np.float64],
    price: npt.NDArray[np.float64],
    fee: npt.NDArray[np.float64],
    marks: npt.NDArray[np.float64],
    multipliers: npt.NDArray[np.float64],
    splits: list[list[tuple[int, float]]],
) -> dict[str, npt.NDArray[Any]]: ...
def dense_positions(
    bar_end: npt.NDArray[np.int64],
    row: npt.NDArray[np.int64],
    symbol: npt.NDArray[np.int64],
    quantity: npt.NDArray[np.float64],
    n_symbols: int,
    bar_symbol: npt.NDArray[np.int64],
    bar_close: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...

@final
class PitIndex:
    """The point-in-time visibility rule over many symbols (one sorted arrival group per symbol)."""

    def __new__(cls, ts_arrival: npt.NDArray[np.int64], offsets: npt.NDArray[np.int64]) -> PitIndex: ...
    def __len__(self) -> int: ...
    def count(self, group: int, now: int) -> int: ...
    def counts(self, now: int) -> npt.NDArray[np.int64]: ...

@final
class Progress:
    """A sweep's counter: combinations done, and a cancel flag the kernel checks once per combination (a
    cancelled sweep raises KeyboardInterrupt)."""

    def __new__(cls) -> Progress: ...
    @property
    def done(self) -> int: ...
    @property
    def cancelled(self) -> bool: ...
    def cancel(self) -> None: ...

_F64 = npt.NDArray[np.float64]
_BOOL = npt.NDArray[np.bool_]
_Prices = tuple[_F64, _F64, _F64, _F64]
"""open, high, low, close: (n_symbols, n_bars)."""
_SignalArrays = tuple[_BOOL, _BOOL, _BOOL, _BOOL, _F64, _F64, _F64, _F64, _BOOL, _F64]
"""entries, exits, short_entries, short_exits, size, sl_stop, tp_stop, weights, rebalance, leverage (the kernel's
KEYS order): (n_cols, n_bars); absent = (0, 0)."""

@final
class SignalSimulator:
    """The vectorized kernel with its settings lowered once (see core/src/python/vectorized.rs)."""

    def __new__(
        cls,
        *,
        execution: str,
        size: float,
        size_type: str,
        commission: list[tuple[str, list[float]]],
        slippage: tuple[str, list[float]],
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
        order: str,
        lot_size: float | None,
        leverage: float | None,
    ) -> SignalSimulator: ...
    def sweep(
        self,
        prices: _Prices,
        signals: _SignalArrays,
        cash_sharing: bool,
        n_blocks: int,
        progress: Progress | None = None,
        threads: int = 0,
    ) -> dict[str, Any]: ...
    def sweep_programs(
        self,
        prices: _Prices,
        programs: SignalPrograms,
        leaf_values: npt.NDArray[np.float64],
        leaf_valid: npt.NDArray[np.bool_],
        cash_sharing: bool,
        bounds: list[tuple[float, float, bool, bool]],
        n_blocks: int,
        progress: Progress | None = None,
        threads: int = 0,
    ) -> dict[str, Any]: ...
    def run(
        self,
        prices: _Prices,
        signals: _SignalArrays,
        cash_sharing: bool,
        ts: npt.NDArray[np.int64],
        symbol: int | None = None,
    ) -> dict[str, Any]:
        """The run's records (``crate::records``), as ``EventEngine.results()``."""

@final
class SignalPrograms:
    """Compiled elementwise tops of a chunk's signal expressions over deduplicated Polars leaves."""

    def __new__(cls, struct_json: str, slots: list[tuple[int, int]], n_combos: int) -> SignalPrograms: ...
    def leaves(self) -> list[str]: ...
    def __len__(self) -> int: ...
    def result_types(self, leaf_dtypes: list[str]) -> list[list[bool | None]]: ...
    def evaluate(
        self, combo: int, key: int, leaf_values: npt.NDArray[np.float64], leaf_valid: npt.NDArray[np.bool_]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]: ...

_Step = tuple[int, int, int, int, int, int, int, list[int]]
_FillRow = tuple[int, int, int, bool, float, float, float, float]

@final
class EventEngine:
    """The event-driven engine over one bar stream (rows ordered by arrival, then symbol), given whole or,
    from ``EventEngine.incremental``, appended as it arrives (``append_bars``, ``append_signals``, ``advance``,
    ``end``)."""

    def __new__(
        cls,
        *,
        ts_event: npt.NDArray[np.int64],
        ts_arrival: npt.NDArray[np.int64],
        ts_start: npt.NDArray[np.int64],
        symbol: npt.NDArray[np.int64],
        open: npt.NDArray[np.float64],
        high: npt.NDArray[np.float64],
        low: npt.NDArray[np.float64],
        close: npt.NDArray[np.float64],
        volume: npt.NDArray[np.float64],
        session: npt.NDArray[np.int32],
        split: npt.NDArray[np.float64] | None,
        dividend: npt.NDArray[np.float64] | None,
        signal_arrivals: npt.NDArray[np.int64],
        multipliers: npt.NDArray[np.float64],
        init_cash: float,
        leverage: float | None,
        maintenance_margin: float | None,
        execution: str,
        order_latency: int,
        participation: float | None,
        both_touched: str,
        commission: list[tuple[str, list[float]]],
        slippage: tuple[str, list[float]],
        wake: tuple[bool, bool, bool, bool],
    ) -> EventEngine: ...
    @staticmethod
    def incremental(
        *,
        multipliers: npt.NDArray[np.float64],
        init_cash: float,
        leverage: float | None,
        maintenance_margin: float | None,
        execution: str,
        order_latency: int,
        participation: float | None,
        both_touched: str,
        commission: list[tuple[str, list[float]]],
        slippage: tuple[str, list[float]],
        wake: tuple[bool, bool, bool, bool],
        external: bool = False,
    ) -> EventEngine: ...
    def append_bars(
        self,
        *,
        ts_event: npt.NDArray[np.int64],
        ts_arrival: npt.NDArray[np.int64],
        ts_start: npt.NDArray[np.int64],
        symbol: npt.NDArray[np.int64],
        open: npt.NDArray[np.float64],
        high: npt.NDArray[np.float64],
        low: npt.NDArray[np.float64],
        close: npt.NDArray[np.float64],
        volume: npt.NDArray[np.float64],
        session: npt.NDArray[np.int32],
        split: npt.NDArray[np.float64] | None = None,
        dividend: npt.NDArray[np.float64] | None = None,
    ) -> None: ...
    def append_signals(self, ts_arrival: npt.NDArray[np.int64]) -> None: ...
    def advance(self, watermark: int) -> None: ...
    def end(self) -> None: ...
    @property
    def waiting(self) -> bool: ...
    @property
    def finished(self) -> bool: ...
    @property
    def watermark(self) -> int: ...
    @property
    def external(self) -> bool: ...
    def promote(
        self,
        simulator: SignalSimulator,
        prices: tuple[npt.NDArray[np.float64], ...],
        signals: tuple[npt.NDArray[Any], ...],
        bar_of_row: npt.NDArray[np.int64],
    ) -> None: ...
    def step(self) -> _Step | None: ...
    def finish(self) -> None: ...
    @property
    def now(self) -> int: ...
    @property
    def cash(self) -> float: ...
    @property
    def free_cash(self) -> float: ...
    @property
    def equity(self) -> float: ...
    def position(self, symbol: int) -> float: ...
    def positions(self) -> npt.NDArray[np.float64]: ...
    def mark(self, symbol: int) -> float: ...
    def pending_market(self, symbol: int) -> float: ...
    def submit(
        self,
        symbol: int,
        buy: bool,
        quantity: float,
        kind: str,
        tif: str,
        limit: float = ...,
        stop: float = ...,
        trail_amount: float = ...,
        trail_percent: float = ...,
        oco: int | None = None,
        parent: int | None = None,
        refuse: str | None = None,
    ) -> int: ...
    def apply_fill(self, order_id: int, quantity: float, price: float, fee: float = 0.0) -> str | None: ...
    def close_order(self, order_id: int, status: str, reason: str) -> None: ...
    def cancel(self, order_id: int) -> bool: ...
    def schedule(self, ts: int, every: int | None = None) -> int: ...
    def cancel_timer(self, timer_id: int) -> bool: ...
    def order_state(self, order_id: int) -> tuple[str, float, float, float] | None: ...
    def open_orders(self, symbol: int | None = None) -> list[int]: ...
    def fills(self, lo: int, hi: int) -> list[_FillRow]: ...
    def results(self) -> dict[str, Any]: ...
