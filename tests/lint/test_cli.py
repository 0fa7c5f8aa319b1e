"""``ml4t lint`` from the shell, and ``ml4t.lint.check`` on sources, paths and notebooks."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import ml4t
from ml4t import lint
from ml4t.cli import main

LEAKY = "import polars as pl\n\nfuture = pl.col('close').shift(-1)\nok = pl.col('close').shift(1)\n"


def test_check_reads_source_text_and_paths(tmp_path):
    assert [(f.line, f.code) for f in lint.check(LEAKY)] == [(3, "PIT001")]
    file = tmp_path / "strategy.py"
    file.write_text(LEAKY)
    (finding,) = lint.check(file)
    assert finding.path == str(file)
    assert str(finding).startswith(f"{file}:3:10: PIT001 ")


def test_select_and_ignore_take_codes_and_families():
    assert lint.check(LEAKY, select=["PIT"]) == lint.check(LEAKY, select=["pit001"])
    assert lint.check(LEAKY, ignore=["PIT"]) == []
    with pytest.raises(ml4t.ConfigError, match="unknown lint code") as info:
        lint.check(LEAKY, select=["XYZ123"])
    assert info.value.argument == "select"


def test_a_file_that_does_not_parse_is_a_lint_error():
    with pytest.raises(ml4t.LintError, match="cannot parse"):
        lint.check("def broken(:\n")


def test_the_command_prints_findings_a_summary_and_exits_1(tmp_path, capsys):
    file = tmp_path / "strategy.py"
    file.write_text(LEAKY)
    assert main(["lint", str(file)]) == 1
    out = capsys.readouterr().out
    assert f"{file}:3:10: PIT001 shift(-1) reads a later row" in out
    assert "Found 1 problem(s): PIT001 x1." in out


def test_clean_files_exit_0_and_json_is_machine_readable(tmp_path, capsys):
    clean = tmp_path / "clean.py"
    clean.write_text("import polars as pl\nlag = pl.col('close').shift(1)\n")
    assert main(["lint", str(tmp_path)]) == 0
    assert "All checks passed." in capsys.readouterr().out
    (tmp_path / "leaky.py").write_text(LEAKY)
    assert main(["lint", str(tmp_path), "--format", "json"]) == 1
    rows = json.loads(capsys.readouterr().out)
    assert [(Path(r["path"]).name, r["line"], r["code"]) for r in rows] == [("leaky.py", 3, "PIT001")]


def test_usage_errors_exit_2(tmp_path, capsys):
    assert main(["lint", str(tmp_path / "missing.py")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["lint", str(tmp_path), "--select", "NOPE"]) == 2
    assert main(["lint"]) == 2


def test_explain_prints_the_rule_documentation(capsys):
    assert main(["lint", "--explain", "PIT001"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("PIT001 (negative-shift)")
    assert "Use instead:" in out


def test_notebook_code_cells_are_linted_with_their_cell_number(tmp_path):
    notebook = {
        "cells": [
            {"cell_type": "markdown", "source": ["shift(-1) in prose is fine"]},
            {"cell_type": "code", "source": ["%matplotlib inline\n", LEAKY]},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "study.ipynb"
    path.write_text(json.dumps(notebook))
    (finding,) = lint.check_paths([path])
    assert finding.path == f"{path}[cell 2]"
    assert finding.line == 4  # the magic line keeps its place


def test_the_console_script_is_declared_and_runs_as_a_module(tmp_path):
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"]["ml4t"] == "ml4t.cli:main"
    file = tmp_path / "strategy.py"
    file.write_text(LEAKY)
    done = subprocess.run([sys.executable, "-m", "ml4t.cli", "lint", str(file)], capture_output=True, text=True)
    assert done.returncode == 1
    assert "PIT001" in done.stdout
