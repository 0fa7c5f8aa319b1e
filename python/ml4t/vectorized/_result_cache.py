"""The sweep's results level of the cache (issue #16): what the kernel computed for blocks of combinations.

A sweep's combinations are cut into fixed blocks of :data:`BLOCK` combinations in grid order (the last one
shorter), whatever the memory plan's chunks are. Each block is one entry of the ``"results"`` level: the
kernel's per-row statistics of its combinations (the moments, the drawdown, trade counts, CSCV's block sums:
everything the sweep's metrics and ``Sweep.overfitting`` are made from), stored as they came from the kernel
(bit for bit). Before simulating, the sweep looks every block up and simulates only the missing ones, in the
chunks its memory plan allows; a block is stored as soon as its last combination is simulated, so a sweep that
was interrupted (Ctrl-C, a killed process) resumes from the blocks it finished. The metrics are rebuilt from
the statistics exactly as an uncached sweep builds them, so a cached sweep equals an uncached one byte for byte.

A block's key (:func:`ml4t.cache.key_of`) holds the sweep's key and the block's combinations, in order. The
sweep's key holds what decides every combination's result:

- the signal function by :func:`ml4t.cache.function_key` (its bytecode, constants, the values of the globals it
  reads, the functions it calls, followed): a renamed helper or a changed comment still hits, a changed window
  or rule misses. A function that cannot be keyed soundly makes the level off for that sweep, with the reason;
- the data: the bars' fingerprint (every column, ``ts_arrival`` included, the universe and ``freq``);
- every setting (fees, sizing, stops, costs, execution...), the grid's parameter names and column types, the
  periods per year and the number of CSCV blocks;
- ml4t's and Polars' versions.

Why a miss missed: the sweep's description is kept in one slot per strategy (:func:`ml4t.cache.slot_key`); the
first missing block is explained against it (``"data changed: 1 row of ALFA from 2024-05-01"``, ``"expression
changed: strategy"``, ``"parameters changed: fees 0.001 -> 0.002"``), and a block of an unchanged sweep that is
simply new (a grid extended) is ``"new combinations"``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec
import numpy as np
import polars as pl

from ml4t.cache import (
    CacheReport,
    Entry,
    Key,
    Store,
    Uncacheable,
    block_hashes,
    function_key,
    key_of,
    slot_key,
)
from ml4t.cache._reasons import explain_in_slot, remember, span
from ml4t.data import Bars

__all__ = ["BLOCK", "SweepLevel", "sweep_level"]

BLOCK = 256
"""Combinations per results entry: small enough that an interrupted sweep loses little, large enough that a
warm sweep of 100,000 combinations reads ~400 files."""


class SweepLevel:
    """One level of a sweep's cache whose entries are keyed by the sweep's key and a list of combinations:
    ``"results"`` (the kernel's statistics of a block) or ``"signals"`` (the signal arrays of a plain-path chunk).
    The sweep's key: the signal function's code, the bars' fingerprint, ``params`` (what else decides the
    entries) and the versions. Counts hits and misses (each with why) for the sweep's report."""

    def __init__(
        self,
        store: Store,
        level: str,
        strategy: str,
        fn: Callable[..., Any],
        bars: Bars,
        params: Mapping[str, Any],
    ) -> None:
        self.store = store
        self.level = level
        self.strategy = strategy
        self.hits = self.misses = 0
        self.reasons: list[str] = []
        self.uncached: list[str] = []
        self._bars = bars
        self.names = [str(name) for name in params.get("grid names", ())]
        code = function_key(fn)
        key = key_of(level, data={"bars": bars.fingerprint()}, expressions={"strategy": code}, params=params)
        if isinstance(key, Uncacheable):
            self.uncached.append(f"the {level} are not cached: {key.reason}")
        else:
            remember(bars.fingerprint(), bars)  # a later sweep of changed bars counts the changed rows
        self.key = key
        self._explained = False

    def report(self) -> CacheReport:
        """What this level did: entries read (hits), computed and stored (misses, with why), and why not, when
        the strategy cannot be keyed."""
        return CacheReport(self.hits, self.misses, len(self.uncached), tuple(self.reasons), tuple(self.uncached))

    @property
    def active(self) -> bool:
        return isinstance(self.key, Key)

    def _entry_key(self, combos: Sequence[tuple[Any, ...]]) -> str:
        assert isinstance(self.key, Key)
        found = key_of(self.level, data={"sweep": self.key.hex}, params={"combinations": [list(c) for c in combos]})
        assert isinstance(found, Key)  # the values of a grid are numbers, booleans and text
        return found.hex

    def get(self, combos: Sequence[tuple[Any, ...]]) -> Entry | None:
        """The entry of ``combos`` (counted as a hit), or None."""
        entry = self.store.get(self.level, self._entry_key(combos)) if self.active else None
        if entry is not None:
            self.hits += 1
        return entry

    def put(self, combos: Sequence[tuple[Any, ...]], frame: pl.DataFrame, describe: dict[str, Any]) -> None:
        """Store ``frame`` as the entry of ``combos`` (a miss, explained)."""
        key = self.key
        if not isinstance(key, Key):
            return
        self.misses += 1
        self._explain()
        first = ", ".join(f"{name}={value!r}" for name, value in zip(self.names, combos[0], strict=True))
        what = f"{self.strategy}: {self.level} of {len(combos)} combinations from {first}"
        self.store.put(
            self.level, self._entry_key(combos), frame, describe={"sweep": key.hex, "what": what, **describe}
        )

    def _explain(self) -> None:
        """The first miss of this sweep: why (the slot's previous description against this one); the next ones
        of the same sweep have the same reason. The slot then holds this sweep's description."""
        assert isinstance(self.key, Key)
        if self._explained:
            self.reasons.append(self.reasons[-1])
            return
        self._explained = True
        bars = self._bars
        current = {"key": self.key.hex, "parts": dict(self.key.parts), "blocks": block_hashes(bars)}
        slot = slot_key(self.level, self.strategy, span(bars))
        what = f"{self.strategy}: the last sweep's description (explains the next miss)"
        reason = explain_in_slot(self.store, self.level, slot, current, bars, what=what, same_key="new combinations")
        self.reasons.append(reason)


_SETTINGS_READ = {"results": None, "signals": ("scope", "rebalance")}
"""The settings each level's entries depend on (None: every one). The signal arrays depend only on the scope and
the rebalance rule, so a sweep rerun with other fees or stops reads them."""


def sweep_level(
    store: Store,
    level: str,
    strategy: str,
    fn: Callable[..., Any],
    settings: msgspec.Struct,
    bars: Bars,
    grid: Mapping[str, Any],
) -> SweepLevel:
    """The ``"results"`` or ``"signals"`` level of a sweep: keyed by the code, the data, the settings the level
    depends on (:data:`_SETTINGS_READ`) and ``grid`` (the grid's names and types; for results also the periods
    per year and the number of CSCV blocks)."""
    names = _SETTINGS_READ[level] or settings.__struct_fields__
    params = {name: _plain(getattr(settings, name)) for name in names}
    return SweepLevel(store, level, strategy, fn, bars, {**params, **grid})


def lookup_blocks(
    level: SweepLevel, cut: Sequence[tuple[int, int]], combos: Sequence[tuple[Any, ...]]
) -> list[Stats | None]:
    """Per block ``(start, end)`` of the grid's ``combos``: its kernel statistics from the store, or None."""
    out: list[Stats | None] = []
    for start, end in cut:
        entry = level.get(combos[start:end])
        out.append(None if entry is None else _stats(entry.frame))
    return out


def store_block(level: SweepLevel, combos: Sequence[tuple[Any, ...]], stats: Stats) -> None:
    """Store the kernel statistics of one simulated block of ``combos``."""
    level.put(combos, _frame(stats), {"n": len(combos)})


def get_signals(level: SweepLevel, combos: Sequence[tuple[Any, ...]]) -> dict[str, np.ndarray] | None:
    """The signal arrays of a chunk of ``combos`` (``key -> (len(combos) * n_symbols, n_bars)``), or None."""
    entry = level.get(combos)
    if entry is None:
        return None
    shape = tuple(entry.describe["shape"])
    return {name: entry.frame[name].to_numpy().reshape(shape) for name in entry.frame.columns}


def put_signals(level: SweepLevel, combos: Sequence[tuple[Any, ...]], signals: Mapping[str, np.ndarray]) -> None:
    """Store the signal arrays of a chunk of ``combos`` (one flat column per key, the shape described)."""
    if not signals:
        return
    shape = next(iter(signals.values())).shape
    frame = pl.DataFrame([pl.Series(name, value.reshape(-1)) for name, value in signals.items()])
    level.put(combos, frame, {"shape": list(shape)})


Stats = dict[str, np.ndarray]
"""The kernel's statistics of a sweep's rows (``count``, ``mean``, ..., ``block_s2``: 1-D per row, or
``rows x n_blocks``), as ``sweep_programs`` / ``sweep`` return them."""


def blocks(n: int) -> list[tuple[int, int]]:
    """The blocks ``(start, end)`` of a grid of ``n`` combinations."""
    return [(start, min(start + BLOCK, n)) for start in range(0, n, BLOCK)]


def split(stats: Stats, rows: int, start: int, end: int) -> Stats:
    """The statistics of combinations ``start:end`` of a chunk's ``stats`` (``rows`` rows per combination,
    positions relative to the chunk's first combination)."""
    return {name: value[start * rows : end * rows] for name, value in stats.items()}


def concat(parts: Sequence[Stats]) -> Stats:
    """The statistics of consecutive parts, in order."""
    if len(parts) == 1:
        return parts[0]
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def _frame(stats: Stats) -> pl.DataFrame:
    """``stats`` as a frame of flat columns: a ``rows x n_blocks`` array is columns ``name[0]``, ``name[1]``...
    (flat numeric columns are stored, read and checked fastest)."""
    columns = []
    for name, value in stats.items():
        if value.ndim == 1:
            columns.append(pl.Series(name, value))
        else:
            columns += [pl.Series(f"{name}[{j}]", value[:, j]) for j in range(value.shape[1])]
    return pl.DataFrame(columns)


def _stats(frame: pl.DataFrame) -> Stats:
    """The statistics stored by :func:`_frame`, arrays as the kernel gave them (columns regrouped in order)."""
    groups: dict[str, list[np.ndarray]] = {}
    flat: set[str] = set()
    for name in frame.columns:
        base, bracket, _ = name.partition("[")
        groups.setdefault(base, []).append(frame[name].to_numpy())
        if not bracket:
            flat.add(base)
    return {name: cols[0] if name in flat else np.column_stack(cols) for name, cols in groups.items()}


def _plain(value: Any) -> Any:
    """A setting's value for a key: itself when JSON holds it exactly, else its repr (a cost model's repr names
    its class and every field; a float's repr is exact)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return repr(value) if not np.isfinite(value) else value
    return repr(value)
