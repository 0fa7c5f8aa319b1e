"""Progress bars (``ml4t._progress``), the kernel's progress/cancel counter and Ctrl-C (issue #14).

A bar is drawn only once work has lasted ``_progress.DELAY`` seconds; the tests that want to see one set
that delay to 0, and the tests of short work keep the real one. Ctrl-C is tested in a child process sent a
real SIGINT mid-sweep; what is asserted is how far the child got, never how long it took.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ml4t
from ml4t import _core, _progress
from ml4t.datasets import synthetic_bars
from ml4t.errors import ConfigError
from ml4t.event import Engine, Strategy
from ml4t.vectorized import VectorizedStrategy


def compiled_rule(fast: int, slow: int) -> dict[str, pl.Expr]:
    """Inside the kernel's compiled subset: the sweep runs ``SignalSimulator.sweep_programs``."""
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s, "exits": f < s}


def plain_rule(fast: int, slow: int) -> dict[str, pl.Expr]:
    """A float literal Polars' JSON reads back an ulp off keeps the chunk on the plain path (Polars builds
    the signal matrices and ``SignalSimulator.sweep`` simulates them)."""
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s * (1 / 11) * 11, "exits": f < s}


RULES = {"compiled": compiled_rule, "plain": plain_rule}


@pytest.fixture(scope="module")
def bars() -> ml4t.data.Bars:
    return synthetic_bars(2, 300, "1d", seed=3)


@pytest.fixture
def no_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every bar is drawn at once (no waiting for a second of work)."""
    monkeypatch.setattr(_progress, "DELAY", 0.0)


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_progress.ENV, raising=False)


# ------------------------------------------------------------------------------------------- on or off
@pytest.mark.parametrize(
    ("env", "argument", "expected"),
    [
        (None, None, True),
        ("", None, True),
        ("0", None, False),
        ("false", None, False),
        ("No", None, False),
        ("OFF", None, False),
        ("1", None, True),
        ("yes", None, True),
        ("0", True, True),
        ("1", False, False),
        (None, False, False),
    ],
)
def test_progress_is_on_by_default_and_the_argument_beats_the_environment(
    monkeypatch: pytest.MonkeyPatch, env: str | None, argument: bool | None, expected: bool
) -> None:
    if env is not None:
        monkeypatch.setenv(_progress.ENV, env)
    assert _progress.enabled(argument) is expected


def test_a_bad_switch_is_a_config_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_progress.ENV, "maybe")
    with pytest.raises(ConfigError, match="ML4T_PROGRESS='maybe'") as error:
        _progress.enabled(None)
    assert error.value.argument == "ML4T_PROGRESS"
    with pytest.raises(ConfigError, match="progress must be") as error:
        _progress.enabled(1)  # type: ignore[arg-type]
    assert error.value.argument == "progress"


# ---------------------------------------------------------------------------------------------- sweeps
def test_a_long_sweep_shows_combinations_their_rate_and_the_best_sharpe(
    bars: ml4t.data.Bars, no_delay: None, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = VectorizedStrategy(compiled_rule).sweep(bars, fast=[2, 3, 5], slow=[10, 20])
    err = capsys.readouterr().err
    assert "sweep" in err
    assert "6/6" in err
    assert "combos/s" in err
    best = sweep.metrics.filter(pl.col("scope") == "portfolio")["sharpe_ratio"].max()
    assert f"best sharpe_ratio {best:.3g}" in err


def test_a_short_sweep_writes_nothing(bars: ml4t.data.Bars, capsys: pytest.CaptureFixture[str]) -> None:
    VectorizedStrategy(compiled_rule).sweep(bars, fast=[2, 3], slow=[10])
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_progress_false_or_the_environment_hides_the_bar(
    bars: ml4t.data.Bars,
    no_delay: None,
    how: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    strategy = VectorizedStrategy(compiled_rule)
    if how == "argument":
        strategy.sweep(bars, fast=[2, 3], slow=[10], progress=False)
    else:
        monkeypatch.setenv(_progress.ENV, "0")
        strategy.sweep(bars, fast=[2, 3], slow=[10])
    assert capsys.readouterr().err == ""


@settings(max_examples=12, deadline=None)
@given(
    rule=st.sampled_from(sorted(RULES)),
    n_fast=st.integers(1, 5),
    n_slow=st.integers(1, 3),
    chunk=st.integers(1, 8),
)
def test_the_counter_counts_every_combination_exactly_once(rule: str, n_fast: int, n_slow: int, chunk: int) -> None:
    """Final count == grid size, whatever the chunking, on both kernel entry points."""
    made: list[_core.Progress] = []
    real = _core.Progress

    def make() -> _core.Progress:
        made.append(real())
        return made[-1]

    bars = synthetic_bars(2, 80, "1d", seed=1)
    _core.Progress = make  # type: ignore[misc]  # hypothesis: no function-scoped monkeypatch
    try:
        VectorizedStrategy(RULES[rule]).sweep(
            bars, fast=list(range(2, 2 + n_fast)), slow=[10 + 3 * k for k in range(n_slow)], chunk_size=chunk
        )
    finally:
        _core.Progress = real  # type: ignore[misc]
    assert len(made) == 1
    assert made[0].done == n_fast * n_slow
    assert not made[0].cancelled


@pytest.mark.parametrize("rule", sorted(RULES))
def test_results_are_the_same_with_and_without_progress(bars: ml4t.data.Bars, no_delay: None, rule: str) -> None:
    strategy = VectorizedStrategy(RULES[rule])
    shown = strategy.sweep(bars, fast=[2, 3, 5], slow=[10, 20], chunk_size=4, progress=True)
    hidden = strategy.sweep(bars, fast=[2, 3, 5], slow=[10, 20], chunk_size=4, progress=False)
    assert shown.metrics.equals(hidden.metrics)


def test_a_cancelled_counter_stops_the_kernel_with_keyboard_interrupt(bars: ml4t.data.Bars) -> None:
    from ml4t._kernel.inputs import simulator
    from ml4t._kernel.signals import panel_of

    strategy = VectorizedStrategy(compiled_rule)
    panel = panel_of(bars)
    sim = simulator(strategy.settings)
    absent_b, absent_f = np.zeros((0, 0), bool), np.zeros((0, 0))
    entries = np.ones((4 * len(panel.symbols), panel.n_bars), bool)
    arrays = (entries, ~entries, absent_b, absent_b, absent_f, absent_f, absent_f, absent_f, absent_b, absent_f)
    counter = _core.Progress()
    sim.sweep(panel.prices, arrays, cash_sharing=True, n_blocks=4, progress=counter)
    assert counter.done == 4
    counter.cancel()
    with pytest.raises(KeyboardInterrupt):
        sim.sweep(panel.prices, arrays, cash_sharing=True, n_blocks=4, progress=counter)
    assert counter.done == 4, "a cancelled counter starts no combination"


CHILD_SWEEP = """
import sys
import polars as pl
from ml4t import _core, _progress
from ml4t.datasets import synthetic_bars
from ml4t.vectorized import VectorizedStrategy

_progress.DELAY = 0.0
made = []
real = _core.Progress
def make():
    made.append(real())
    return made[-1]
_core.Progress = make

def rule(fast, slow):
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s, "exits": f < s}

result = None
grid = dict(fast=range(2, 202), slow=range(10, 410, 2))  # 40,000 combinations
try:
    result = VectorizedStrategy(rule).sweep(synthetic_bars(1, 5000, "1d", seed=1), progress=True, **grid)
finally:
    print(f"done={made[0].done} total=40000 cancelled={made[0].cancelled} result={result is not None}", flush=True)
"""


def test_ctrl_c_stops_a_sweep_inside_the_kernel_with_a_clean_keyboard_interrupt() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_SWEEP],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "RAYON_NUM_THREADS": "1"},
    )
    assert child.stderr is not None
    seen = ""
    while not re.search(r"\b[1-9]\d*/40000\b", seen):  # the kernel has started counting: interrupt it
        char = child.stderr.read(1)
        assert char, f"the child ended before the sweep started: {seen}"
        seen += char
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=600)
    err = seen + err
    assert child.returncode == -signal.SIGINT, err  # Python's exit for an uncaught KeyboardInterrupt
    assert "KeyboardInterrupt" in err
    match = re.search(r"done=(\d+) total=40000 cancelled=True result=False", out)
    assert match, out
    assert int(match.group(1)) < 40_000, "the kernel stopped before the end of the grid"


# ------------------------------------------------------------------------------------------ event runs
class Slow(Strategy):
    """Buys once; each bar takes a few milliseconds of the strategy's time, so the watcher sees the run."""

    pause = 0.003

    def on_bar(self, ctx, bars) -> None:  # type: ignore[no-untyped-def]
        time.sleep(self.pause)
        if ctx.position("A000") == 0:
            ctx.order("A000", 1)


def test_an_event_run_shows_simulated_time(no_delay: None, capsys: pytest.CaptureFixture[str]) -> None:
    bars = synthetic_bars(1, 120, "1d", seed=2)
    result = Engine(bars, Slow()).run()
    err = capsys.readouterr().err
    n = bars.frame["ts_arrival"].n_unique()
    assert f"{n}/{n}" in err
    assert "timestamps" in err
    dates = set(re.findall(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", err))
    stamps = {t.strftime("%Y-%m-%d %H:%M") for t in bars.frame["ts_arrival"]}
    assert dates and dates <= stamps, "the postfix is a simulated date of the run"
    hidden = Engine(bars, Slow()).run(progress=False)
    assert capsys.readouterr().err == ""
    assert result.equity.equals(hidden.equity)


def test_a_short_event_run_writes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    class Quick(Slow):
        pause = 0.0

    Engine(synthetic_bars(1, 50, "1d", seed=2), Quick()).run()
    assert capsys.readouterr().err == ""


@pytest.mark.filterwarnings("ignore::ml4t.errors.RejectionWarning")  # the follower's all-in entries, with fees
def test_a_promoted_run_shows_its_bar_and_progress_false_hides_it(
    no_delay: None, capsys: pytest.CaptureFixture[str]
) -> None:
    bars = synthetic_bars(2, 60, "1d", seed=4)
    promoted = ml4t.promote(VectorizedStrategy(compiled_rule, cash_sharing=True), bars, fast=3, slow=10)
    n = bars.frame["ts_arrival"].n_unique()
    for engine in ({}, {"commission": ml4t.costs.Percent(0.001)}):  # exact, then the follower
        shown = promoted.run(**engine)
        assert f"{n}/{n}" in capsys.readouterr().err
        hidden = promoted.run(progress=False, **engine)
        assert capsys.readouterr().err == ""
        assert shown.equity.equals(hidden.equity)


CHILD_EVENT = """
import time
from ml4t.datasets import synthetic_bars
from ml4t.event import Engine, Strategy

class Slow(Strategy):
    slow = True
    seen = 0
    def on_bar(self, ctx, bars):
        if ctx.position("A000") == 0:
            ctx.order("A000", 1)
        self.seen += 1
        if self.slow and self.seen == 30:
            print("running", flush=True)
            time.sleep(60)

bars = synthetic_bars(1, 200, "1d", seed=2)
engine = Engine(bars, Slow())
try:
    engine.run(progress=False)
except KeyboardInterrupt:
    Slow.slow = False
    again, fresh = engine.run(), Engine(bars, Slow()).run()
    print("same" if again.equity.equals(fresh.equity) and again.orders.equals(fresh.orders) else "differs")
    raise
"""


def test_ctrl_c_in_an_event_run_raises_and_leaves_nothing_behind() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_EVENT], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "running"
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=600)
    assert child.returncode == -signal.SIGINT, err
    assert "KeyboardInterrupt" in err
    assert out.strip() == "same", "the engine runs again from the start after an interrupt"


# ------------------------------------------------------------------------------- audit and walk-forward
def test_the_audit_counts_cuts_and_the_walk_forward_folds(
    bars: ml4t.data.Bars, no_delay: None, capsys: pytest.CaptureFixture[str]
) -> None:
    strategy = VectorizedStrategy(compiled_rule)
    report = ml4t.audit.lookahead(strategy, bars, cuts=3, params={"fast": 3, "slow": 10})
    err = capsys.readouterr().err
    assert report.passed
    assert "lookahead audit" in err and "3/3" in err and "cuts" in err
    assert "timestamps" not in err, "the audit's runs show no bar of their own"

    splits = list(ml4t.validate.walk_forward(bars.frame, train=150, test=50))[:2]
    walked = ml4t.validate.walk_forward_sweep(strategy, bars, splits, fast=[2, 3], slow=[10])
    err = capsys.readouterr().err
    assert len(walked.folds) == 2
    assert "walk-forward" in err and "2/2" in err and "folds" in err
    assert "combos" not in err, "the folds' sweeps show no bar of their own"
    ml4t.audit.lookahead(strategy, bars, cuts=3, params={"fast": 3, "slow": 10}, progress=False)
    ml4t.validate.walk_forward_sweep(strategy, bars, splits, fast=[2, 3], slow=[10], progress=False)
    assert capsys.readouterr().err == ""


def test_importing_ml4t_imports_no_tqdm() -> None:
    code = "import sys, ml4t; print('tqdm' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"
