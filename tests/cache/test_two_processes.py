"""Two processes sweeping into one cache at the same time (issue #16): real processes (``subprocess``), bounded in
time. Both results equal the uncached sweep's, the store holds no damaged or temporary file afterwards, and a third
sweep is all hits.

Each worker is this module's ``WORKER`` script: it builds the same bars, waits for a start file (so both sweep at
once, not one after the other), sweeps into the store (or without the cache) with a CacheWarning made an error,
and writes its metrics and the cache's counts (over its levels: results blocks, signals, indicator leaves).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import polars as pl

from ml4t.cache import Store

WORKER = """
import json, sys, time, warnings
from pathlib import Path

import polars as pl

from ml4t.cache import CacheWarning, Store
from ml4t.datasets import synthetic_bars
from ml4t.vectorized import VectorizedStrategy

warnings.simplefilter("error", CacheWarning)


def cross(fast, slow):
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s, "exits": f < s}


root, start, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
bars = synthetic_bars(6, 1500, "1d", seed=11)
deadline = time.monotonic() + 60
while not start.exists():
    if time.monotonic() > deadline:
        sys.exit("the start file never came")
    time.sleep(0.002)
cache = False if root == "-" else Store(root, max_bytes=1 << 30)
sweep = VectorizedStrategy(cross).sweep(
    bars, cache=cache, progress=False, fast=[3, 5, 8, 13, 21], slow=[30, 40, 50, 60, 80, 100]
)
sweep.metrics.write_parquet(out / "metrics.parquet")
counts = None if sweep.cache is None else {k: getattr(sweep.cache, k) for k in ("hits", "misses", "uncached")}
(out / "cache.json").write_text(json.dumps(counts))
"""

TIMEOUT = 240


def _start(script: Path, root: str, start: Path, out: Path) -> subprocess.Popen[str]:
    out.mkdir()
    env = {**os.environ, "ML4T_PROGRESS": "0"}
    return subprocess.Popen(
        [sys.executable, str(script), root, str(start), str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _finish(process: subprocess.Popen[str], out: Path) -> tuple[pl.DataFrame, dict | None]:
    try:
        _, stderr = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    assert process.returncode == 0, stderr
    return pl.read_parquet(out / "metrics.parquet"), json.loads((out / "cache.json").read_text())


def test_two_processes_sweeping_into_one_store_agree_and_leave_it_whole(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER, encoding="utf-8")
    root = tmp_path / "cache"
    go = tmp_path / "go"
    go.touch()
    reference, none = _finish(_start(script, "-", go, tmp_path / "plain"), tmp_path / "plain")
    assert none is None
    go.unlink()

    workers = [(_start(script, str(root), go, tmp_path / name), tmp_path / name) for name in ("one", "two")]
    time.sleep(0.5)  # both are waiting for the start file by now (or soon after: they poll every 2 ms)
    go.touch()
    results = [_finish(process, out) for process, out in workers]
    for metrics, counts in results:
        assert metrics.equals(reference)
        assert counts is not None and counts["uncached"] == 0
    # at least one of them computed and stored; when they overlapped both did (a loaded machine may start one
    # after the other has finished: the second then reads everything, which is correct too)
    assert sum(counts["misses"] for _, counts in results) > 0

    # nothing temporary or damaged is left: every entry reads back and checks out, without a warning
    leftovers = [p for p in root.rglob("*") if p.is_file() and p.suffix in (".tmp", ".lock") and p.name != ".lock"]
    assert leftovers == []
    store = Store(root, max_bytes=1 << 30)
    infos = store.entries()
    assert infos and all(info.describe is not None for info in infos)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert all(store.get(info.level, info.key) is not None for info in infos)

    third, counts = _finish(_start(script, str(root), go, tmp_path / "three"), tmp_path / "three")
    assert third.equals(reference)
    assert counts is not None and counts["misses"] == 0 and counts["hits"] > 0
