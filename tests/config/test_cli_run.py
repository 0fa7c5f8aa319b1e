"""``ml4t run``, ``ml4t sweep``, ``ml4t check`` and ``ml4t report RUN_DIR`` run as the user runs them (a
subprocess, ``python -m ml4t.cli``), checked by exit status and output: 0 success, 1 the run failed (or a
reproduced run differs), 2 bad usage or a bad config with every problem named."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

CONFIG = """
[data.synthetic]
n_assets = 2
n_bars = 200
seed = 7

[strategy]
rules.entries = "close > sma(close, fast)"
rules.exits = "close < sma(close, fast)"
params = { fast = 10 }

[settings]
fees = 0.001

[report]
html = false
"""


def _ml4t(cwd: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ml4t.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
        env={**{k: v for k, v in os.environ.items() if not k.upper().startswith("ML4T__")}, "ML4T_PROGRESS": "0"},
    )


def _config(tmp_path: Path, text: str = CONFIG, name: str = "sma.toml") -> Path:
    file = tmp_path / name
    file.write_text(textwrap.dedent(text), encoding="utf-8")
    return file


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    """One run of the sweep config, made by ``ml4t run`` (and checked by the first test)."""
    tmp = tmp_path_factory.mktemp("cli")
    _config(tmp, CONFIG + "[sweep]\ngrid.fast = [5, 10, 20]\n")
    done = _ml4t(tmp, "run", "sma.toml")
    assert done.returncode == 0, done.stderr
    (folder,) = (tmp / "runs").iterdir()
    return folder


def test_run_prints_the_folder_and_the_chosen_runs_metrics(run_folder):
    manifest = json.loads((run_folder / "manifest.json").read_text())
    assert manifest["command"] == "ml4t run sma.toml"
    assert set(manifest["params"]) == {"fast"} and manifest["params"]["fast"] in (5, 10, 20)
    done = _ml4t(run_folder.parent.parent, "run", "sma.toml")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"found an identical run: runs/{run_folder.name}\n")
    assert f"fast={manifest['params']['fast']}" in done.stdout and "sharpe_ratio" in done.stdout


def test_run_on_a_run_folder_or_its_manifest_reproduces_it(run_folder):
    for target in (run_folder, run_folder / "manifest.json"):
        done = _ml4t(run_folder.parent.parent, "run", target)
        assert done.returncode == 0, done.stderr
        assert "identical" in done.stdout


def test_run_on_a_tampered_run_folder_exits_1_naming_the_output(tmp_path):
    _config(tmp_path)
    assert _ml4t(tmp_path, "run", "sma.toml").returncode == 0
    (folder,) = (tmp_path / "runs").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["outputs"]["result/equity"] = "f" * 32
    (folder / "manifest.json").write_text(json.dumps(manifest))
    done = _ml4t(tmp_path, "run", folder)
    assert done.returncode == 1
    assert "different" in done.stdout and "result/equity" in done.stdout


def test_set_overrides_a_key_and_force_runs_again(tmp_path):
    _config(tmp_path)
    first = _ml4t(tmp_path, "run", "sma.toml", "--set", "strategy.params.fast=12", "--runs", "out")
    assert first.returncode == 0, first.stderr
    assert "fast=12" in first.stdout and first.stdout.startswith("run: out/sma-")
    forced = _ml4t(tmp_path, "run", "sma.toml", "--set", "strategy.params.fast=12", "--runs", "out", "--force")
    assert forced.returncode == 0 and forced.stdout.startswith("run: out/sma-")
    assert len(list((tmp_path / "out").iterdir())) == 1


def test_sweep_runs_the_sweep_only_and_needs_one(tmp_path):
    _config(tmp_path, CONFIG + "[sweep]\ngrid.fast = [5, 10]\n[audit]\ncuts = 2\n")
    done = _ml4t(tmp_path, "sweep", "sma.toml")
    assert done.returncode == 0, done.stderr
    (folder,) = (tmp_path / "runs").iterdir()
    assert (folder / "sweep.parquet").is_file() and not (folder / "audit.json").exists()
    _config(tmp_path, name="plain.toml")
    done = _ml4t(tmp_path, "sweep", "plain.toml")
    assert done.returncode == 2 and "[sweep]" in done.stderr


def test_check_passes_a_good_config(tmp_path):
    _config(tmp_path)
    done = _ml4t(tmp_path, "check", "sma.toml")
    assert done.returncode == 0, done.stderr
    assert "OK" in done.stdout and not (tmp_path / "runs").exists()


def test_check_and_run_exit_2_listing_every_problem(tmp_path):
    text = CONFIG.replace("seed = 7", 'seed = 7\n[data]\nuniverse = ["A000", "B999"]')
    text = text.replace('"close < sma(close, fast)"', '"clsoe < sma(close, fast)"')
    _config(tmp_path, text + '[[signals]]\npath = "nowhere.csv"\n')
    for command in ("check", "run"):
        done = _ml4t(tmp_path, command, "sma.toml")
        assert done.returncode == 2, done.stderr
        assert "3 problems" in done.stderr
        assert "signals.0.path" in done.stderr and "nowhere.csv" in done.stderr
        assert "data.universe" in done.stderr and "'B999'" in done.stderr
        assert "strategy.rules.exits" in done.stderr and "did you mean 'close'" in done.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("close.shift(-1) > close", "strategy.rules.entries"),
        ("__import__('os').system('touch pwned')", "strategy.rules.entries"),
        ("lag(close, -1) > close", "negative"),
        ("rank(close) > 0.5", 'scope = "panel"'),
    ],
)
def test_a_rule_outside_the_language_exits_2(tmp_path, rule, expected):
    _config(tmp_path, CONFIG.replace('"close > sma(close, fast)"', json.dumps(rule)))
    done = _ml4t(tmp_path, "run", "sma.toml")
    assert done.returncode == 2
    assert expected in done.stderr and "sma.toml:" in done.stderr
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "runs").exists()


def test_an_unknown_key_exits_2_with_its_line_and_a_close_match(tmp_path):
    _config(tmp_path, CONFIG.replace("fees = 0.001", "feez = 0.001"))
    done = _ml4t(tmp_path, "check", "sma.toml")
    assert done.returncode == 2
    assert "sma.toml:" in done.stderr and "settings.feez" in done.stderr and "'fees'" in done.stderr


def test_a_run_that_fails_exits_1_with_a_traceback_for_a_non_ml4t_error(tmp_path):
    (tmp_path / "failing_strategy.py").write_text(
        textwrap.dedent(
            """
            from ml4t.event import Strategy


            class Fails(Strategy):
                def on_bar(self, ctx, bars):
                    raise RuntimeError("the strategy broke")
            """
        )
    )
    _config(
        tmp_path,
        """
        [data.synthetic]
        n_assets = 1
        n_bars = 50
        [strategy]
        mode = "event"
        ref = "failing_strategy:Fails"
        """,
    )
    done = _ml4t(tmp_path, "run", "sma.toml")
    assert done.returncode == 1
    assert "the run failed" in done.stderr and "the strategy broke" in done.stderr and "Traceback" in done.stderr
    assert [p.name for p in (tmp_path / "runs").iterdir()] == []


def test_report_renders_a_run_folders_report_again(run_folder):
    done = _ml4t(run_folder.parent.parent, "report", run_folder)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == run_folder / "report.html"
    assert (run_folder / "report.html").stat().st_size > 10_000


def test_a_missing_config_file_exits_2(tmp_path):
    done = _ml4t(tmp_path, "run", "nope.toml")
    assert done.returncode == 2 and "nope.toml" in done.stderr
