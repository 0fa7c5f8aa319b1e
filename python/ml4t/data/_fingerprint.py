"""Data fingerprints: a 128-bit hash (xxh3_128) of a frame's logical content, as 32 hex digits.

The hash covers, in order: a format tag, the caller's attributes (e.g. the universe and declared ``freq`` of
:class:`ml4t.data.Bars`), the row count, then for every column its name, its dtype and its values. Values are
hashed as what they mean, not as the memory that happens to hold them: each column is rechunked, its validity
is hashed as one bit per row, and its values with nulls set to zero (numbers, booleans and the int64 physical
values of dates and times, little-endian; every NaN as the one canonical NaN), strings as their byte lengths
plus their concatenated UTF-8 bytes, anything else as the text of its Python values. So a frame gives the same
fingerprint in any process, however it was built, sliced or chunked, and any change of a value, a timestamp,
a null, a column name, a dtype or the order of the rows changes it. A fingerprint is stable for a given
version of Polars (a dtype's text is part of it); it is not a cryptographic hash.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import xxhash

__all__ = ["frame_fingerprint"]

_TAG = "ml4t-fingerprint/1"


def frame_fingerprint(frame: pl.DataFrame, **attributes: Any) -> str:
    """The fingerprint of ``frame`` and ``attributes`` (hashed by ``repr``, in name order)."""
    h = xxhash.xxh3_128()
    _text(h, _TAG)
    for name in sorted(attributes):
        _text(h, f"{name}={attributes[name]!r}")
    _integer(h, frame.height)
    for name, dtype in frame.schema.items():
        _text(h, name)
        _text(h, str(dtype))
        _column(h, frame[name])
    return h.hexdigest()


def _text(h: Any, text: str) -> None:
    data = text.encode()
    _integer(h, len(data))
    h.update(data)


def _integer(h: Any, value: int) -> None:
    h.update(value.to_bytes(8, "little", signed=True))


def _column(h: Any, series: pl.Series) -> None:
    series = series.rechunk()
    nulls = series.null_count()
    _integer(h, nulls)
    missing = series.is_null().to_numpy() if nulls else None
    if missing is not None:
        h.update(np.packbits(missing).tobytes())
    dtype = series.dtype
    if dtype.is_float() or (not nulls and (dtype == pl.Boolean or dtype.is_integer())):
        # the same bytes as below from fewer Polars calls (each costs ~0.1 ms whatever the length): NumPy reads
        # these as they are (a float's nulls as NaN, set to zero here)
        values = series.to_numpy()
        if missing is not None:
            values = np.where(missing, values.dtype.type(0), values)
        if values.dtype.kind == "f" and np.isnan(values).any():
            values = np.where(np.isnan(values), np.nan, values)
        h.update(np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("<")))
    elif dtype == pl.Boolean or dtype.is_integer() or dtype.is_temporal():
        physical = series.to_physical()
        if nulls:
            physical = physical.fill_null(False if dtype == pl.Boolean else 0)
        values = np.ascontiguousarray(physical.to_numpy())
        if values.dtype.kind == "f" and np.isnan(values).any():
            values = np.where(np.isnan(values), np.nan, values)
        h.update(np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("<")))
    elif dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        text = series.cast(pl.String).fill_null("")
        h.update(np.ascontiguousarray(text.str.len_bytes().to_numpy(), dtype="<u8"))
        h.update(text.str.join("").item().encode())
    else:
        _text(h, repr(series.to_list()))
