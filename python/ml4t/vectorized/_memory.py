"""The memory budget of a sweep: how much a sweep may use, what it will need, and how to chunk it.

A sweep's memory has three parts (measured with ``python -m bench.sweep_memory``: peak resident memory of
fresh processes, least-squares over grids of 10k-160k rows and chunks of 1k-40k combinations; tracemalloc
would miss Polars' and the kernel's allocations):

- what it keeps: per combination its parameters (~225 B measured) and per result row its metrics (~170 B
  measured, including the final concatenation of the chunks' frames) and its return moments and CSCV block
  sums (440 B: 7 + 3 x 16 float64/int64 numbers, for ``Sweep.overfitting``);
- what a chunk holds while it is simulated: per combination its Polars expressions, their serialized plan
  and the compiled programs, about 4x the plan's JSON size plus ~1 KB (3.5-5.5 KB measured for a
  moving-average crossover whose plan is 866 bytes);
- the chunk's signal arrays: the compiled path's distinct leaves (9 bytes per leaf, symbol and bar) or the
  plain path's matrices (per combination, symbol and bar a byte per boolean key and 8 per number key the
  strategy returns: up to 4 booleans and 3 floats in signal mode, ``weights`` / ``leverage`` floats and a
  ``rebalance`` boolean in weights mode; about twice over while Polars hands them to NumPy), bounded by
  their own share of the budget. In ``scope="panel"`` Polars evaluates the whole panel at once instead of
  one symbol at a time, so its result is one more full copy beside the arrays (estimated, not measured: 3
  copies on the plain path, 2 for the leaves);

plus a fixed ~20 MB (measured 18 MB) of query machinery and the price panel. The constants below round the
measurements up. (Re-measured with the sweep's portfolio rows: a joint fit of ``fixed + per_row * rows +
per_chunk * chunk`` gave 18.7 MB, 208 B per row and 3970 B per combination in a chunk, within the constants.
A sweep of 90,000 combinations peaked 53 MB above its start under ``memory_budget="80MB"`` and 197 MB
under ``"400MB"``.)
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Collection
from dataclasses import dataclass

from ml4t._kernel.keys import BOOL_KEYS, SIGNAL_KEYS
from ml4t._validate import is_number
from ml4t.errors import ConfigError

__all__ = [
    "DEFAULT_FRACTION",
    "SweepPlan",
    "available_memory",
    "format_bytes",
    "parse_budget",
    "plain_bytes",
    "plan_sweep",
]

KEPT_PER_COMBINATION = 256
"""Bytes a finished sweep keeps per combination (its parameters); measured ~225."""
KEPT_PER_ROW = 192 + 448
"""Bytes a finished sweep keeps per metrics row (one per combination, or per combination and symbol): its
metrics (measured ~170) and, for ``Sweep.overfitting``, the kernel's moments and CSCV block sums (7 numbers
and 3 per block, 16 blocks: 440 bytes of NumPy arrays, counted rather than measured)."""
CHUNK_PER_COMBINATION = 1024
CHUNK_PER_PLAN_BYTE = 4
"""A combination in the chunk being simulated costs ``CHUNK_PER_COMBINATION + CHUNK_PER_PLAN_BYTE * (its
serialized plan's bytes)`` plus its rows' ``KEPT_PER_ROW`` (the chunk's statistics and frame)."""
FIXED = 32 * 1024 * 1024
"""Query machinery and buffers independent of the grid; measured ~18 MB."""
LEAF_BYTES = 9
"""Compiled path: bytes per distinct leaf, symbol and bar (a float and a validity flag)."""
MAX_SIGNAL_BYTES = 256 * 1024 * 1024
"""The signal arrays of one chunk never take more than this, whatever the budget (keeps chunks cache- and
thread-friendly)."""
DEFAULT_FRACTION = 0.5
"""Without ``memory_budget``, a sweep may use this fraction of the memory available when it starts."""

_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_BUDGET_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$")


def parse_budget(value: object) -> int:
    """A memory budget in bytes from an int/float of bytes or a string such as ``"4GB"``, ``"512MiB"``."""
    if isinstance(value, str):
        match = _BUDGET_RE.match(value.lower())
        if match is None or match.group(2) not in _UNITS:
            raise ConfigError(
                f"memory_budget must be bytes or a size such as '4GB' or '512MiB', got {value!r}",
                argument="memory_budget",
            )
        number = float(match.group(1)) * _UNITS[match.group(2)]
    elif is_number(value):
        number = float(value)
    else:
        raise ConfigError(
            f"memory_budget must be bytes or a size such as '4GB' or '512MiB', got {value!r}",
            argument="memory_budget",
        )
    if not math.isfinite(number) or number <= 0:
        raise ConfigError(f"memory_budget must be a positive size, got {value!r}", argument="memory_budget")
    return int(number)


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation: Linux's ``MemAvailable`` (free plus reclaimable
    cache), else ``os.sysconf``'s free pages, else None (unknown); within a cgroup (v2) memory limit, at
    most what the limit leaves (containers)."""
    host: int | None = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    host = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if host is None:
        try:
            host = int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            host = None
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        with open("/sys/fs/cgroup/memory.current") as f:
            used = int(f.read().strip())
        if limit != "max":
            room = max(0, int(limit) - used)
            host = room if host is None else min(host, room)
    except (OSError, ValueError):
        pass
    return host


def format_bytes(n: float) -> str:
    """``1.5 GB``, ``320 MB``, ``12 KB`` (decimal units)."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} B"


def plain_bytes(keys: Collection[str], *, panel_scope: bool = False) -> int:
    """Plain path: bytes per combination, symbol and bar of the signal ``keys`` (a byte per boolean, 8 per
    number; twice while converted, three times in panel scope). Signal mode's 7 keys: 56 bytes."""
    return (3 if panel_scope else 2) * sum(1 if k in BOOL_KEYS else 8 for k in keys)


@dataclass(frozen=True)
class SweepPlan:
    """How a sweep fits its budget: at most ``chunk`` combinations per chunk, and at most ``signal_bytes``
    of signal arrays per chunk (compiled leaves) or ``plain_chunk`` combinations on the plain path."""

    budget: int
    chunk: int
    signal_bytes: int
    plain_chunk: int


def plan_sweep(
    *,
    budget: int,
    budget_given: bool,
    n_combinations: int,
    rows_per_combination: int,
    n_symbols: int,
    n_bars: int,
    plan_bytes: int,
    first_leaves: int,
    chunk_size: int | None,
    signal_keys: Collection[str] = SIGNAL_KEYS,
    panel_scope: bool = False,
) -> SweepPlan:
    """The chunking of a sweep within ``budget`` bytes, or a ConfigError naming ``memory_budget`` with the
    estimate when even one combination at a time cannot fit. ``plan_bytes``, ``first_leaves`` and
    ``signal_keys`` describe the first combination (its serialized plan's size, its number of distinct
    leaves and the keys it returns); ``panel_scope``: the expressions see the whole panel at once.
    ``signal_bytes`` is the budget of the leaves' arrays themselves (the transient copy is set aside)."""
    panel = 4 * 8 * n_symbols * n_bars
    per_cell = plain_bytes(signal_keys, panel_scope=panel_scope)
    leaf_copies = 2 if panel_scope else 1
    kept = n_combinations * (KEPT_PER_COMBINATION + rows_per_combination * KEPT_PER_ROW)
    per_combination = CHUNK_PER_COMBINATION + CHUNK_PER_PLAN_BYTE * plan_bytes + rows_per_combination * KEPT_PER_ROW
    one_signals = max(first_leaves * LEAF_BYTES * leaf_copies, per_cell) * n_symbols * n_bars
    needed = FIXED + panel + kept + per_combination + one_signals
    if needed > budget:
        source = "memory_budget" if budget_given else f"the default memory_budget ({DEFAULT_FRACTION:.0%} of available)"
        raise ConfigError(
            f"the sweep of {n_combinations:,} combinations needs at least {format_bytes(needed)} "
            f"({format_bytes(kept)} for its results, {format_bytes(per_combination + one_signals)} per combination "
            f"simulated at a time, {format_bytes(FIXED + panel)} fixed) but {source} is {format_bytes(budget)}: "
            "raise memory_budget, or sweep fewer combinations at once",
            argument="memory_budget",
        )
    room = budget - FIXED - panel - kept
    signal_bytes = max(one_signals, min(MAX_SIGNAL_BYTES, room // 2))
    chunk = max(1, (room - signal_bytes) // per_combination)
    plain_chunk = max(1, signal_bytes // (max(per_cell, 1) * n_symbols * n_bars))
    chunk = min(chunk, n_combinations, chunk_size or n_combinations)
    return SweepPlan(budget, int(chunk), int(signal_bytes // leaf_copies), int(min(plain_chunk, chunk)))
