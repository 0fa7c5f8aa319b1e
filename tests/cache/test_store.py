"""The on-disk store (ml4t.cache.Store): round trips, damaged entries, concurrent processes, LRU eviction.

The references are independent of the store's code: a frame's cells read back as Python values (floats as their
IEEE bytes, so NaN, -0.0 and infinities count), files damaged by hand, computations counted through a file that
every process appends to.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import struct
import time
import warnings
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml4t.cache import FORMAT, LEVELS, CacheWarning, Store, _entry
from ml4t.errors import ConfigError

KEY = "0123456789abcdef" * 2


def _cells(frame: pl.DataFrame) -> list[tuple[str, str, list[Any]]]:
    """Every column's name, dtype and values as Python objects: floats by their bytes, times by their int64."""
    out = []
    for series in frame.get_columns():
        dtype = series.dtype
        if dtype.is_float():
            values = [None if v is None else struct.pack("<d", v) for v in series.cast(pl.Float64).to_list()]
        elif dtype.is_temporal():
            values = series.to_physical().to_list()
        elif dtype.is_nested():
            values = [repr(v) for v in series.to_list()]
        else:
            values = series.to_list()
        out.append((series.name, str(dtype), values))
    return out


def _frame(n: int, seed: int) -> pl.DataFrame:
    return pl.DataFrame({"i": list(range(seed, seed + n)), "x": [float(seed) * k / 7 for k in range(n)]})


# -- round trips --------------------------------------------------------------------------------------------------

_FLOATS = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([-0.0, float("nan")]))
_ZONES = st.sampled_from([None, "UTC", "America/New_York", "Asia/Kolkata"])
_NAIVE = {"min_value": dt.datetime(1900, 1, 1), "max_value": dt.datetime(2200, 1, 1)}  # noqa: DTZ001 (localized below)
_TIMES = st.one_of(st.none(), st.datetimes(**_NAIVE))


@st.composite
def _frames(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(0, 12))
    columns: dict[str, pl.Series] = {}
    kinds = draw(
        st.lists(
            st.sampled_from(["int", "uint8", "float", "f32", "bool", "str", "ts", "date", "cat", "list"]),
            min_size=1,
            max_size=6,
        )
    )
    for i, kind in enumerate(kinds):
        name = f"{kind}_{i}"
        if kind == "int":
            values: list[Any] = draw(
                st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), min_size=n, max_size=n)
            )
            columns[name] = pl.Series(name, values, dtype=pl.Int64)
        elif kind == "uint8":
            columns[name] = pl.Series(
                name, draw(st.lists(st.one_of(st.none(), st.integers(0, 255)), min_size=n, max_size=n)), dtype=pl.UInt8
            )
        elif kind in ("float", "f32"):
            values = draw(st.lists(_FLOATS, min_size=n, max_size=n))
            dtype = pl.Float64 if kind == "float" else pl.Float32
            columns[name] = pl.Series(name, values, dtype=pl.Float64, strict=False).cast(dtype)
        elif kind == "bool":
            columns[name] = pl.Series(
                name, draw(st.lists(st.one_of(st.none(), st.booleans()), min_size=n, max_size=n)), dtype=pl.Boolean
            )
        elif kind == "str":
            columns[name] = pl.Series(
                name, draw(st.lists(st.one_of(st.none(), st.text(max_size=8)), min_size=n, max_size=n)), dtype=pl.String
            )
        elif kind == "ts":
            unit = draw(st.sampled_from(["ns", "us", "ms"]))
            series = pl.Series(name, draw(st.lists(_TIMES, min_size=n, max_size=n)), dtype=pl.Datetime(unit))
            zone = draw(_ZONES)
            columns[name] = series if zone is None else series.dt.replace_time_zone("UTC").dt.convert_time_zone(zone)
        elif kind == "date":
            columns[name] = pl.Series(
                name, draw(st.lists(st.one_of(st.none(), st.dates()), min_size=n, max_size=n)), dtype=pl.Date
            )
        elif kind == "cat":
            columns[name] = pl.Series(
                name,
                draw(st.lists(st.one_of(st.none(), st.sampled_from("abc")), min_size=n, max_size=n)),
                dtype=pl.Categorical,
            )
        else:
            values = draw(st.lists(st.one_of(st.none(), st.lists(_FLOATS, max_size=3)), min_size=n, max_size=n))
            columns[name] = pl.Series(name, values, dtype=pl.List(pl.Float64))
    return pl.DataFrame(list(columns.values()))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    frame=_frames(),
    describe=st.dictionaries(st.text(max_size=5), st.one_of(st.integers(), st.text(max_size=5)), max_size=3),
)
def test_an_entry_reads_back_as_it_was_written_byte_for_byte(tmp_path, frame, describe):
    store = Store(tmp_path, max_bytes=10**9)
    written = store.put("indicators", KEY, frame, describe=describe)
    read = store.get("indicators", KEY)
    assert read is not None
    assert read.frame.schema == frame.schema
    assert _cells(read.frame) == _cells(frame)
    assert read.describe == describe == written.describe
    assert read.digest == written.digest
    assert read.size == written.size == read.path.stat().st_size


def test_the_layout_is_level_prefix_key(tmp_path):
    store = Store(tmp_path, max_bytes=10**9)
    entry = store.put("signals", KEY, _frame(3, 1), describe={"what": "entries"})
    assert entry.path == tmp_path / "signals" / KEY[:2] / f"{KEY}.parquet"
    found = pl.read_parquet_metadata(entry.path)
    assert found["ml4t.format"] == FORMAT == "ml4t-cache/1"
    assert found["ml4t.describe"] == '{"what":"entries"}'
    assert sorted(p.name for p in (tmp_path / "signals" / KEY[:2]).iterdir()) == [f"{KEY}.parquet"]


def test_a_missing_entry_is_none_and_a_put_replaces(tmp_path):
    store = Store(tmp_path, max_bytes=10**9)
    assert store.get("results", KEY) is None
    store.put("results", KEY, _frame(3, 1), describe={})
    store.put("results", KEY, _frame(2, 5), describe={"v": 2})
    entry = store.get("results", KEY)
    assert entry is not None and _cells(entry.frame) == _cells(_frame(2, 5)) and entry.describe == {"v": 2}


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda s: s.get("indicator", KEY), "level"),
        (lambda s: s.get("indicators", "ABCDEF0123456789"), "key"),
        (lambda s: s.get("indicators", "../../etc/passwd"), "key"),
        (lambda s: s.get("indicators", "abc"), "key"),
        (lambda s: s.put("indicators", KEY, {"a": [1]}, describe={}), "frame"),
        (lambda s: s.put("indicators", KEY, _frame(2, 1), describe={"x": float("nan")}), "describe"),
        (lambda s: s.put("indicators", KEY, _frame(2, 1), describe={"x": object()}), "describe"),
        (lambda s: s.put("indicators", KEY, _frame(2, 1), describe=[1]), "describe"),
        (
            lambda s: s.put(
                "indicators", KEY, pl.DataFrame({"o": pl.Series([object()], dtype=pl.Object)}), describe={}
            ),
            "frame",
        ),
    ],
)
def test_bad_arguments_are_config_errors_naming_the_argument(tmp_path, call, argument):
    with pytest.raises(ConfigError) as error:
        call(Store(tmp_path, max_bytes=10**9))
    assert error.value.argument == argument
    assert not list(tmp_path.rglob("*.parquet"))


@pytest.mark.parametrize(
    ("root", "max_bytes", "argument"),
    [("", 10, "root"), (3, 10, "root"), ("x", 0, "max_bytes"), ("x", True, "max_bytes"), ("x", 1.5, "max_bytes")],
)
def test_a_store_refuses_bad_settings(root, max_bytes, argument):
    with pytest.raises(ConfigError) as error:
        Store(root, max_bytes=max_bytes)
    assert error.value.argument == argument


def test_every_level_is_a_folder_of_its_own(tmp_path):
    store = Store(tmp_path, max_bytes=10**9)
    for i, level in enumerate(LEVELS):
        store.put(level, KEY, _frame(2, i), describe={"level": level})
    for i, level in enumerate(LEVELS):
        entry = store.get(level, KEY)
        assert entry is not None and entry.describe == {"level": level} and _cells(entry.frame) == _cells(_frame(2, i))


# -- damaged entries ----------------------------------------------------------------------------------------------


def _damaged(store: Store, level: str, key: str, match: str) -> None:
    """``get`` warns naming the entry and why, removes the file, and returns None; a get_or_compute then
    recomputes and stores the entry again."""
    path = store.path(level, key)
    with pytest.warns(CacheWarning, match=match) as caught:
        assert store.get(level, key) is None
    assert f"{level}/{key}" in str(caught[0].message)
    assert not path.exists()
    frame, hit = store.get_or_compute(level, key, lambda: _frame(4, 9), describe={"again": True})
    assert not hit and _cells(frame) == _cells(_frame(4, 9))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        entry = store.get(level, key)
    assert entry is not None and _cells(entry.frame) == _cells(_frame(4, 9))


@pytest.mark.parametrize("keep", [0, 1, 4, 100, 0.5, 0.99, -1])
def test_a_truncated_entry_is_warned_about_removed_and_recomputed(tmp_path, keep):
    store = Store(tmp_path, max_bytes=10**9)
    entry = store.put("indicators", KEY, _frame(50, 1), describe={"what": "sma"})
    data = entry.path.read_bytes()
    cut = keep if isinstance(keep, int) and keep >= 0 else int(len(data) * keep) if keep > 0 else len(data) - 1
    entry.path.write_bytes(data[:cut])
    _damaged(store, "indicators", KEY, "damaged: it(s bytes do not match its checksum| has no checksum)")


def test_a_flipped_byte_anywhere_in_an_entry_is_detected(tmp_path):
    """Every position of a small entry, one flipped bit each: never decoded, whatever the byte was."""
    frame = pl.DataFrame(
        {"x": [1.5, None, float("nan")], "s": ["a", None, "b"], "c": pl.Series(["u", "v", None], dtype=pl.Categorical)}
    )
    data, _ = _entry.encode("signals", KEY, frame, '{"what":"x"}')
    assert _cells(_entry.decode(data, "signals", KEY).frame) == _cells(frame)
    for position in range(len(data)):
        for bit in (0x01, 0x80):
            damaged = bytearray(data)
            damaged[position] ^= bit
            with pytest.raises(_entry.Damaged):
                _entry.decode(bytes(damaged), "signals", KEY)


@pytest.mark.parametrize("where", [0.3, 0.6, 0.95])
def test_a_flipped_byte_in_a_stored_entry_is_warned_about_removed_and_recomputed(tmp_path, where):
    store = Store(tmp_path, max_bytes=10**9)
    entry = store.put("results", KEY, _frame(40, 2), describe={"what": "metrics"})
    data = bytearray(entry.path.read_bytes())
    data[int(len(data) * where)] ^= 0x04
    entry.path.write_bytes(bytes(data))
    _damaged(store, "results", KEY, "do not match its checksum")


def test_a_digest_that_does_not_match_the_content_is_warned_about(tmp_path, monkeypatch):
    """Bytes that are whole (their checksum holds) but whose stored digest is not the content's, read by another
    Polars than the one that wrote and checked them (the reader then recomputes the digest)."""
    store = Store(tmp_path, max_bytes=10**9)
    with monkeypatch.context() as patch:
        patch.setattr(_entry, "digest", lambda *args: "0" * 32)
        store.put("indicators", KEY, _frame(5, 1), describe={})
    monkeypatch.setattr(_entry, "_READER", "polars 0.0.0")
    _damaged(store, "indicators", KEY, "content does not match its digest")


def test_the_reader_that_wrote_and_checked_an_entry_does_not_recompute_its_digest(tmp_path, monkeypatch):
    store = Store(tmp_path, max_bytes=10**9)
    frame = _frame(40, 2)
    written = store.put("indicators", KEY, frame, describe={"a": 1})
    monkeypatch.setattr(_entry, "digest", _refuse)
    read = store.get("indicators", KEY)
    assert read is not None and read.frame.equals(frame) and read.digest == written.digest


def _refuse(*args: object) -> str:
    raise AssertionError("the digest was recomputed")


def test_a_frame_that_does_not_read_back_as_written_is_refused_at_put(tmp_path, monkeypatch):
    calls = iter(range(10))
    monkeypatch.setattr(_entry, "digest", lambda *args: f"{next(calls):032x}")  # what is read is not what was written
    store = Store(tmp_path, max_bytes=10**9)
    with pytest.raises(ConfigError, match="does not read back") as info:
        store.put("indicators", KEY, _frame(5, 1), describe={})
    assert info.value.argument == "frame"
    assert not store.path("indicators", KEY).exists()


def test_entries_are_written_with_lz4_the_fastest_codec_to_read(tmp_path):
    import pyarrow.parquet as pq

    entry = Store(tmp_path, max_bytes=10**9).put("indicators", KEY, _frame(40, 2), describe={})
    meta = pq.read_metadata(entry.path)
    assert {meta.row_group(0).column(i).compression for i in range(meta.num_columns)} <= {"LZ4", "LZ4_RAW"}


def test_an_entry_of_a_foreign_format_version_is_warned_about(tmp_path, monkeypatch):
    store = Store(tmp_path, max_bytes=10**9)
    with monkeypatch.context() as patch:
        patch.setattr(_entry, "FORMAT", "ml4t-cache/2")
        store.put("event", KEY, _frame(5, 1), describe={})
    assert pl.read_parquet_metadata(store.path("event", KEY))["ml4t.format"] == "ml4t-cache/2"
    _damaged(store, "event", KEY, "in format 'ml4t-cache/2', this ml4t reads 'ml4t-cache/1'")


def test_an_entry_copied_to_another_key_is_refused(tmp_path):
    store = Store(tmp_path, max_bytes=10**9)
    entry = store.put("indicators", KEY, _frame(5, 1), describe={})
    other = "f" * 32
    store.path("indicators", other).parent.mkdir(parents=True)
    store.path("indicators", other).write_bytes(entry.path.read_bytes())
    _damaged(store, "indicators", other, f"holds entry indicators/{KEY}")


def test_a_foreign_file_under_an_entry_name_is_refused(tmp_path):
    store = Store(tmp_path, max_bytes=10**9)
    path = store.path("signals", KEY)
    path.parent.mkdir(parents=True)
    _frame(3, 1).write_parquet(path)  # a valid Parquet file, not an entry
    _damaged(store, "signals", KEY, "has no checksum")


# -- concurrency (real processes) ---------------------------------------------------------------------------------


def _key_locks(root: Path) -> list[Path]:
    """The per-key lock files left (the store-wide ``root/.lock`` stays by design)."""
    return [p for p in root.rglob("*.lock") if p.parent != root]


def _compute_in_child(root: str, key: str, counter: str, start: Any) -> tuple[list[Any], bool]:
    """Runs in a spawned process: wait for the others, then get_or_compute one key with a slow computation
    that appends a line to ``counter`` (the count of computations)."""

    def compute() -> pl.DataFrame:
        with open(counter, "a") as file:
            file.write(f"{os.getpid()}\n")
        time.sleep(0.5)
        return _frame(100, 3)

    start.wait(timeout=30)
    frame, hit = Store(root, max_bytes=10**9).get_or_compute("indicators", key, compute, describe={"what": "slow"})
    return _cells(frame), hit


def test_two_processes_asking_for_one_missing_entry_compute_it_once(tmp_path):
    counter = tmp_path / "computations.txt"
    counter.touch()
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(2) as pool:
        start = manager.Barrier(2)
        jobs = [
            pool.apply_async(_compute_in_child, (str(tmp_path / "cache"), KEY, str(counter), start)) for _ in range(2)
        ]
        results = [job.get(timeout=60) for job in jobs]
    assert len(counter.read_text().splitlines()) == 1
    assert sorted(hit for _, hit in results) == [False, True]
    assert results[0][0] == results[1][0] == _cells(_frame(100, 3))
    assert _key_locks(tmp_path / "cache") == []  # per-key locks do not pile up


def _write_many(root: str, worker: int, max_bytes: int, start: Any) -> int:
    """Runs in a spawned process: write 12 entries of its own under the tiny limit, reading some back."""
    start.wait(timeout=30)
    store = Store(root, max_bytes=max_bytes)
    for i in range(12):
        key = f"{worker:02x}{i:02x}" + "0" * 28
        store.put("results", key, _frame(30 + i, worker * 100 + i), describe={"worker": worker, "i": i})
        store.get("results", f"{worker:02x}{max(i - 1, 0):02x}" + "0" * 28)
    return worker


def test_eight_processes_under_a_tiny_limit_keep_the_store_within_it_and_whole(tmp_path):
    root = tmp_path / "cache"
    one = (
        Store(tmp_path / "probe", max_bytes=10**9)
        .put("results", KEY, _frame(40, 1), describe={"worker": 1, "i": 1})
        .size
    )
    limit = one * 5
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(8) as pool:
        start = manager.Barrier(8)
        jobs = [pool.apply_async(_write_many, (str(root), worker, limit, start)) for worker in range(8)]
        assert sorted(job.get(timeout=120) for job in jobs) == list(range(8))
    files = list(root.rglob("*.parquet"))
    assert len(files) > 0 and sum(f.stat().st_size for f in files) <= limit
    assert not list(root.rglob("*.tmp")) and _key_locks(root) == []
    store = Store(root, max_bytes=limit)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for file in files:
            key = file.stem
            entry = store.get("results", key)
            worker, i = int(key[:2], 16), int(key[2:4], 16)
            assert entry is not None and entry.describe == {"worker": worker, "i": i}
            assert _cells(entry.frame) == _cells(_frame(30 + i, worker * 100 + i))


def _rewrite(root: str, key: str, times: int) -> int:
    """Runs in a spawned process: put one key again and again, alternating two large frames."""
    store = Store(root, max_bytes=10**9)
    for i in range(times):
        store.put("signals", key, _frame(50_000, i % 2), describe={"version": i % 2})
    return times


def test_a_reader_never_sees_a_partial_entry_while_a_process_rewrites_it(tmp_path):
    root = tmp_path / "cache"
    store = Store(root, max_bytes=10**9)
    store.put("signals", KEY, _frame(50_000, 0), describe={"version": 0})
    expected = {v: _cells(_frame(50_000, v)) for v in (0, 1)}
    reads = 0
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool, warnings.catch_warnings():
        warnings.simplefilter("error")  # a CacheWarning (a damaged entry seen) fails the test
        job = pool.apply_async(_rewrite, (str(root), KEY, 40))
        while not job.ready() or reads < 5:
            entry = store.get("signals", KEY)
            assert entry is not None
            assert _cells(entry.frame) == expected[entry.describe["version"]]
            reads += 1
        assert job.get(timeout=120) == 40
    assert list(root.rglob("*.tmp")) == []


def test_an_error_in_compute_stores_nothing_and_leaves_no_lock(tmp_path):
    store = Store(tmp_path, max_bytes=10**9)

    def fails() -> pl.DataFrame:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        store.get_or_compute("indicators", KEY, fails, describe={})
    assert store.get("indicators", KEY) is None
    assert _key_locks(tmp_path) == [] and not list(tmp_path.rglob("*.parquet"))


# -- least recently used eviction ---------------------------------------------------------------------------------


def _keys(n: int) -> list[str]:
    return [f"{i:02x}" * 16 for i in range(1, n + 1)]


def _surviving(root: Path) -> set[str]:
    return {p.stem for p in root.rglob("*.parquet")}


def test_a_used_entry_survives_the_eviction_of_older_ones(tmp_path):
    a, b, c, d, e = _keys(5)
    size = Store(tmp_path / "probe", max_bytes=10**9).put("indicators", a, _frame(20, 0), describe={}).size
    store = Store(tmp_path / "cache", max_bytes=int(size * 3.5))
    for key in (a, b, c):
        store.put("indicators", key, _frame(20, 0), describe={})
        time.sleep(0.02)  # file times have the kernel's clock tick as resolution
    assert store.get("indicators", a) is not None  # a is now the most recently used
    time.sleep(0.02)
    store.put("indicators", d, _frame(20, 0), describe={})
    assert _surviving(tmp_path / "cache") == {a, c, d}  # b, the least recently used, went
    time.sleep(0.02)
    store.put("signals", e, _frame(20, 0), describe={})  # across levels: one limit for the store
    assert _surviving(tmp_path / "cache") == {a, d, e}
    assert sum(f.stat().st_size for f in (tmp_path / "cache").rglob("*.parquet")) <= store.max_bytes


def test_an_entry_larger_than_the_limit_is_not_kept_but_its_put_returns_it(tmp_path):
    store = Store(tmp_path, max_bytes=100)
    entry = store.put("results", KEY, _frame(50, 1), describe={})
    assert _cells(entry.frame) == _cells(_frame(50, 1))
    assert not list(tmp_path.rglob("*.parquet"))
    frame, hit = store.get_or_compute("results", KEY, lambda: _frame(50, 1), describe={})
    assert not hit and _cells(frame) == _cells(_frame(50, 1))


def test_an_entry_open_by_a_reader_stays_readable_when_evicted(tmp_path):
    a, b = _keys(2)
    size = Store(tmp_path / "probe", max_bytes=10**9).put("indicators", a, _frame(30, 0), describe={}).size
    store = Store(tmp_path / "cache", max_bytes=int(size * 1.5))
    entry = store.put("indicators", a, _frame(30, 0), describe={"what": "a"})
    time.sleep(0.02)
    with open(entry.path, "rb") as reader:
        store.put("indicators", b, _frame(30, 0), describe={})  # evicts a while it is open
        assert not entry.path.exists()
        data = reader.read()
    assert _cells(_entry.decode(data, "indicators", a).frame) == _cells(_frame(30, 0))


def test_the_running_total_is_rebuilt_when_lost_or_garbled(tmp_path):
    keys = _keys(4)
    size = Store(tmp_path / "probe", max_bytes=10**9).put("indicators", keys[0], _frame(20, 0), describe={}).size
    store = Store(tmp_path / "cache", max_bytes=int(size * 2.5))
    for key in keys[:2]:
        store.put("indicators", key, _frame(20, 0), describe={})
        time.sleep(0.02)
    (tmp_path / "cache" / ".usage").write_text("garbage")
    store.put("indicators", keys[2], _frame(20, 0), describe={})
    assert int((tmp_path / "cache" / ".usage").read_text()) == 2 * size
    assert _surviving(tmp_path / "cache") == set(keys[1:3])


def test_stale_temporary_files_of_dead_writers_are_removed(tmp_path):
    store = Store(tmp_path, max_bytes=10**9)
    store.put("indicators", KEY, _frame(2, 0), describe={})
    stale = store.path("indicators", KEY).parent / f".{KEY}.999.dead.tmp"
    fresh = store.path("indicators", KEY).parent / f".{KEY}.998.live.tmp"
    stale.write_bytes(b"partial")
    fresh.write_bytes(b"partial")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    assert [e.key for e in store.entries()] == [KEY]
    assert not stale.exists() and fresh.exists()


def test_listing_usage_and_clear(tmp_path):
    store = Store(tmp_path, max_bytes=10**9)
    a, b, c = _keys(3)
    store.put("indicators", a, _frame(2, 0), describe={"what": "sma(close, 10)"})
    time.sleep(0.02)
    store.put("signals", b, _frame(2, 0), describe={"what": "entries"})
    time.sleep(0.02)
    store.put("signals", c, _frame(3, 0), describe={})
    listed = store.entries()
    assert [(e.level, e.key) for e in listed] == [("signals", c), ("signals", b), ("indicators", a)]
    assert listed[2].describe == {"what": "sma(close, 10)"} and listed[2].last_used.tzinfo == dt.UTC
    usage = store.usage()
    assert usage["signals"][0] == 2 and usage["indicators"] == (1, listed[2].size) and usage["results"] == (0, 0)
    assert store.clear("signals") == (2, usage["signals"][1])
    assert [e.key for e in store.entries()] == [a]
    assert store.clear() == (1, listed[2].size)
    assert store.entries() == [] and Store(tmp_path / "none", max_bytes=1).clear() == (0, 0)


def test_an_eviction_goes_down_to_nine_tenths_of_the_limit_so_the_next_puts_list_nothing(tmp_path, monkeypatch):
    keys = _keys(12)
    size = Store(tmp_path / "probe", max_bytes=10**9).put("indicators", keys[0], _frame(20, 0), describe={}).size
    store = Store(tmp_path / "cache", max_bytes=size * 10)
    listings = []
    original = Store._files
    monkeypatch.setattr(Store, "_files", lambda self, level=None: listings.append(level) or original(self, level))
    for key in keys[:11]:
        store.put("indicators", key, _frame(20, 0), describe={})
        time.sleep(0.02)
    assert listings == [None, None]  # the first put (no total yet) and the eleventh (over the limit)
    assert _surviving(tmp_path / "cache") == set(keys[2:11])  # 11 -> 9 entries: at most nine tenths
    store.put("indicators", keys[11], _frame(20, 0), describe={})
    assert len(listings) == 2 and _surviving(tmp_path / "cache") == set(keys[2:12])
    assert int((tmp_path / "cache" / ".usage").read_text()) == 10 * size
