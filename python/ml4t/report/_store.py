"""Saving a :class:`ml4t.Result` as a folder of Parquet files plus a JSON manifest, and loading it back.

A saved result is a folder::

    manifest.json       what the folder holds (below)
    equity.parquet      one file per frame of the Result, with its schema and extra columns
    positions.parquet
    orders.parquet
    fills.parquet
    trades.parquet
    bars.parquet        the bars the run read (``Result.bars``), when saved with ``bars=True`` and known
    meta.<key>.parquet  each frame found in ``meta`` (e.g. a promotion's ``meta["skipped_entries"]``)

``manifest.json`` holds the format tag (:data:`FORMAT`, ``"ml4t-result/1"``), the ml4t and Polars versions
that wrote it, ``init_cash``, ``periods_per_year``, ``meta``, ``data_fingerprint``, what rebuilds the bars
(their universe and declared ``freq``: :meth:`ml4t.data.Bars.to_parts`), and every file's size and xxh3_128
checksum. ``meta`` is written as JSON; values JSON has no form for are tagged objects with a ``"$ml4t"`` key:
tuples, non-finite floats, datetimes, dates and durations, dicts whose keys are not all strings, and frames
(a reference to their Parquet file) come back as they were; any other value is written as its ``repr`` (a
string when loaded), and the manifest lists where (``meta_as_repr``: paths such as ``settings.commission``).

Saving is atomic: the files go to a temporary folder beside the target, which is renamed into place, so an
interrupted save leaves nothing behind. An existing target is replaced only with ``overwrite=True``, and only
when it is itself a saved result. Loading checks the format and every file's size and checksum, so a
truncated, corrupt or missing file is a :class:`~ml4t.errors.DataError` naming it; the rebuilt bars must have
the fingerprint recorded at save time.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import shutil
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
import xxhash

from ml4t._shape import ResultShape
from ml4t._version import installed
from ml4t.errors import ConfigError, DataError

__all__ = ["FORMAT", "MANIFEST", "is_result_folder", "load_result", "save_result", "swap_folder"]

FORMAT_TAG = "ml4t-result"
FORMAT_VERSION = 1
FORMAT = f"{FORMAT_TAG}/{FORMAT_VERSION}"
"""The format tag and version written in every manifest; a loader refuses an unknown tag or a newer version."""
MANIFEST = "manifest.json"
FRAMES = ("equity", "positions", "orders", "fills", "trades")
_TAG = "$ml4t"
_CHUNK = 1 << 20
_ENTRY = {"bytes", "xxh3_128"}
R = TypeVar("R", bound=ResultShape)


def save_result(
    result: ResultShape, path: str | os.PathLike[str], *, bars: bool = True, overwrite: bool = False
) -> Path:
    """Save ``result`` as a folder at ``path`` (see the module docstring for its files); returns the path.

    ``bars=False`` leaves out ``bars.parquet`` (the fingerprint is kept either way). An existing ``path`` is
    a ConfigError (argument ``path``) unless ``overwrite=True``, and even then one that is not a saved result
    (a file, or a folder without an ml4t manifest) is never replaced; a saved result is replaced as a whole
    (with any file added to it since, such as its ``report.html``).
    """
    target = Path(path)
    if target.exists() or target.is_symlink():
        if not overwrite:
            raise ConfigError(f"{target} already exists; pass overwrite=True to replace it", argument="path")
        if not is_result_folder(target):
            raise ConfigError(f"{target} exists and is not a saved ml4t result; it is never replaced", argument="path")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.saving-{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    try:
        _write(result, staging, bars=bars)
        swap_folder(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def load_result(path: str | os.PathLike[str], *, result_type: type[R]) -> R:
    """The result saved at ``path`` by :func:`save_result`, as a ``result_type`` (``Result.load(path)`` passes
    :class:`ml4t.Result`; this package sits above ``ml4t.result`` and does not import it): the same frames
    (values and schemas), ``init_cash``, ``periods_per_year``, ``meta`` and ``data_fingerprint``, and ``bars``
    when they were saved (else None). A folder that is not a saved result, an unknown format or a newer
    version, and a missing, truncated or corrupt file are each a DataError naming the file."""
    from ml4t.data import Bars

    folder = Path(path)
    manifest = _read_manifest(folder)
    files = manifest["files"]
    for name, entry in files.items():
        _verify(folder, name, entry)

    def read(name: str) -> pl.DataFrame:
        return _read_frame(folder, name, files)

    frames = {name: read(f"{name}.parquet") for name in FRAMES}
    meta = _decode(manifest["meta"], read)
    saved_bars = None
    fingerprint = manifest["data_fingerprint"]
    if manifest["bars"] is not None:
        parts = manifest["bars"]
        saved_bars = Bars.from_parts(read(parts["file"]), symbols=parts["symbols"], freq_ns=parts["freq_ns"])
        if saved_bars.fingerprint() != fingerprint:
            raise DataError(
                f"{folder / parts['file']}: the rebuilt bars have fingerprint {saved_bars.fingerprint()}, "
                f"the manifest says {fingerprint}",
                argument="path",
            )
    result = result_type(
        **frames,
        init_cash=manifest["init_cash"],
        periods_per_year=manifest["periods_per_year"],
        meta=meta,
        bars=saved_bars,
    )
    if saved_bars is None and fingerprint is not None:
        # what unpickling does (ResultShape.__getstate__): the fingerprint of bars that did not travel
        object.__setattr__(result, "_data_fingerprint", fingerprint)
    return result


def is_result_folder(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a folder holding an ml4t result manifest (of any version)."""
    manifest = Path(path) / MANIFEST
    if not Path(path).is_dir() or Path(path).is_symlink() or not manifest.is_file():
        return False
    try:
        tag = json.loads(manifest.read_text(encoding="utf-8")).get("format", "")
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(tag, str) and tag.startswith(FORMAT_TAG + "/")


# ------------------------------------------------------------------------------------------------ writing
def _write(result: ResultShape, folder: Path, *, bars: bool) -> None:
    files: dict[str, dict[str, Any]] = {}

    def put(name: str, frame: pl.DataFrame) -> str:
        target = folder / name
        frame.write_parquet(target)
        files[name] = _describe_file(target)
        return name

    for name in FRAMES:
        put(f"{name}.parquet", getattr(result, name))
    as_repr: list[str] = []
    meta = _encode(dict(result.meta), (), put, as_repr)
    bars_entry = None
    if bars and result.bars is not None:
        frame, attributes = result.bars.to_parts()
        bars_entry = {"file": put("bars.parquet", frame), **attributes}
    manifest = {
        "format": FORMAT,
        "ml4t_version": installed(),
        "polars_version": pl.__version__,
        "python_version": sys.version.split()[0],
        "init_cash": result.init_cash,
        "periods_per_year": result.periods_per_year,
        "data_fingerprint": result.data_fingerprint,
        "bars": bars_entry,
        "meta": meta,
        "meta_as_repr": as_repr,
        "files": files,
    }
    text = json.dumps(manifest, indent=2, allow_nan=False) + "\n"
    with open(folder / MANIFEST, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _describe_file(path: Path) -> dict[str, Any]:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())
    return {"bytes": path.stat().st_size, "xxh3_128": _checksum(path)}


def _checksum(path: Path) -> str:
    h = xxhash.xxh3_128()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def swap_folder(staging: Path, target: Path) -> None:
    """Move the finished ``staging`` folder to ``target``; a result already there (checked by the caller) is
    moved aside first and deleted once the new one is in place, or put back if the rename fails."""
    if not (target.exists() or target.is_symlink()):
        staging.rename(target)
        return
    old = target.parent / f".{target.name}.replaced-{uuid.uuid4().hex[:12]}"
    target.rename(old)
    try:
        staging.rename(target)
    except BaseException:
        old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _encode(value: Any, where: tuple[str, ...], put: Any, as_repr: list[str]) -> Any:
    """``value`` as JSON (see the module docstring); frames are written with ``put(file_name, frame)``."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {_TAG: "float", "value": repr(value)}
    if isinstance(value, pl.DataFrame):
        return {_TAG: "frame", "file": put(_frame_file(where), value)}
    if isinstance(value, (list, tuple)):
        items = [_encode(v, (*where, str(i)), put, as_repr) for i, v in enumerate(value)]
        return items if isinstance(value, list) else {_TAG: "tuple", "items": items}
    if isinstance(value, Mapping):
        if all(isinstance(k, str) for k in value) and _TAG not in value:
            return {k: _encode(v, (*where, k), put, as_repr) for k, v in value.items()}
        pairs = [
            [_encode(k, (*where, str(k)), put, as_repr), _encode(v, (*where, str(k)), put, as_repr)]
            for k, v in value.items()
        ]
        return {_TAG: "dict", "items": pairs}
    if isinstance(value, dt.datetime):
        return {_TAG: "datetime", "value": value.isoformat()}
    if isinstance(value, dt.date):
        return {_TAG: "date", "value": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {_TAG: "timedelta", "microseconds": value // dt.timedelta(microseconds=1)}
    as_repr.append(".".join(where))
    return repr(value)


def _frame_file(where: tuple[str, ...]) -> str:
    return "meta." + re.sub(r"[^A-Za-z0-9_.-]+", "_", ".".join(where) or "value") + ".parquet"


def _decode(value: Any, read: Any) -> Any:
    """The inverse of :func:`_encode`; ``read(file_name)`` reads a frame."""
    if isinstance(value, list):
        return [_decode(v, read) for v in value]
    if not isinstance(value, dict):
        return value
    kind = value.get(_TAG)
    if kind is None:
        return {k: _decode(v, read) for k, v in value.items()}
    if kind == "float":
        return float(value["value"])
    if kind == "frame":
        return read(value["file"])
    if kind == "tuple":
        return tuple(_decode(v, read) for v in value["items"])
    if kind == "dict":
        return {_decode(k, read): _decode(v, read) for k, v in value["items"]}
    if kind == "datetime":
        return dt.datetime.fromisoformat(value["value"])
    if kind == "date":
        return dt.date.fromisoformat(value["value"])
    if kind == "timedelta":
        return dt.timedelta(microseconds=value["microseconds"])
    raise DataError(f"{MANIFEST}: unknown tagged value {kind!r} in meta", argument="path")


# ------------------------------------------------------------------------------------------------ reading
def _read_manifest(folder: Path) -> dict[str, Any]:
    if not folder.is_dir():
        what = "does not exist" if not folder.exists() else "is not a folder"
        raise DataError(f"{folder} {what}; expected a folder written by Result.save()", argument="path")
    file = folder / MANIFEST
    if not file.is_file():
        raise DataError(f"{folder} is not a saved ml4t result: it has no {MANIFEST}", argument="path")
    try:
        manifest: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DataError(f"{file}: cannot read the manifest ({error})", argument="path") from None
    tag = manifest.get("format") if isinstance(manifest, dict) else None
    name, _, version = str(tag).partition("/")
    if name != FORMAT_TAG or not version.isdigit():
        raise DataError(f"{file}: unknown format {tag!r}, expected {FORMAT!r}", argument="path")
    if int(version) > FORMAT_VERSION:
        raise DataError(
            f"{file}: format {tag!r} was written by a newer ml4t (this one reads up to {FORMAT!r}); upgrade ml4t",
            argument="path",
        )
    keys = ("init_cash", "periods_per_year", "data_fingerprint", "bars", "meta", "files")
    missing = [k for k in keys if k not in manifest]
    if missing or not isinstance(manifest["files"], dict):
        raise DataError(f"{file}: the manifest lacks {missing or ['files']}", argument="path")
    return manifest


def _verify(folder: Path, name: str, entry: Any) -> None:
    """Check that the file ``name`` the manifest lists (a plain name inside ``folder``) has its size and checksum."""
    if Path(name).name != name or name in (".", "..") or not isinstance(entry, dict) or entry.keys() != _ENTRY:
        raise DataError(f"{folder / MANIFEST}: a bad entry in its files: {name!r}", argument="path")
    file = folder / name
    if not file.is_file():
        raise DataError(f"{file} is missing (the manifest lists it)", argument="path")
    size = file.stat().st_size
    if size != entry["bytes"]:
        raise DataError(
            f"{file} has {size} bytes, the manifest says {entry['bytes']}: the file is truncated or was changed",
            argument="path",
        )
    if _checksum(file) != entry["xxh3_128"]:
        raise DataError(f"{file} does not match its checksum: the file is corrupt or was changed", argument="path")


def _read_frame(folder: Path, name: str, files: Mapping[str, Any]) -> pl.DataFrame:
    """The frame in ``folder / name``, a file the manifest lists (so its checksum was verified)."""
    file = folder / name
    if name not in files:
        raise DataError(f"{file} is not listed in the manifest's files", argument="path")
    try:
        return pl.read_parquet(file)
    except (OSError, pl.exceptions.PolarsError) as error:
        raise DataError(f"{file}: cannot read it ({error})", argument="path") from None
