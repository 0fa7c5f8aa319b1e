"""``ml4t --version``, ``ml4t --help`` and ``ml4t report RESULT_DIR`` run as the user runs them: a subprocess
(``python -m ml4t.cli`` and the installed ``ml4t`` script), checked by exit status, output and the file written.

Exit status of ``ml4t report``: 0 written (the path printed), 1 the report failed, 2 bad usage (a missing
folder, one that is not a saved result, an ``-o`` whose folder does not exist), each message naming the path.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import plotly
import polars as pl
import pytest

import ml4t
from ml4t.datasets import synthetic_bars
from ml4t.demo import sma_cross
from ml4t.vectorized import VectorizedStrategy


def _ml4t(*args: str | Path, script: bool = False) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "ml4t")] if script else [sys.executable, "-m", "ml4t.cli"]
    return subprocess.run([*command, *map(str, args)], capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    result = VectorizedStrategy(sma_cross, fees=0.001).run(synthetic_bars(2, 120, "1d", seed=3), fast=3, slow=9)
    return result.save(tmp_path_factory.mktemp("runs") / "sma")


def test_version_prints_ml4t_polars_plotly_and_python_on_one_line():
    for script in (False, True):
        done = _ml4t("--version", script=script)
        assert done.returncode == 0, done.stderr
        expected = (
            f"ml4t {ml4t.__version__} (polars {pl.__version__}, plotly {plotly.__version__}, "
            f"Python {platform.python_version()})\n"
        )
        assert done.stdout == expected


def test_help_lists_the_commands():
    done = _ml4t("--help")
    assert done.returncode == 0
    assert "--version" in done.stdout
    for command in ("lint", "report"):
        assert f"\n    {command} " in done.stdout
    report_help = _ml4t("report", "--help")
    assert report_help.returncode == 0
    assert "RESULT_DIR" in report_help.stdout and "-o OUT.html" in report_help.stdout
    assert "2  bad usage" in report_help.stdout


def test_no_command_is_a_usage_error():
    done = _ml4t()
    assert done.returncode == 2
    assert "required: COMMAND" in done.stderr


def test_report_writes_report_html_in_the_result_folder_and_prints_its_path(saved):
    out = saved / "report.html"
    done = _ml4t("report", saved, script=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{out}\n"
    html = out.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert ml4t.Result.load(saved).data_fingerprint in html
    out.unlink()  # the folder is a saved result again, as the other tests expect


def test_report_writes_where_o_says(saved, tmp_path):
    out = tmp_path / "elsewhere.html"
    done = _ml4t("report", saved, "-o", out)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{out}\n"
    assert out.stat().st_size > 0
    assert not (saved / "report.html").exists()


def test_a_missing_folder_is_a_usage_error_naming_it(tmp_path):
    missing = tmp_path / "no-such-run"
    done = _ml4t("report", missing)
    assert done.returncode == 2
    assert done.stderr == f"ml4t report: RESULT_DIR {missing} does not exist\n"
    assert done.stdout == ""


@pytest.mark.parametrize("content", [None, '{"format": "something-else/1"}'])
def test_a_folder_that_is_not_a_saved_result_is_a_usage_error_naming_it(tmp_path, content):
    folder = tmp_path / "plain"
    folder.mkdir()
    if content is not None:
        (folder / "manifest.json").write_text(content)
    done = _ml4t("report", folder)
    assert done.returncode == 2
    assert done.stderr.startswith(f"ml4t report: {folder} is not a saved ml4t result")
    assert not (folder / "report.html").exists()


def test_an_output_folder_that_does_not_exist_is_a_usage_error(saved, tmp_path):
    out = tmp_path / "missing" / "r.html"
    done = _ml4t("report", saved, "-o", out)
    assert done.returncode == 2
    assert done.stderr == f"ml4t report: the folder of -o {out} does not exist\n"


def test_a_damaged_result_fails_the_report_with_status_1_naming_the_file(saved, tmp_path):
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for file in saved.iterdir():
        (damaged / file.name).write_bytes(file.read_bytes())
    (damaged / "fills.parquet").write_bytes(b"PAR1")
    done = _ml4t("report", damaged)
    assert done.returncode == 1
    assert "fills.parquet has 4 bytes, the manifest says" in done.stderr
    assert not (damaged / "report.html").exists()


def test_a_report_that_cannot_be_written_fails_with_status_1(saved, tmp_path):
    out = tmp_path / "a-folder.html"
    out.mkdir()  # a folder where the file should go
    done = _ml4t("report", saved, "-o", out)
    assert done.returncode == 1
    assert f"ml4t report: {saved}: the report failed: IsADirectoryError" in done.stderr
    assert list(out.iterdir()) == []


def test_a_result_saved_without_its_bars_is_reported_too(saved, tmp_path):
    result = ml4t.Result.load(saved)
    folder = result.save(tmp_path / "nobars", bars=False)
    done = _ml4t("report", folder)
    assert done.returncode == 0, done.stderr
    assert result.data_fingerprint in (folder / "report.html").read_text(encoding="utf-8")
