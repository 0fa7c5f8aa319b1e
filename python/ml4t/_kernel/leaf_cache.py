"""The sweep's first cache level: the distinct indicator leaves of a compiled chunk (issue #16).

A compiled chunk evaluates its distinct Polars leaves (a moving average of one window, a rank) per part: per
symbol on that symbol's rows (``scope="symbol"``), or once on the long frame (``scope="panel"``). With a cache,
each (leaf, part) is looked up before evaluation and stored after, as an entry of the ``"indicators"`` level: a
frame with one row per row of the part, ``value`` (the leaf cast to Float64, nulls kept) and ``valid``
(``value`` not null), read back bit for bit; the leaf's Polars type is kept in the entry's description.

The key (:func:`ml4t.cache.key_of`) holds:

- the leaf's plan (:func:`ml4t.cache.expression_key` of the leaf as the kernel gives it, Polars' own plan);
- the scope, and the Polars type names of the part's columns (a leaf's result depends on them);
- the data: in symbol scope the fingerprint of THAT symbol's rows only (one changed price of ALFA misses only
  ALFA's entries), in panel scope the whole panel's; plus, for a hidden rebalance column the leaf reads, the
  digest of that column's values on the part (they come from the common timeline, not the symbol's rows);
- ml4t's and Polars' versions.

A leaf whose plan holds Python code that cannot be keyed soundly is evaluated, not cached, and the reason kept.

Why an entry missed: every stored leaf also writes its description (:func:`ml4t.cache.describe`, with the
part's block hashes) to a slot entry (:func:`ml4t.cache.slot_key` of the strategy, the scope, the part and the
leaf's plan); the next miss of that slot is explained by :func:`ml4t.cache.explain_miss` against it (the exact
changed rows when this process still holds the previous data: the last :data:`_KEPT` parts' frames are kept by
fingerprint). A miss without a slot entry is ``"not in the cache"``. A changed window is a new leaf, so its
miss is ``"not in the cache"`` too: the slot is what is computed, and the entries of the old window stay.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
import xxhash

from ml4t.cache import Key, Store, Uncacheable, block_hashes, explain_miss, expression_key, key_of, slot_key
from ml4t.data import frame_fingerprint

__all__ = ["CacheReport", "LeafCache", "Part"]

_LEVEL = "indicators"
_KEPT = 256  # part frames kept in this process by fingerprint, to count a changed part's rows exactly ...
_KEPT_ROWS = 5_000_000  # ... and their rows at most (the frames are usually the Bars' own, shared anyway)
_previous: OrderedDict[str, pl.DataFrame] = OrderedDict()
_SHOWN = 3  # distinct reasons shown in the one-line summary


@dataclass(frozen=True)
class CacheReport:
    """What the cache did in a sweep: ``hits`` and ``misses`` of (leaf, part) entries, ``uncached`` leaves
    evaluated without the cache, and per miss (``reasons``) and per uncached leaf (``uncached_reasons``) why.
    A part is a symbol in symbol scope, the whole panel in panel scope; a leaf shared by several chunks is
    looked up once per chunk (the later ones hit)."""

    hits: int = 0
    misses: int = 0
    uncached: int = 0
    reasons: tuple[str, ...] = field(default=(), repr=False)
    uncached_reasons: tuple[str, ...] = field(default=(), repr=False)

    def summary(self) -> str:
        """One line: ``"cache: 12 hits, 3 misses (data changed: 1 row of ALFA from 2024-05-01)"``."""
        text = f"cache: {self.hits} hits, {self.misses} misses"
        if self.uncached:
            text += f", {self.uncached} uncached"
        counts = Counter(self.reasons + self.uncached_reasons)
        shown = [f"{n} x {why}" if n > 1 else why for why, n in counts.most_common(_SHOWN)]
        if len(counts) > _SHOWN:
            shown.append(f"{len(counts) - _SHOWN} more reasons")
        return text + (f" ({'; '.join(shown)})" if shown else "")


@dataclass(frozen=True)
class Part:
    """One frame the leaves are evaluated on: its name in the cache (a symbol, or ``"panel"``), the frame (its
    hidden rebalance columns included), the bars it was made from (the panel's own frame of the part, the same
    object in every chunk: its fingerprint is computed once per sweep) and the hidden columns' names."""

    name: str
    frame: pl.DataFrame
    bars: pl.DataFrame
    hidden: tuple[str, ...]


class LeafCache:
    """The leaves' cache of one sweep: the store, the strategy's name (for the slots), and the counts."""

    def __init__(self, store: Store, strategy: str) -> None:
        self.store = store
        self.strategy = strategy
        self._hits = self._misses = 0
        self._reasons: list[str] = []
        self._uncached: list[str] = []
        self._fingerprints: dict[int, str] = {}  # id(frame) of a part -> its fingerprint, for this sweep
        self._frames: list[pl.DataFrame] = []  # keeps the ids above alive and unique
        self._blocks: dict[str, Any] = {}

    def report(self) -> CacheReport:
        return CacheReport(self._hits, self._misses, len(self._uncached), tuple(self._reasons), tuple(self._uncached))

    def leaf_keys(self, leaf_json: Sequence[str], leaves: Sequence[pl.Expr]) -> list[Key | Uncacheable]:
        """Each leaf's plan key (once per chunk); an Uncacheable leaf is counted with its reason."""
        keys = [expression_key(e) for e in leaves]
        for j, key in zip(leaf_json, keys, strict=True):
            if isinstance(key, Uncacheable):
                self._uncached.append(f"a leaf is not cached: {key.reason} ({j[:60]}...)")
        return keys

    def evaluate(
        self,
        part: Part,
        scope: str,
        leaf_keys: Sequence[Key | Uncacheable],
        leaf_json: Sequence[str],
        compute: Callable[[list[int]], pl.DataFrame],
    ) -> tuple[list[np.ndarray], list[np.ndarray], list[str]] | None:
        """Per leaf of ``part``: its values (Float64, NaN where null), validity and Polars type name, from the
        store or from ``compute(indices)`` (a frame of the leaves ``indices``, in that order), the computed
        ones stored. None when a computed leaf is not numeric or boolean (the caller takes the plain path; its
        entries are not stored)."""
        n = len(leaf_keys)
        values: list[np.ndarray | None] = [None] * n
        valid: list[np.ndarray | None] = [None] * n
        types: list[str | None] = [None] * n
        keys: list[Key | None] = [None] * n
        misses: list[int] = []
        for i, leaf in enumerate(leaf_keys):
            key = self._key(part, scope, leaf, leaf_json[i]) if isinstance(leaf, Key) else leaf
            if isinstance(key, Uncacheable):
                misses.append(i)
                continue
            keys[i] = key
            entry = self.store.get(_LEVEL, key.hex)
            if entry is not None and entry.frame.height == part.frame.height:
                self._hits += 1
                values[i] = entry.frame["value"].to_numpy()
                valid[i] = entry.frame["valid"].to_numpy()
                types[i] = str(entry.describe["dtype"])
            else:
                misses.append(i)
        if misses:
            result = compute(misses)
            for j, i in enumerate(misses):
                column = result.to_series(j)
                if not (column.dtype.is_numeric() or column.dtype in (pl.Boolean, pl.Null)):
                    return None
                stored = pl.DataFrame({"value": column.cast(pl.Float64), "valid": column.is_not_null()})
                values[i], valid[i] = stored["value"].to_numpy(), stored["valid"].to_numpy()
                types[i] = str(column.dtype)
                known = keys[i]
                if known is not None:
                    self._store(part, scope, known, leaf_json[i], stored, str(column.dtype))
        return [v for v in values if v is not None], [v for v in valid if v is not None], [str(t) for t in types]

    # ------------------------------------------------------------------------------------------- internals
    def _fingerprint(self, frame: pl.DataFrame) -> str:
        found = self._fingerprints.get(id(frame))
        if found is None:
            found = self._fingerprints[id(frame)] = frame_fingerprint(frame)
            self._frames.append(frame)
            _keep(found, frame)
        return found

    def _key(self, part: Part, scope: str, leaf: Key, leaf_json: str) -> Key | Uncacheable:
        data = {"bars": self._fingerprint(part.bars)}
        for name in part.hidden:
            if name in leaf_json:
                data[name] = xxhash.xxh3_128_hexdigest(part.frame[name].to_numpy().tobytes())
        schema = {name: str(dtype) for name, dtype in part.frame.schema.items()}
        return key_of(_LEVEL, data=data, expressions={"leaf": leaf}, params={"scope": scope, "schema": schema})

    def _store(self, part: Part, scope: str, key: Key, leaf_json: str, frame: pl.DataFrame, dtype: str) -> None:
        bars = part.bars
        fingerprint = self._fingerprint(bars)
        if fingerprint not in self._blocks:
            self._blocks[fingerprint] = block_hashes(bars) if {"symbol", "ts_event"} <= set(bars.columns) else None
        current = {"key": key.hex, "parts": dict(key.parts), "blocks": self._blocks[fingerprint]}
        slot = slot_key(_LEVEL, self.strategy, scope, part.name, str(key.parts["expressions"]["leaf"]))
        previous = self.store.get(_LEVEL, slot)
        self._misses += 1
        if previous is None:
            self._reasons.append("not in the cache")
        else:
            before = previous.describe
            old = _previous.get(str((before.get("parts") or {}).get("data", {}).get("bars")))
            self._reasons.append(explain_miss(before, current, previous_data=old, current_data=bars))
        self.store.put(_LEVEL, key.hex, frame, describe={**current, "dtype": dtype, "leaf": leaf_json[:2000]})
        self.store.put(_LEVEL, slot, pl.DataFrame(), describe=current)


def _keep(fingerprint: str, frame: pl.DataFrame) -> None:
    """Keep ``frame`` as the data of ``fingerprint`` for this process's later miss reasons (bounded)."""
    _previous[fingerprint] = frame
    _previous.move_to_end(fingerprint)
    while len(_previous) > 1 and (len(_previous) > _KEPT or sum(f.height for f in _previous.values()) > _KEPT_ROWS):
        _previous.popitem(last=False)
