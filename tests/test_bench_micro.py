"""The micro-benchmarks (``bench/micro``, ``make bench-micro``) are outside the default run; here each case runs
once, untimed (``--benchmark-disable``), so a change that breaks one shows in ``make test``. No timing is
asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_micro_benchmarks_are_not_in_the_default_run():
    import tomllib

    testpaths = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["testpaths"]
    assert testpaths == ["tests"]


def test_micro_benchmarks_run_once_untimed():
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "bench/micro", "-q", "-p", "no:cacheprovider", "--benchmark-disable"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "6 passed" in proc.stdout, proc.stdout[-3000:]
