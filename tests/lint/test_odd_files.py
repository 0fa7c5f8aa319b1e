"""The linter on files it cannot lint: each is one ``E902`` (cannot read) or ``E999`` (does not parse) line of
its own, the command exits 3, and every other file is still linted. Nothing blocks or reads without bound."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ml4t
from ml4t import lint
from ml4t.cli import main
from ml4t.lint import _source

LEAKY = "import polars as pl\n\nfuture = pl.col('close').shift(-1)\n"


def _leaky_neighbour(tmp_path: Path) -> Path:
    """A file with one known finding beside the odd file: it must still be linted."""
    good = tmp_path / "a_leaky.py"
    good.write_text(LEAKY)
    return good


def _lint_in_subprocess(*paths: Path) -> subprocess.CompletedProcess[str]:
    """``ml4t lint`` in a child process with a time limit, for files that used to hang or exhaust memory."""
    command = [sys.executable, "-m", "ml4t.cli", "lint", *map(str, paths)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_a_utf8_bom_file_is_valid_python_and_is_linted(tmp_path, capsys):
    file = tmp_path / "bom.py"
    file.write_bytes(b"\xef\xbb\xbf" + LEAKY.encode())
    assert [(f.line, f.code) for f in lint.check(file)] == [(3, "PIT001")]
    assert main(["lint", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{file}:3:10: PIT001" in out
    assert "E902" not in out


def test_a_coding_cookie_is_honoured_and_undecodable_text_is_e902(tmp_path, capsys):
    declared = tmp_path / "declared.py"
    declared.write_bytes(b"# -*- coding: latin-1 -*-\nname = '\xe9t\xe9'\n" + LEAKY.encode())
    assert [(f.line, f.code) for f in lint.check(declared)] == [(5, "PIT001")]
    undeclared = tmp_path / "undeclared.py"
    undeclared.write_bytes(b"name = '\xe9t\xe9'\n")
    good = _leaky_neighbour(tmp_path)
    assert main(["lint", str(tmp_path)]) == 3
    out = capsys.readouterr().out.splitlines()
    assert f"{undeclared}:1:1: E902 cannot read: not valid utf-8 text (byte 0xe9 at offset 8)" in out
    assert any(line.startswith(f"{good}:3:10: PIT001") for line in out)
    assert any(line.startswith(f"{declared}:5:10: PIT001") for line in out)
    assert "1 file(s) could not be linted (E902 cannot read, E999 cannot parse)." in out
    with pytest.raises(ml4t.LintError, match=r"cannot read .*undeclared\.py: not valid utf-8"):
        lint.check(undeclared)


def test_a_binary_file_and_an_unknown_cookie_are_e902(tmp_path):
    binary = tmp_path / "blob.py"
    binary.write_bytes(bytes(range(256)))
    cookie = tmp_path / "cookie.py"
    cookie.write_bytes(b"# coding: klingon\nx = 1\n")
    good = _leaky_neighbour(tmp_path)
    found = lint.check_paths([tmp_path])
    assert [(Path(f.path).name, f.code) for f in found] == [
        ("a_leaky.py", "PIT001"),
        ("blob.py", "E902"),
        ("cookie.py", "E902"),
    ]
    assert [f.path for f in found.unreadable] == [str(binary), str(cookie)]
    assert found.unreadable[0].message == "cannot read: binary file (NUL byte at offset 0)"
    assert "klingon" in found.unreadable[1].message
    assert found[0].path == str(good)


def test_a_file_that_does_not_parse_is_e999_and_the_others_are_linted(tmp_path, capsys):
    broken = tmp_path / "broken.py"
    broken.write_text("x = 1\ndef f(:\n    pass\n")
    _leaky_neighbour(tmp_path)
    assert main(["lint", str(tmp_path), "--format", "json"]) == 3
    rows = json.loads(capsys.readouterr().out)
    assert [(Path(r["path"]).name, r["line"], r["code"]) for r in rows] == [
        ("a_leaky.py", 3, "PIT001"),
        ("broken.py", 2, "E999"),
    ]
    assert rows[1]["message"].startswith("cannot parse: ")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")
def test_a_fifo_named_py_is_reported_not_opened_for_reading(tmp_path):
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)
    good = _leaky_neighbour(tmp_path)
    done = _lint_in_subprocess(tmp_path)
    assert done.returncode == 3, done.stderr
    assert f"{fifo}:1:1: E902 cannot read: not a regular file (a FIFO)" in done.stdout.splitlines()
    assert f"{good}:3:10: PIT001" in done.stdout
    done = _lint_in_subprocess(fifo)  # named explicitly
    assert done.returncode == 3
    assert "not a regular file (a FIFO)" in done.stdout


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_symlink_to_a_device_is_reported_not_read(tmp_path):
    link = tmp_path / "zero.py"
    link.symlink_to("/dev/zero")
    dangling = tmp_path / "gone.py"
    dangling.symlink_to(tmp_path / "nowhere.py")
    good = _leaky_neighbour(tmp_path)
    done = _lint_in_subprocess(tmp_path)
    assert done.returncode == 3, done.stderr
    lines = done.stdout.splitlines()
    assert f"{link}:1:1: E902 cannot read: not a regular file (a character device)" in lines
    assert f"{dangling}:1:1: E902 cannot read: No such file or directory" in lines
    assert f"{good}:3:10: PIT001" in done.stdout


def test_a_symlink_to_a_regular_file_is_followed(tmp_path):
    target = tmp_path / "real.txt"
    target.write_text(LEAKY)
    (tmp_path / "link.py").symlink_to(target)
    assert [(Path(f.path).name, f.code) for f in lint.check_paths([tmp_path])] == [("link.py", "PIT001")]


def test_a_file_over_the_size_cap_is_e902(tmp_path, monkeypatch):
    monkeypatch.setattr(_source, "MAX_BYTES", 1000)
    big = tmp_path / "big.py"
    big.write_text("x = 1\n" * 200)
    (finding,) = lint.check_paths([big])
    assert finding.code == "E902"
    assert finding.message.startswith("cannot read: larger than")
    monkeypatch.undo()
    assert _source.MAX_BYTES == 10 * 1024 * 1024
    assert lint.check_paths([big]) == []


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("this is not json", "not a notebook: invalid JSON"),
        ('{"metadata": {}}', "not a notebook: no 'cells' list"),
        ("[1, 2, 3]", "not a notebook: no 'cells' list"),
        ('{"cells": {"a": 1}}', "not a notebook: no 'cells' list"),
    ],
)
def test_a_corrupt_notebook_is_e902(tmp_path, capsys, content, reason):
    notebook = tmp_path / "study.ipynb"
    notebook.write_text(content)
    good = _leaky_neighbour(tmp_path)
    assert main(["lint", str(tmp_path)]) == 3
    lines = capsys.readouterr().out.splitlines()
    (bad,) = [line for line in lines if line.startswith(str(notebook))]
    assert bad.startswith(f"{notebook}:1:1: E902 cannot read: {reason}")
    assert any(line.startswith(f"{good}:3:10: PIT001") for line in lines)


def test_a_notebook_cell_whose_source_is_not_text_is_e902_and_the_other_cells_are_linted(tmp_path):
    cells = [
        {"cell_type": "code", "source": 42},
        {"cell_type": "code", "source": ["x = 1\n", None]},
        "not a cell",
        {"cell_type": "code", "source": LEAKY},  # a plain string is valid nbformat
        {"cell_type": "code", "source": ["def f(:\n"]},
    ]
    notebook = tmp_path / "study.ipynb"
    notebook.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    found = lint.check_paths([notebook])
    assert [(f.path, f.line, f.code) for f in found] == [
        (f"{notebook}[cell 1]", 1, "E902"),
        (f"{notebook}[cell 2]", 1, "E902"),
        (f"{notebook}[cell 4]", 3, "PIT001"),
        (f"{notebook}[cell 5]", 1, "E999"),
    ]
    assert found[0].message == "cannot read: the cell's source is not text"


def test_unreadable_files_are_reported_whatever_the_selection(tmp_path):
    (tmp_path / "blob.py").write_bytes(b"\0\0")
    assert [f.code for f in lint.check_paths([tmp_path], select=["PIT"], ignore=["PIT"])] == ["E902"]


def test_the_help_documents_the_exit_statuses_and_explain_the_codes(capsys):
    with pytest.raises(SystemExit):
        main(["lint", "--help"])
    out = capsys.readouterr().out
    assert "3  some files could not be read" in out
    assert "1  findings" in out
    for code in ("E902", "e999"):
        assert main(["lint", "--explain", code]) == 0
        assert capsys.readouterr().out.startswith(f"{code.upper()} (cannot-")


COOKIES = ["", "# -*- coding: latin-1 -*-\n", "# coding=cp1252\n", "# vim: fileencoding=utf-8 :\n", "# coding: nope\n"]
TEXTS = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)


@st.composite
def python_files(draw: st.DrawFn) -> bytes:
    """Bytes that may or may not be Python source: a BOM, a coding cookie, text in some encoding, raw bytes."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=60))
    cookie = draw(st.sampled_from(COOKIES))
    body = cookie + "x = " + repr(draw(TEXTS)) + "\n" + draw(st.sampled_from(["", "y = (\n", "\r\nz = 1\r", LEAKY]))
    encoding = draw(st.sampled_from(["utf-8", "latin-1", "cp1252", "utf-16"]))
    data = body.encode(encoding, errors="replace")
    return (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=python_files())
def test_a_file_is_linted_exactly_when_python_can_parse_it(tmp_path, data):
    """Reference: the standard library's reader of source files, ``tokenize.open`` (BOM and PEP 263 cookie),
    then ``ast.parse``. Whatever the bytes, the linter does not raise; the file is linted when the reference
    reads and parses it, else it is one E902 or E999 line."""
    file = tmp_path / "any.py"
    file.write_bytes(data)
    try:
        with tokenize.open(file) as handle:
            ast.parse(handle.read())
        parses = True
    except (SyntaxError, ValueError):  # ValueError: NUL bytes, UnicodeDecodeError
        parses = False
    found = lint.check_paths([file])
    assert not found.unreadable if parses else [f.code for f in found] in (["E902"], ["E999"])
