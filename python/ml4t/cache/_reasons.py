"""Why an entry missed: the description kept beside an entry, and the comparison of two of them.

:func:`describe` is the JSON the store keeps with an entry (``put(..., describe=...)``): the key, its parts and,
when the caller gives the data, :func:`block_hashes` of it. A caller keeps the last description per logical
slot (:func:`ml4t.cache.slot_key`); on a miss :func:`explain_miss` compares it with the current one and says
what changed, in this order: ``"first run"``; versions (``"ml4t 0.1.0 -> 0.2.0"``); the data (``"data changed:
1 row of ALFA from 2024-05-01"``); expressions (``"expression changed: entries"``); parameters
(``"parameters changed: fast 10 -> 20"``). Several reasons are joined by ``"; "``.

Block hashes cut each symbol's rows (in the frame's order, sorted by ``ts_event``) into blocks of
:data:`BLOCK_ROWS` rows and hash each block's rows (every column, ``ts_arrival`` included: Polars' row hashes
with fixed seeds, then xxh3 over them), so a description stays small (one hash per thousand rows) and a changed
block is found without the old data. The exact number of changed rows needs the rows themselves: when the
caller still has the previous data it passes both frames and the changed blocks' rows are compared by
``ts_event``; otherwise the reason names the block (``"ALFA in the 1,000 rows from 2024-05-01"``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import polars as pl
import xxhash

from ml4t._ns import format_ns
from ml4t.cache._keys import Key
from ml4t.errors import ConfigError

if TYPE_CHECKING:
    from ml4t.cache._store import Store

__all__ = ["BLOCK_ROWS", "block_hashes", "describe", "explain_in_slot", "explain_miss", "recall", "remember", "span"]

BLOCK_ROWS = 1_000
"""Rows per symbol in one hashed block."""
_SCHEME = f"polars-hash_rows/{pl.__version__}/{BLOCK_ROWS}"
_SEED = 0x6D6C3474  # fixed: row hashes are equal across processes for one Polars version
_SHOWN = 3  # symbols named in a data reason before "and N more"
_KEPT = 256  # frames kept in this process by fingerprint, to count a later miss's changed rows exactly ...
_KEPT_ROWS = 5_000_000  # ... and their rows at most (usually the Bars' own frames, shared anyway)
_kept: OrderedDict[str, Any] = OrderedDict()


def remember(fingerprint: str, data: Any) -> None:
    """Keep ``data`` (a frame or Bars this process computed from) under its ``fingerprint``, so that a later miss
    in this process can count the changed rows exactly (:func:`recall`, ``explain_miss(previous_data=...)``).
    The last :data:`_KEPT` are kept, and no more than :data:`_KEPT_ROWS` rows in all (the newest always)."""
    _kept[fingerprint] = data
    _kept.move_to_end(fingerprint)
    while len(_kept) > 1 and (len(_kept) > _KEPT or sum(len(f) for f in _kept.values()) > _KEPT_ROWS):
        _kept.popitem(last=False)


def recall(fingerprint: str | None) -> Any:
    """The data kept under ``fingerprint`` by :func:`remember`, or None."""
    return None if fingerprint is None else _kept.get(fingerprint)


def span(data: Any) -> str:
    """Where ``data`` lies, as a slot name (:func:`ml4t.cache.slot_key`): its symbols and its first and last
    ``ts_event``. A slot per strategy and span keeps sweeps of one strategy on other windows (a walk-forward's
    folds) from explaining each other's misses: an edited price keeps the span (its miss names the row), other
    windows or appended rows are other spans (their first miss is ``"not in the cache"``)."""
    frame = _frame(data, "data")
    if frame.height == 0:
        return "empty"
    symbols = frame["symbol"].unique().sort()
    ts = frame["ts_event"].to_physical().to_numpy()
    digest = xxhash.xxh3_64_hexdigest("\x1f".join(str(s) for s in symbols).encode())
    return f"{symbols.len()} symbols {digest} from {_when(ts.min())} to {_when(ts.max())}"


def explain_in_slot(
    store: Store,
    level: str,
    slot: str,
    current: Mapping[str, Any],
    data: Any,
    *,
    what: str,
    same_key: str | None = None,
) -> str:
    r"""Why the entry described by ``current`` (computed from ``data``) missed, against the last description kept
    in the slot entry ``slot`` of ``level``: ``"not in the cache"`` without one, ``same_key`` (when given) if it
    describes this very key, else :func:`explain_miss` (the exact rows when this process :func:`remember`\ s the
    previous data). The slot then keeps ``current``, with ``what`` for ``ml4t cache ls``."""
    previous = store.get(level, slot)
    if previous is None:
        reason = "not in the cache"
    elif same_key is not None and previous.describe.get("key") == current.get("key"):
        reason = same_key
    else:
        before = previous.describe
        old = recall(((before.get("parts") or {}).get("data") or {}).get("bars"))
        reason = explain_miss(before, current, previous_data=old, current_data=data)
    store.put(level, slot, pl.DataFrame(), describe={**current, "what": what})
    return reason


def block_hashes(data: Any) -> dict[str, Any]:
    """Per-symbol block hashes of ``data`` (Bars, Signals or a long frame with ``symbol`` and ``ts_event``):
    ``{"scheme": ..., "symbols": {symbol: [[first_ts_ns, n_rows, hash], ...]}}``, JSON values."""
    frame = _frame(data, "data")
    hashes = _row_hashes(frame)
    out: dict[str, list[list[Any]]] = {}
    for (symbol,), part in hashes.group_by("symbol", maintain_order=True):
        firsts = part["ts_event"].to_numpy()[::BLOCK_ROWS].tolist()
        rows = part["hash"].to_numpy()
        out[str(symbol)] = [
            [first, len(rows[i : i + BLOCK_ROWS]), xxhash.xxh3_64_hexdigest(rows[i : i + BLOCK_ROWS].tobytes())]
            for first, i in zip(firsts, range(0, len(rows), BLOCK_ROWS), strict=True)
        ]
    return {"scheme": _SCHEME, "symbols": dict(sorted(out.items()))}


def describe(key: Key, *, data: Any = None) -> dict[str, Any]:
    """What the store keeps beside the entry of ``key``: ``{"key": hex, "parts": ..., "blocks": ...}``, where
    ``blocks`` are :func:`block_hashes` of ``data`` (None when no data is given)."""
    if not isinstance(key, Key):
        raise ConfigError(f"describe needs a Key, got {type(key).__name__}", argument="key")
    return {"key": key.hex, "parts": dict(key.parts), "blocks": None if data is None else block_hashes(data)}


def explain_miss(
    previous: Mapping[str, Any] | None,
    current: Mapping[str, Any],
    *,
    previous_data: Any = None,
    current_data: Any = None,
) -> str:
    """Why the entry described by ``current`` (:func:`describe`) missed, given the description ``previous``
    kept for the same slot (None or empty on the first run). ``previous_data`` / ``current_data``: the data
    both were computed from, when the caller still has both, to count changed rows exactly."""
    if not previous:
        return "first run"
    if not isinstance(current, Mapping) or "parts" not in current:
        raise ConfigError("current must be a description made by ml4t.cache.describe", argument="current")
    if previous.get("key") == current.get("key"):
        return "the entry was not in the cache (evicted, removed or damaged)"
    before, after = previous.get("parts") or {}, current["parts"]
    reasons = [*_versions(before, after)]
    if before.get("level") != after.get("level"):
        reasons.append(f"level {before.get('level')} -> {after.get('level')}")
    if before.get("data") != after.get("data"):
        reasons.append(_data_reason(previous.get("blocks"), current.get("blocks"), previous_data, current_data))
    changed = _changed(before.get("expressions") or {}, after.get("expressions") or {})
    if changed:
        reasons.append(f"expression changed: {', '.join(changed)}")
    params = _params(before.get("params") or {}, after.get("params") or {})
    if params:
        reasons.append(f"parameters changed: {', '.join(params)}")
    if not reasons:
        reasons.append("the key changed (its format or a part this version does not describe)")
    return "; ".join(reasons)


# ------------------------------------------------------------------------------------------------ parts
def _versions(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    old, new = before.get("versions") or {}, after.get("versions") or {}
    return [
        f"{name} {old.get(name)} -> {new.get(name)}"
        for name in sorted(set(old) | set(new))
        if old.get(name) != new.get(name)
    ]


def _changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    out = []
    for name in sorted(set(old) | set(new)):
        if name not in old:
            out.append(f"{name} (added)")
        elif name not in new:
            out.append(f"{name} (removed)")
        elif old[name] != new[name]:
            out.append(name)
    return out


def _params(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    out = []
    for name in sorted(set(old) | set(new)):
        if name not in old:
            out.append(f"{name} added ({_show(new[name])})")
        elif name not in new:
            out.append(f"{name} removed (was {_show(old[name])})")
        elif _typed(old[name]) != _typed(new[name]):
            out.append(f"{name} {_show(old[name])} -> {_show(new[name])}")
    return out


def _typed(value: Any) -> Any:
    """A parameter value with its JSON type, so 1, 1.0 and True differ (they compare equal in Python)."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, value)


def _show(value: Any) -> str:
    return repr(value) if not isinstance(value, (dict, list)) else str(value)


# ------------------------------------------------------------------------------------------------- data
def _data_reason(old: Any, new: Any, old_data: Any, new_data: Any) -> str:
    if not old or not new or old.get("scheme") != new.get("scheme"):
        return "data changed"
    before, after = old["symbols"], new["symbols"]
    found: list[str] = []
    for symbol in sorted(set(before) | set(after)):
        if symbol not in before:
            found.append(f"{symbol} added")
        elif symbol not in after:
            found.append(f"{symbol} removed")
        elif before[symbol] != after[symbol]:
            found.append(_symbol_reason(symbol, before[symbol], after[symbol], old_data, new_data))
    if not found:
        return "data changed (not in the rows: the universe, the frequency or a column's type)"
    shown = ", ".join(found[:_SHOWN])
    more = f" and {len(found) - _SHOWN} more symbols" if len(found) > _SHOWN else ""
    return f"data changed: {shown}{more}"


def _symbol_reason(symbol: str, old: list[Any], new: list[Any], old_data: Any, new_data: Any) -> str:
    first = next(i for i in range(max(len(old), len(new))) if i >= len(old) or i >= len(new) or old[i] != new[i])
    block = (new if first < len(new) else old)[first]
    if old_data is None or new_data is None:
        return f"{symbol} in the {block[1]:,} rows from {_when(block[0])}"
    start = min(b[0] for b in (old[first : first + 1] + new[first : first + 1]))
    changed = _changed_rows(symbol, start, _frame(old_data, "previous_data"), _frame(new_data, "current_data"))
    if changed.height == 0:
        return f"{symbol} in the {block[1]:,} rows from {_when(block[0])}"
    n = changed.height
    return f"{n:,} row{'s' if n != 1 else ''} of {symbol} from {_when(min(changed['ts_event'].to_list()))}"


def _changed_rows(symbol: str, start: int, old: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    """The ``ts_event`` of the rows of ``symbol`` from ``start`` on that differ (changed, added or removed)."""

    def rows(frame: pl.DataFrame) -> pl.DataFrame:
        hashed = _row_hashes(frame.filter(pl.col("symbol").cast(pl.String) == symbol))
        return hashed.filter(pl.col("ts_event") >= start).select("ts_event", "hash")

    joined = rows(old).join(rows(new), on="ts_event", how="full", coalesce=True, suffix="_new")
    return joined.filter(pl.col("hash").ne_missing(pl.col("hash_new"))).select("ts_event")


def _row_hashes(frame: pl.DataFrame) -> pl.DataFrame:
    """``symbol``, ``ts_event`` (int64 ns) and a 64-bit hash of every column of each row."""
    return pl.DataFrame(
        {
            "symbol": frame["symbol"].cast(pl.String),
            "ts_event": frame["ts_event"].dt.cast_time_unit("ns").dt.epoch("ns"),
            "hash": frame.hash_rows(seed=_SEED),
        }
    )


def _frame(data: Any, argument: str) -> pl.DataFrame:
    frame = data if isinstance(data, pl.DataFrame) else getattr(data, "frame", None)
    if not isinstance(frame, pl.DataFrame) or not {"symbol", "ts_event"} <= set(frame.columns):
        raise ConfigError(
            f"{argument} must be Bars, Signals or a frame with 'symbol' and 'ts_event' columns, "
            f"got {type(data).__name__}",
            argument=argument,
        )
    return frame


def _when(ns: int) -> str:
    """A timestamp as its date when it is midnight UTC, else in full."""
    text = format_ns(int(ns))
    return text[:10] if text[10:].startswith("T00:00:00+") else text
