"""The event mode's indicators from the cache (issue #16): the ``"event"`` level of :mod:`ml4t.cache`.

A strategy's ``indicators`` (``name -> Polars expression``) are evaluated by :meth:`ml4t.data.Bars.with_indicators`
before a run: each expression per symbol in time order (``expr.over("symbol")``) on the bars' frame. With a cache,
each indicator is one entry: a frame of one column, ``value``, the indicator's values in the frame's row order
(its own Polars type: numbers, booleans, text, lists), read back bit for bit and handed to ``with_indicators`` as
``computed``, so the bars are the same as without the cache, the indicator's recipe recorded for every derivation.

The key (:func:`ml4t.cache.key_of`) holds what the values depend on:

- the indicator's expression (:func:`ml4t.cache.expression_key`: Polars' own plan; Python code in it by its
  bytecode), not its name (the same expression under two names is one entry);
- the bars' fingerprint (:meth:`ml4t.data.Bars.fingerprint`: every column's values, feature columns included,
  the names and types of the columns, the universe and the declared frequency), which is all an expression
  evaluated per symbol on the frame can read;
- how it is evaluated (per symbol, in time order), and ml4t's and Polars' versions.

An expression that cannot be keyed soundly (a ``map_batches`` of a function that reads a mutable global) is
evaluated, not cached, and its reason kept; so is a column Parquet cannot hold (a Python object). A stored
entry of another height than the bars, or a damaged one (warned about by the store), is recomputed.

Why an entry missed: each stored indicator also writes its description (:func:`ml4t.cache.describe`, with the
bars' block hashes) to a slot (:func:`ml4t.cache.slot_key` of the strategy's class and the indicator's name);
the next miss of that slot is explained by :func:`ml4t.cache.explain_miss` (``"data changed: 1 row of ALFA from
2024-05-01"`` when this process still holds the previous bars, else ``"data changed: ALFA in the 120 rows from
2024-01-02"``; ``"expression changed: indicator"``). A miss without a slot is ``"not in the cache"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from ml4t.cache import CacheReport, Key, Store, Uncacheable, block_hashes, key_of, slot_key
from ml4t.cache._reasons import explain_in_slot, remember, span
from ml4t.data import Bars
from ml4t.errors import ConfigError

__all__ = ["IndicatorCache"]

_LEVEL = "event"
_EVALUATION = "per symbol in time order: expr.over('symbol') on the bars' frame"


class IndicatorCache:
    """The indicators' cache of one event run: the store, the strategy's name (for the slots), the counts."""

    def __init__(self, store: Store, strategy: str) -> None:
        self.store = store
        self.strategy = strategy
        self._hits = self._misses = 0
        self._reasons: list[str] = []
        self._uncached: list[str] = []
        self._blocks: dict[str, Any] | None = None

    def report(self) -> CacheReport:
        """Hits and misses of indicator entries, uncached indicators, and why (as a sweep's ``cache``)."""
        return CacheReport(self._hits, self._misses, len(self._uncached), tuple(self._reasons), tuple(self._uncached))

    def with_indicators(self, bars: Bars, exprs: Mapping[str, Any]) -> Bars:
        """``bars.with_indicators(exprs)``, each indicator's values read from the store when found there, the
        others evaluated and stored."""
        if not exprs or not all(isinstance(e, pl.Expr) for e in exprs.values()):
            return bars.with_indicators(exprs)  # nothing to do, or the ConfigError naming `indicators`
        fingerprint = bars.fingerprint()
        remember(fingerprint, bars)  # a later run of changed bars in this process counts the changed rows
        height = bars.frame.height
        keys: dict[str, Key] = {}
        found: dict[str, pl.Series] = {}
        for name, expr in exprs.items():
            key = key_of(
                _LEVEL, data={"bars": fingerprint}, expressions={"indicator": expr}, params={"evaluation": _EVALUATION}
            )
            if isinstance(key, Uncacheable):
                self._uncached.append(f"the indicator `{name}` is not cached: {key.reason}")
                continue
            keys[name] = key
            entry = self.store.get(_LEVEL, key.hex)
            if entry is not None and entry.frame.height == height and entry.frame.columns == ["value"]:
                self._hits += 1
                found[name] = entry.frame.to_series()
        computed = bars.with_indicators(exprs, computed=found)
        if len(found) < len(keys):
            frame = computed.frame
            for name, key in keys.items():
                if name not in found:
                    self._store(bars, name, key, frame[name].alias("value"))
        return computed

    def _store(self, bars: Bars, name: str, key: Key, column: pl.Series) -> None:
        if self._blocks is None:
            self._blocks = block_hashes(bars)
        current = {"key": key.hex, "parts": dict(key.parts), "blocks": self._blocks}
        try:
            self.store.put(
                _LEVEL,
                key.hex,
                column.to_frame(),
                describe={**current, "indicator": name, "what": f"event indicator `{name}`"},
            )
        except ConfigError as error:  # a column Parquet cannot hold (an Object column): computed, not cached
            self._uncached.append(f"the indicator `{name}` is not cached: {error.message}")
            return
        slot = slot_key(_LEVEL, self.strategy, name, span(bars))
        self._misses += 1
        what = f"{self.strategy}: the last description of event indicator `{name}` (explains the next miss)"
        self._reasons.append(explain_in_slot(self.store, _LEVEL, slot, current, bars, what=what))
