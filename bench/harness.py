"""The bench harness: run workloads in fresh subprocesses and print a table of times and peak memory.

Each workload is a module-level function ``name(repeat) -> Workload`` registered with :func:`workload`:
``setup()`` builds inputs (not timed), ``run(state)`` is the measured call, ``items`` says how many units
(bars, combinations, calls) one run processes so the table can show a rate. Every workload runs in its
own interpreter so imports, JIT caches and peak memory of one never leak into another. Peak memory is
the high-water mark of resident memory during the timed runs (inputs built by setup are already resident
and count; the peak counter is reset after setup via Linux ``/proc/self/clear_refs``)
and read after the last repeat.

    python -m bench                 # every workload
    python -m bench data            # only workloads whose name contains "data"
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

MODULES = ["bench.data_layer", "bench.vectorized", "bench.event", "bench.portfolio", "bench.report"]
"""Modules that register workloads; later issues add their peers' modules here."""

_REGISTRY: dict[str, Callable[[], Workload]] = {}


@dataclasses.dataclass
class Workload:
    setup: Callable[[], Any]
    run: Callable[[Any], Any]
    items: int
    unit: str
    group: str
    engine: str
    repeat: int = 3


def workload(fn: Callable[[], Workload]) -> Callable[[], Workload]:
    _REGISTRY[f"{fn.__module__}:{fn.__name__}"] = fn
    return fn


def _peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _measure(key: str) -> dict[str, Any]:
    """Runs inside the child process."""
    module = key.partition(":")[0]
    importlib.import_module(module)
    wl = _REGISTRY[key]()
    state = wl.setup()
    reset = _reset_peak_rss()
    times = []
    for _ in range(wl.repeat):
        t0 = time.perf_counter()
        wl.run(state)
        times.append(time.perf_counter() - t0)
    return {
        "key": key,
        "group": wl.group,
        "engine": wl.engine,
        "best_s": min(times),
        "times_s": times,
        "items": wl.items,
        "unit": wl.unit,
        "peak_mb": _peak_rss_mb() if reset else float("nan"),
    }


def _run_child(key: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "bench", "--child", key], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"key": key, "error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _table(rows: list[dict[str, Any]]) -> str:
    """Markdown table with ml4t's speed and memory ratios against the peers of the same workload group
    (above 1 means ml4t is faster / smaller): on an ml4t row against the fastest peer, on each peer's row
    ml4t (the group's first ml4t row) against that peer."""
    peers: dict[str, dict[str, Any]] = {}
    ours: dict[str, dict[str, Any]] = {}
    for r in rows:
        if "error" in r:
            continue
        if r["engine"].startswith("ml4t"):
            ours.setdefault(r["group"], r)
        else:
            best = peers.get(r["group"])
            if best is None or r["best_s"] < best["best_s"]:
                peers[r["group"]] = r
    header = (
        f"| {'workload':<28} | {'engine':<14} | {'best time':>11} | {'rate':>20} | {'peak MB':>8} "
        f"| {'ml4t speedup':>18} | {'memory':>7} |"
    )
    lines = [header, "|" + "|".join("-" * len(c) for c in header.split("|")[1:-1]) + "|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['key']:<28} | error: {r['error']}")
            continue
        rate = r["items"] / r["best_s"]
        speed = memory = ""
        if r["engine"].startswith("ml4t"):
            mine, peer = r, peers.get(r["group"])
            label = "vs fastest"
        else:
            mine, peer = ours.get(r["group"]), r
            label = "vs this"
        if mine is not None and peer is not None:
            speed = f"{peer['best_s'] / mine['best_s']:.2f}x {label}"
            memory = f"{peer['peak_mb'] / mine['peak_mb']:.1f}x"
        lines.append(
            f"| {r['group']:<28} | {r['engine']:<14} | {r['best_s'] * 1e3:>8.1f} ms | "
            f"{rate:>12,.0f} {r['unit'] + '/s':<7} | {r['peak_mb']:>8.1f} | {speed:>18} | {memory:>7} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("filter", nargs="?", default="", help="run only workloads whose name contains this")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print raw measurements as JSON lines too")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_measure(args.child)))
        return 0
    for module in MODULES:
        importlib.import_module(module)
    keys = [k for k in _REGISTRY if args.filter in k]
    print(
        f"# ml4t bench: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}"
    )
    rows = [_run_child(k) for k in keys]
    print(_table(rows))
    if args.json:
        for r in rows:
            print(json.dumps(r))
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
