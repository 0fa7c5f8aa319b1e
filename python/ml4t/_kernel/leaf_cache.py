"""The sweep's first cache level: the distinct indicator leaves of a compiled chunk (issue #16).

A compiled chunk evaluates its distinct Polars leaves (a moving average of one window, a rank) per part: per
symbol on that symbol's rows (``scope="symbol"``), or once on the long frame (``scope="panel"``). With a cache,
each distinct leaf of the chunk is ONE entry of the ``"indicators"`` level holding its values on every part: a
frame with ``value`` (the leaf cast to Float64, nulls kept) and ``valid`` (``value`` not null), one row per row of
the parts concatenated in the panel's symbol order (symbol scope: each symbol's rows in time order) or the long
frame's rows (panel scope), read back bit for bit; the leaf's Polars type and the parts' row counts are kept in
the entry's description. A chunk looks its leaves up, evaluates the missing ones in one query per part, and
stores them: a sweep does O(leaves) file operations, not O(leaves x symbols).

The key (:func:`ml4t.cache.key_of`) holds:

- the leaf's plan (:func:`ml4t.cache.expression_key` of the leaf as the kernel gives it, Polars' own plan);
- the scope, the Polars engine (:data:`ENGINE`), and the Polars type names of the columns the leaf reads (its
  result depends on them);
- the data the leaf READS, and only that: the fingerprint (:func:`ml4t.data.frame_fingerprint`, computed once per
  sweep per column) of ``symbol`` and ``ts_event`` (they define the rows and the parts) and of exactly the columns
  the leaf reads: those of its plan (``expr.meta.root_names()`` and every column node of the plan, ``over``'s
  partitions included); a plan with a selector (``pl.all()``, a regex, ``pl.nth``, a dtype selection) reads every
  column. So a changed close price misses every leaf that reads ``close`` and no leaf that reads only ``volume``.
  ``ts_arrival`` is in the key only of a leaf that reads it: a leaf's values are a function of the columns it reads
  on the rows that ``symbol`` and ``ts_event`` define, and arrival times change when a value may be used, which
  the kernel decides, not the value;
- for a hidden rebalance column the leaf reads, the digest of that column's values on the panel's rows (they come
  from the common timeline, not from any column of the bars);
- ml4t's and Polars' versions.

A leaf whose plan holds Python code that cannot be keyed soundly is evaluated, not cached, and the reason kept.

Why an entry missed: the strategy has one slot entry per scope (:func:`ml4t.cache.slot_key` of the strategy and
the scope): a frame of the last description (:func:`ml4t.cache.describe`'s shape) stored for each leaf plan, the
last :data:`_SLOT_LEAVES` plans stored, and the block hashes of the columns they read (kept once per data). A
sweep reads it once, at its first miss, explains each miss with :func:`ml4t.cache.explain_miss` against its
plan's last description (``"data changed: 1 row of ALFA from 2024-05-01"``: the exact changed rows when this
process still holds the previous data, the column selections being kept by
:func:`ml4t.cache._reasons.remember`; else the block of rows), and writes it back once per chunk that stored a
leaf: a sweep writes one file per missing leaf and one slot. A plan not in the slot is ``"not in the cache"``;
so is a changed window (a new plan: the slot is what is computed, and the entries of the old window stay). Two
processes sweeping one strategy at once may each overwrite the other's slot: then a later miss may be explained
as ``"not in the cache"``; no entry is ever wrong for it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import polars as pl
import xxhash

from ml4t.cache import (
    CacheReport,
    Key,
    Store,
    Uncacheable,
    block_hashes,
    explain_miss,
    expression_key,
    key_of,
    slot_key,
)
from ml4t.cache._reasons import recall, remember
from ml4t.data import frame_fingerprint
from ml4t.data._panel import Panel

__all__ = ["ENGINE", "LeafCache", "Leaves"]

_LEVEL = "indicators"
_ROWS = ("symbol", "ts_event")  # the columns that define a part's rows: in every leaf's key
_THREADS = 8  # a chunk's store operations in flight at once
_SLOT_LEAVES = 4096  # leaf descriptions kept in a strategy's slot, the most recently stored
ENGINE: Final = "in-memory"
"""The Polars engine the leaves are evaluated with (:mod:`ml4t._kernel.leaves`), in every key: entries stored when
the default (streaming) engine evaluated them hold bits that depended on the machine's threads, and miss."""


@dataclass(frozen=True)
class Leaves:
    """A chunk's leaves as read or evaluated: ``values`` (Float64, NaN where null) and ``valid``, both
    ``(n_rows, n_leaves)`` over the parts' rows concatenated, and each leaf's Polars type name."""

    values: np.ndarray
    valid: np.ndarray
    types: list[str]


class LeafCache:
    """The leaves' cache of one sweep: the store, the strategy's name (for the slots), and the counts."""

    def __init__(self, store: Store, strategy: str, span: str) -> None:
        self.store = store
        self.strategy = strategy
        self.span = span  # the data's span (ml4t.cache._reasons.span): one slot per strategy, scope and span
        self._hits = self._misses = 0
        self._reasons: list[str] = []
        self._uncached: list[str] = []
        self._fingerprints: dict[tuple[int, str], str] = {}  # (id(panel frame), column) -> fingerprint
        self._frames: dict[int, pl.DataFrame] = {}  # keeps the ids above alive and unique
        self._blocks: dict[str, Any] = {}  # data id -> block hashes of the columns it names
        self._slot: _Slot | None = None  # the strategy's leaf descriptions, once read

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
        panel: Panel,
        scope: str,
        hidden: Mapping[str, np.ndarray],
        heights: Sequence[int],
        leaf_keys: Sequence[Key | Uncacheable],
        leaves: Sequence[pl.Expr],
        leaf_json: Sequence[str],
        compute: Callable[[list[int]], list[pl.DataFrame]],
    ) -> Leaves | None:
        """The chunk's leaves on every part (``heights``: each part's rows, in order), from the store or from
        ``compute(indices)`` (per part, a frame of the leaves ``indices`` in that order), the computed ones stored.
        ``hidden``: each hidden rebalance column's values on the panel's long rows. None when a computed leaf is
        not numeric or boolean, or its type differs between parts (the caller takes the plain path; nothing of
        it is stored)."""
        n, rows = len(leaf_keys), int(sum(heights))
        values, valid = np.empty((rows, n)), np.empty((rows, n), dtype=bool)
        types: list[str] = [""] * n
        keys: list[tuple[Key, list[str]] | None] = [None] * n  # per leaf, its key and the columns it reads
        misses: list[int] = []
        digests = {name: xxhash.xxh3_128_hexdigest(np.asarray(m, bool).tobytes()) for name, m in hidden.items()}
        for i, leaf in enumerate(leaf_keys):
            key = (
                leaf
                if isinstance(leaf, Uncacheable)
                else self._key(panel, scope, digests, leaf, leaves[i], leaf_json[i])
            )
            if isinstance(key, Uncacheable):
                misses.append(i)
            else:
                keys[i] = key
        looked = [(i, key) for i, key in enumerate(keys) if key is not None]
        found = _each(lambda item: self.store.get(_LEVEL, item[1][0].hex), looked)
        for (i, _), entry in zip(looked, found, strict=True):
            if entry is not None and entry.frame.height == rows:
                self._hits += 1
                values[:, i] = entry.frame["value"].to_numpy()
                valid[:, i] = entry.frame["valid"].to_numpy()
                types[i] = str(entry.describe["dtype"])
            else:
                misses.append(i)
        if not misses:
            return Leaves(values, valid, types)
        misses.sort()
        frames = compute(misses)
        stores = []
        for j, i in enumerate(misses):
            parts = [frame.to_series(j) for frame in frames]
            dtypes = {str(s.dtype) for s in parts}
            dtype = parts[0].dtype if parts else pl.Null
            if len(dtypes) > 1 or not (dtype.is_numeric() or dtype in (pl.Boolean, pl.Null)):
                return None
            column = pl.concat(parts) if len(parts) > 1 else parts[0]
            stored = pl.DataFrame({"value": column.cast(pl.Float64), "valid": column.is_not_null()})
            values[:, i], valid[:, i] = stored["value"].to_numpy(), stored["valid"].to_numpy()
            types[i] = str(dtype)
            known = keys[i]
            if known is not None:
                stores.append((known[0], self._miss(panel, scope, known, leaf_json[i], types[i], heights), stored))
        _each(lambda item: self.store.put(_LEVEL, item[0].hex, item[2], describe=item[1]), stores)
        if stores:
            self._write_slot(scope)
        return Leaves(values, valid, types)

    # ------------------------------------------------------------------------------------------- internals
    def _fingerprint(self, frame: pl.DataFrame, column: str) -> str:
        found = self._fingerprints.get((id(frame), column))
        if found is None:
            found = self._fingerprints[(id(frame), column)] = frame_fingerprint(frame.select(column))
            self._frames[id(frame)] = frame
        return found

    def _key(
        self,
        panel: Panel,
        scope: str,
        hidden: Mapping[str, str],
        leaf: Key,
        expr: pl.Expr,
        leaf_json: str,
    ) -> tuple[Key, list[str]] | Uncacheable:
        """The leaf's key and the columns of the panel it reads (``symbol`` and ``ts_event`` always)."""
        frame = panel.long
        read = _columns_read(expr, leaf_json)
        columns = list(frame.columns) if read is None else [c for c in frame.columns if c in read or c in _ROWS]
        data = {name: self._fingerprint(frame, name) for name in columns}
        data.update((name, digest) for name, digest in hidden.items() if read is None or name in read)
        types = dict(zip(frame.columns, map(str, frame.dtypes), strict=True))
        schema = {name: types[name] for name in columns}
        params = {"scope": scope, "schema": schema, "engine": ENGINE}
        key = key_of(_LEVEL, data=data, expressions={"leaf": leaf}, params=params)
        return key if isinstance(key, Uncacheable) else (key, columns)

    def _miss(
        self,
        panel: Panel,
        scope: str,
        key: tuple[Key, list[str]],
        leaf_json: str,
        dtype: str,
        heights: Sequence[int],
    ) -> dict[str, Any]:
        """Count a computed leaf's miss with its reason (against its plan's last description in the slot), put
        its description in the slot; the description its entry is stored with."""
        key_, columns = key
        data = panel.long.select(columns)
        data_id = Key.of({"data": key_.parts["data"]}).hex
        if data_id not in self._blocks:
            self._blocks[data_id] = block_hashes(data)
            remember(data_id, data)  # a later miss in this process counts the changed rows exactly
        current = {"key": key_.hex, "parts": dict(key_.parts), "blocks": self._blocks[data_id]}
        slot = self._read_slot(scope)
        plan = str(key_.parts["expressions"]["leaf"])
        text = slot.leaves.pop(plan, None)
        if text is None:
            reason = "not in the cache"
        else:
            before = json.loads(text)
            before["blocks"] = json.loads(slot.blocks.get(before.pop("blocks", None), "null"))
            old_data = (before.get("parts") or {}).get("data")
            old = recall(Key.of({"data": old_data}).hex) if isinstance(old_data, dict) else None
            if not isinstance(old, pl.DataFrame) or old.columns != data.columns:
                old = None
            reason = explain_miss(before, current, previous_data=old, current_data=data)
        slot.leaves[plan] = _json({**current, "blocks": data_id})
        slot.blocks.setdefault(data_id, _json(self._blocks[data_id]))
        self._misses += 1
        self._reasons.append(reason)
        where = f"{len(heights)} symbols" if scope == "symbol" else "the panel"
        what = f"{self.strategy}: indicator {_readable(leaf_json)} on {where}"
        return {**current, "dtype": dtype, "rows": list(heights), "leaf": leaf_json[:2000], "what": what}

    def _read_slot(self, scope: str) -> _Slot:
        """The strategy's slot, read from the store once per sweep (empty when missing or not a slot)."""
        if self._slot is None:
            entry = self.store.get(_LEVEL, slot_key(_LEVEL, self.strategy, scope, self.span))
            self._slot = _Slot({}, {})
            if entry is not None and entry.frame.schema == _SLOT_SCHEMA:
                for kind, name, text in entry.frame.iter_rows():
                    (self._slot.leaves if kind == "leaf" else self._slot.blocks)[name] = text
        return self._slot

    def _write_slot(self, scope: str) -> None:
        slot = self._read_slot(scope)
        while len(slot.leaves) > _SLOT_LEAVES:  # the oldest first: a stored leaf's plan moved to the end
            del slot.leaves[next(iter(slot.leaves))]
        used = {json.loads(text).get("blocks") for text in slot.leaves.values()}
        blocks = {name: text for name, text in slot.blocks.items() if name in used}
        rows = [("leaf", name, text) for name, text in slot.leaves.items()]
        rows += [("blocks", name, text) for name, text in blocks.items()]
        frame = pl.DataFrame(rows, schema=_SLOT_SCHEMA, orient="row")
        what = f"{self.strategy}: the last description of each leaf (explains the next miss)"
        self.store.put(
            _LEVEL,
            slot_key(_LEVEL, self.strategy, scope, self.span),
            frame,
            describe={"slot": "leaf descriptions", "what": what},
        )


@dataclass
class _Slot:
    """A strategy's leaf descriptions: per leaf plan its last description (JSON) whose ``blocks`` names the block
    hashes of its data (a data id -> JSON; shared by the leaves that read the same columns of the same data)."""

    leaves: dict[str, str]
    blocks: dict[str, str]


_SLOT_SCHEMA = pl.Schema({"kind": pl.String, "name": pl.String, "text": pl.String})


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _each(function: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    """``function`` of each item, in order; several at once on threads (a store's reads and fsyncs release the
    GIL: a chunk's file operations overlap instead of queueing). An error propagates."""
    if len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(min(_THREADS, len(items))) as pool:
        return list(pool.map(function, items))


def _columns_read(expr: pl.Expr, leaf_json: str) -> set[str] | None:
    """The columns the leaf's plan reads (its root names and every column node), or None when a selector
    (``pl.all()``, a regex, ``pl.nth``, a dtype) makes that depend on the frame: then it reads every column."""
    if '"Selector"' in leaf_json:
        return None
    found = set(expr.meta.root_names())
    stack: list[Any] = [json.loads(leaf_json)]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for name, value in node.items():
                if name == "Column" and isinstance(value, str):
                    found.add(value)
                elif isinstance(value, (dict, list)):
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (dict, list)))
    return found


def _readable(leaf_json: str) -> str:
    """A leaf as Polars prints it (``col("close").rolling_mean([15])``), short, for ``ml4t cache ls``."""
    try:
        text = str(pl.Expr.deserialize(io.StringIO(leaf_json), format="json"))
    except Exception:  # a plan this Polars cannot read back: the entry still says what it holds in its key
        text = "(a Polars plan)"
    return text if len(text) <= 60 else text[:59] + "…"
