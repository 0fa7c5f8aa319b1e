"""``ml4t cache ls | info | clear``: in-process through ``ml4t.cli.main`` for the output, and as a subprocess (as the
user runs it) for the exit status and the behaviour when stdin is not a terminal.

Exit status: 0 done (a declined clear too), 2 bad usage (an unknown level, no action, ``clear`` without ``--yes``
when stdin is not a terminal).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from ml4t.cache import Store
from ml4t.cli import main

A, B, C = ("a1" * 16, "b2" * 16, "c3" * 16)


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """A cache directory (ML4T_CACHE_DIR) with two signal entries and one indicator entry."""
    root = tmp_path / "cache"
    monkeypatch.setenv("ML4T_CACHE_DIR", str(root))
    store = Store(root, max_bytes=10**9)
    store.put("indicators", A, pl.DataFrame({"x": list(range(500))}), describe={"what": "sma(close, 10) of ALFA"})
    time.sleep(0.02)
    store.put("signals", B, pl.DataFrame({"e": [True, False]}), describe={"params": {"fast": 10}})
    time.sleep(0.02)
    store.put("signals", C, pl.DataFrame({"e": [True]}), describe={"what": "entries " + "x" * 200})
    return root


def _run(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ml4t.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )


def _si(n: int) -> str:
    """The reference for sizes as printed: bytes below 1000, else one decimal of kB, MB or GB."""
    if n < 1000:
        return f"{n} B"
    for power, unit in ((3, "GB"), (2, "MB"), (1, "kB")):
        if n >= 1000**power:
            return f"{n / 1000**power:.1f} {unit}"
    raise AssertionError(n)


def _sizes(root: Path) -> dict[str, int]:
    return {p.stem: p.stat().st_size for p in root.rglob("*.parquet")}


def test_ls_lists_entries_most_recently_used_first_with_what_they_are(cache, capsys):
    assert main(["cache", "ls"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["level", "key", "size", "last", "used", "(UTC)", "what"]
    assert [line.split()[:2] for line in lines[1:]] == [["signals", C], ["signals", B], ["indicators", A]]
    assert lines[3].endswith("sma(close, 10) of ALFA")
    assert lines[2].endswith('{"params":{"fast":10}}')  # no "what": the describe itself
    assert lines[1].endswith("…") and len(lines[1].split("  ")[-1]) <= 80  # long texts are cut
    size = _sizes(cache)[A]
    assert f" {_si(size)} " in lines[3]


def test_ls_of_one_level_and_of_an_empty_cache(cache, capsys, tmp_path, monkeypatch):
    assert main(["cache", "ls", "--level", "indicators"]) == 0
    assert [line.split()[1] for line in capsys.readouterr().out.splitlines()[1:]] == [A]
    assert main(["cache", "ls", "--level", "results"]) == 0
    assert capsys.readouterr().out == f"no entries of level results in {cache}\n"
    monkeypatch.setenv("ML4T_CACHE_DIR", str(tmp_path / "empty"))
    assert main(["cache", "ls"]) == 0
    assert capsys.readouterr().out == f"no entries in {tmp_path / 'empty'}\n"


def test_ls_marks_a_damaged_entry_without_removing_it(cache, capsys):
    path = next(cache.rglob(f"{B}.parquet"))
    path.write_bytes(path.read_bytes()[:-10])
    assert main(["cache", "ls"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if B in x)
    assert "damaged" in line and path.exists()


def test_info_prints_the_directory_entries_and_bytes_per_level_and_the_limit(cache, capsys):
    sizes = _sizes(cache)
    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"directory   {cache}"
    assert out[1] == "limit       5.0 GB (5000000000 bytes)"
    rows = {line.split()[0]: line.split(None, 1)[1] for line in out[2:]}
    assert rows["indicators"].startswith("1 entry, ") and rows["signals"].startswith("2 entries, ")
    assert rows["results"] == rows["event"] == "0 entries, 0 B"
    signals = sizes[B] + sizes[C]
    assert rows["signals"] == f"2 entries, {_si(signals)}"
    assert rows["indicators"] == f"1 entry, {_si(sizes[A])}"
    assert rows["total"].startswith("3 entries, ")


def test_clear_with_yes_removes_one_level_then_everything(cache, capsys):
    sizes = _sizes(cache)
    assert main(["cache", "clear", "--level", "signals", "--yes"]) == 0
    assert capsys.readouterr().out.startswith(f"removed 2 entries ({_si(sizes[B] + sizes[C])}) from {cache}")
    assert set(_sizes(cache)) == {A}
    assert main(["cache", "clear", "--yes"]) == 0
    assert capsys.readouterr().out.startswith("removed 1 entry (")
    assert _sizes(cache) == {}
    assert main(["cache", "clear", "--yes"]) == 0
    assert capsys.readouterr().out == f"nothing to clear in {cache}\n"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "removed"), [("y\n", True), ("yes\n", True), ("n\n", False), ("\n", False)])
def test_clear_asks_at_a_terminal(cache, capsys, monkeypatch, answer, removed):
    monkeypatch.setattr(sys, "stdin", _Terminal(answer))
    assert main(["cache", "clear", "--level", "indicators"]) == 0
    out = capsys.readouterr().out
    assert "remove 1 entry (" in out and f"of level indicators from {cache}? [y/N]" in out
    assert (A not in _sizes(cache)) is removed
    assert ("removed 1 entry" in out) is removed and ("nothing removed" in out) is not removed
    assert {B, C} <= set(_sizes(cache))


def test_clear_without_yes_and_without_a_terminal_is_a_usage_error(cache):
    done = _run("cache", "clear", stdin="y\n")
    assert done.returncode == 2
    assert "stdin is not a terminal: pass --yes to remove 3 entries" in done.stderr
    assert len(_sizes(cache)) == 3
    done = _run("cache", "clear", "--yes")
    assert done.returncode == 0 and done.stdout.startswith("removed 3 entries")
    assert _sizes(cache) == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("cache",), "required: ACTION"),
        (("cache", "ls", "--level", "indicator"), "invalid choice: 'indicator'"),
        (("cache", "clear", "--level", "nope", "--yes"), "invalid choice: 'nope'"),
        (("cache", "drop"), "invalid choice: 'drop'"),
    ],
)
def test_bad_usage_exits_2(cache, args, message):
    done = _run(*args)
    assert done.returncode == 2
    assert message in done.stderr
    assert len(_sizes(cache)) == 3


def test_a_cache_directory_that_is_a_file_is_a_usage_error(tmp_path):
    (tmp_path / "file").write_text("x")
    for action in ("ls", "info"):
        done = _run("cache", action, env={"ML4T_CACHE_DIR": str(tmp_path / "file")})
        assert done.returncode == 2 and "is not a directory" in done.stderr


def test_the_commands_run_as_the_user_runs_them(cache):
    done = _run("cache", "info")
    assert done.returncode == 0 and done.stdout.startswith(f"directory   {cache}\n")
    listed = _run("cache", "ls")
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == 4
    assert "cache" in _run("--help").stdout


def test_ls_into_a_pipe_closed_early_ends_quietly(tmp_path):
    """`ml4t cache ls | head -1`: the reader goes away after one line; ls ends with status 0 and no traceback."""

    store = Store(tmp_path / "cache", max_bytes=1 << 30)
    for i in range(400):
        store.put("indicators", f"{i:032x}", pl.DataFrame({"x": [i]}), describe={"what": f"entry {i}"})
    env = {**os.environ, "ML4T_CACHE_DIR": str(tmp_path / "cache")}
    command = f"{sys.executable} -m ml4t.cli cache ls | head -1"
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.startswith("level"), done.stdout
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr
