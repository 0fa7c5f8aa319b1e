"""``ml4t run`` / ``ml4t sweep`` with the cache on (issue #16), run as the user runs them (``python -m ml4t.cli``):
on by default in ``$ML4T_CACHE_DIR``, ``--cache-dir DIR`` elsewhere, ``--no-cache`` off; one line of what the
cache did, recorded in the manifest; the outputs and the run id never depend on it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import ml4t.cache
from ml4t.cache import Store
from ml4t.config import Study

SWEEP = """
[data.synthetic]
n_assets = 2
n_bars = 200
seed = 7

[strategy]
rules.entries = "close > sma(close, fast)"
rules.exits = "close < sma(close, fast)"
params = { fast = 10 }

[sweep]
grid.fast = [5, 10, 20]

[report]
html = false
"""

EVENT = """
[data.synthetic]
n_assets = 2
n_bars = 200
seed = 7

[strategy]
mode = "event"
ref = "cross_strategy:Cross"
params = { fast = 5, slow = 20 }

[report]
html = false
"""

STRATEGY = """
import polars as pl
from ml4t.event import Strategy


class Cross(Strategy):
    def __init__(self, fast, slow):
        self.fast, self.slow = fast, slow

    def indicators(self):
        return {"fast": pl.col("close").rolling_mean(self.fast), "slow": pl.col("close").rolling_mean(self.slow)}

    def on_bar(self, ctx, bars):
        for bar in bars:
            if bar.fast > bar.slow and ctx.position(bar.symbol) == 0:
                ctx.order_target_percent(bar.symbol, 0.4)
            elif bar.fast < bar.slow and ctx.position(bar.symbol) > 0:
                ctx.order_target_percent(bar.symbol, 0.0)
"""


def _ml4t(cwd: Path, *args: str | Path, cache_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ML4T__")}
    return subprocess.run(
        [sys.executable, "-m", "ml4t.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
        env={**env, "ML4T_PROGRESS": "0", "ML4T_CACHE_DIR": str(cache_dir)},
    )


def _study(tmp_path: Path, text: str) -> Path:
    (tmp_path / "cross_strategy.py").write_text(STRATEGY, encoding="utf-8")
    file = tmp_path / "study.toml"
    file.write_text(textwrap.dedent(text), encoding="utf-8")
    return file


def _manifest(runs: Path) -> dict:
    (folder,) = [p for p in runs.iterdir() if not p.name.startswith(".")]
    return json.loads((folder / "manifest.json").read_text())


def _cache_line(stdout: str) -> str:
    (line,) = [line for line in stdout.splitlines() if line.startswith("cache: ")]
    return line


def _counts(hits: int, misses: int) -> dict[str, int]:
    return {"hits": hits, "misses": misses, "uncached": 0}


# the sweep: one results block (3 combinations), 4 distinct leaves (close and 3 moving averages), each one entry
# over its 2 symbols; warm, the block is found and nothing below it is looked up. The event run: 2 indicators.
CASES = {
    "sweep": (SWEEP, {"results": (1, 1), "signals": (0, 0), "indicators": (4, 0)}),
    "event": (EVENT, {"event": (2, 2)}),
}


@pytest.mark.parametrize(("text", "levels"), CASES.values(), ids=CASES.keys())
def test_a_second_run_in_a_fresh_runs_folder_hits_and_its_outputs_are_the_same(tmp_path, text, levels):
    _study(tmp_path, text)
    cache = tmp_path / "cache"
    cold = sum(n for n, _ in levels.values())
    warm = sum(n for _, n in levels.values())
    first = _ml4t(tmp_path, "run", "study.toml", "--runs", "runs1", cache_dir=cache)
    assert first.returncode == 0, first.stderr
    assert _cache_line(first.stdout) == "cache: " + "; ".join(
        f"{name} 0 hits, {n} misses ({f'{n} x ' if n > 1 else ''}not in the cache)"
        for name, (n, _) in levels.items()
        if n
    )
    second = _ml4t(tmp_path, "run", "study.toml", "--runs", "runs2", cache_dir=cache)
    assert second.returncode == 0, second.stderr
    assert _cache_line(second.stdout) == "cache: " + "; ".join(
        f"{name} {n} hits, 0 misses" for name, (_, n) in levels.items() if n
    )
    one, two = _manifest(tmp_path / "runs1"), _manifest(tmp_path / "runs2")
    assert one["run_id"] == two["run_id"] and one["outputs"] == two["outputs"]
    assert one["cache"] == {
        "used": True,
        "dir": str(cache),
        **_counts(0, cold),
        "reasons": {"not in the cache": cold},
        "levels": {level: _counts(0, n) for level, (n, _) in levels.items()},
    }
    assert two["cache"] == {
        **one["cache"],
        **_counts(warm, 0),
        "reasons": {},
        "levels": {level: _counts(n, 0) for level, (_, n) in levels.items()},
    }
    off = _ml4t(tmp_path, "run", "study.toml", "--runs", "runs3", "--no-cache", cache_dir=tmp_path / "unused")
    assert off.returncode == 0, off.stderr
    assert _cache_line(off.stdout) == "cache: off"
    three = _manifest(tmp_path / "runs3")
    assert three["run_id"] == one["run_id"] and three["outputs"] == one["outputs"]
    assert three["cache"] == {"used": False}
    assert not (tmp_path / "unused").exists()  # --no-cache touches no file


def test_no_cache_touches_no_file_and_cache_dir_points_elsewhere(tmp_path):
    _study(tmp_path, SWEEP)
    default = tmp_path / "default"
    off = _ml4t(tmp_path, "sweep", "study.toml", "--runs", "a", "--no-cache", cache_dir=default)
    assert off.returncode == 0, off.stderr
    assert not default.exists()
    elsewhere = tmp_path / "elsewhere"
    on = _ml4t(tmp_path, "sweep", "study.toml", "--runs", "b", "--cache-dir", elsewhere, cache_dir=default)
    assert on.returncode == 0, on.stderr
    assert not default.exists()
    assert Store(elsewhere, max_bytes=10**9).usage()["indicators"][0] == 4 + 1  # each leaf, the strategy's slot
    assert _manifest(tmp_path / "a")["outputs"] == _manifest(tmp_path / "b")["outputs"]
    found = _ml4t(tmp_path, "sweep", "study.toml", "--runs", "b", cache_dir=default)  # an identical run: reused
    assert found.returncode == 0 and "found an identical run" in found.stdout and "cache:" not in found.stdout
    assert not default.exists()


def test_bad_cache_options_are_usage_errors(tmp_path):
    _study(tmp_path, SWEEP)
    (tmp_path / "file").write_text("x")
    cache = tmp_path / "cache"
    both = _ml4t(tmp_path, "run", "study.toml", "--no-cache", "--cache-dir", "c", cache_dir=cache)
    assert both.returncode == 2 and "not allowed with" in both.stderr
    not_a_dir = _ml4t(tmp_path, "run", "study.toml", "--cache-dir", "file", cache_dir=cache)
    assert not_a_dir.returncode == 2 and "is not a directory" in not_a_dir.stderr
    ran = _ml4t(tmp_path, "run", "study.toml", "--no-cache", cache_dir=cache)
    assert ran.returncode == 0, ran.stderr
    (folder,) = (tmp_path / "runs").iterdir()
    again = _ml4t(tmp_path, "run", folder, "--no-cache", cache_dir=cache)
    assert again.returncode == 2 and "a reproduction never reads the cache" in again.stderr
    reproduced = _ml4t(tmp_path, "run", folder, cache_dir=cache)
    assert reproduced.returncode == 0 and "identical" in reproduced.stdout
    assert not cache.exists()


def test_study_run_keeps_the_library_default_and_takes_a_store(tmp_path, monkeypatch):
    file = _study(tmp_path, SWEEP)
    monkeypatch.setenv("ML4T_CACHE_DIR", str(tmp_path / "default"))
    ml4t.cache._config._reset()
    off = Study.from_file(file).run(tmp_path / "runs1")
    assert off.cache is None and "cache: off" in off.summary()
    assert not (tmp_path / "default").exists()
    store = Store(tmp_path / "given", max_bytes=10**9)
    cold = Study.from_file(file).run(tmp_path / "runs2", cache=store)
    warm = Study.from_file(file).run(tmp_path / "runs3", cache=store)
    assert cold.cache is not None and (cold.cache.hits, cold.cache.misses) == (0, 5)
    assert warm.cache is not None and (warm.cache.hits, warm.cache.misses) == (1, 0)
    assert cold.sweep is not None and warm.sweep is not None and off.sweep is not None
    assert warm.sweep.equals(cold.sweep) and warm.sweep.equals(off.sweep)
    assert warm.run_id == cold.run_id == off.run_id
