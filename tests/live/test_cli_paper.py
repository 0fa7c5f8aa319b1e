"""``ml4t paper CONFIG``: the example config runs end to end (a replay over a websocket on 127.0.0.1, the
simulated broker) to the backtest's result, also from YAML, paced, with a signals file and on a running feed's
URL; shadow mode; restarts after a journal without an end line and after Ctrl-C; a finished journal and bad
configs refused with exit status 2 and a clear message; risk limits; the Alpaca broker against ``FakeAlpaca``
(skipped, saying why, while ``AlpacaBroker`` or the engine's external execution is not in the tree).

The reference is ``ml4t.event.Engine(bars, Strategy(**params), **settings).run()`` on the same bars, built
here from the example's numbers (not from the config machinery)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polars as pl
import pytest
from tests.live.venues import MemoryVenue

from ml4t import _core
from ml4t.cli import main
from ml4t.data import signals as make_signals
from ml4t.datasets import synthetic_bars
from ml4t.demo import SmaCrossWithStop
from ml4t.errors import RejectionWarning
from ml4t.event import Engine
from ml4t.live import ReplayServer, read_journal
from ml4t.live._paper import EXAMPLE, load_paper, run_paper
from ml4t.result import Result

SETTINGS = {"init_cash": 100_000.0, "account": "margin", "leverage": 3.0}  # the example's [settings]
SHORT = ["--set", "data.synthetic.n_bars=120"]  # the example on fewer bars, where the length does not matter


def _backtest(n_bars: int = 500) -> Result:
    bars = synthetic_bars(3, n_bars, "1d", 0)  # the example's [data.synthetic] (seed, freq: the defaults)
    return Engine(bars, SmaCrossWithStop(fast=10, slow=30), **SETTINGS).run()


def _same(a: Result, b: Result) -> None:
    for name in ("orders", "fills", "equity"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.equals(y), f"{name} differ:\n{x}\n{y}"
    assert a.orders.height > 0 and a.fills.height > 0


@pytest.fixture(autouse=True)
def _modules_kept():
    """The study imports a config's ref afresh the first time (``ml4t.demo`` here), replacing the module in
    ``sys.modules``: put back the module objects that other tests hold (pickling checks their identity)."""
    before = dict(sys.modules)
    yield
    for name, module in before.items():
        if sys.modules.get(name) is not module:
            sys.modules[name] = module


@pytest.fixture
def example(tmp_path) -> Path:
    path = tmp_path / "paper.toml"
    assert main(["init", "--paper", str(path)]) == 0
    return path


def test_the_example_runs_end_to_end_to_the_backtests_result(example, tmp_path, capsys):
    capsys.readouterr()
    out = tmp_path / "out"
    assert main(["paper", str(example), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    backtest = _backtest()
    saved = Result.load(out / "result")
    _same(backtest, saved)
    assert saved.meta["broker"] == "simulated" and saved.meta["mode"] == "live"
    entries = read_journal(out / "journal.jsonl")
    assert entries[0].kind == "start" and entries[-1].kind == "end"
    assert sum(e.kind == "decision" for e in entries) == backtest.orders.height
    assert sum(e.kind == "bar" for e in entries) == 500  # one message per day, served over the websocket
    statuses = backtest.orders["status"].value_counts().rows()
    assert f"orders: {backtest.orders.height} (" in printed
    assert all(f"{n} {status}" in printed for status, n in statuses)
    assert f"fills: {backtest.fills.height}" in printed
    assert f"final equity: {backtest.equity['equity'][-1]:,.2f}" in printed
    assert f"journal: {out / 'journal.jsonl'}" in printed and "new" in printed


def test_the_example_is_commented_and_written_once(example, capsys):
    assert example.read_text() == EXAMPLE and EXAMPLE.count("#") > 40
    assert main(["init", "--paper", str(example)]) == 2
    assert "exists" in capsys.readouterr().err


def test_a_yaml_config_and_overrides_mean_the_same(tmp_path, capsys):
    yaml = pytest.importorskip("yaml")
    path = tmp_path / "paper.yaml"
    document = {
        "data": {"synthetic": {"n_assets": 3, "n_bars": 120}},
        "strategy": {"ref": "ml4t.demo:SmaCrossWithStop", "params": {"fast": 10, "slow": 30}},
        "settings": {"init_cash": 1.0, "account": "margin", "leverage": 3.0},
        "session": {"session_id": "yaml_run", "journal": "yaml.jsonl"},
    }
    path.write_text(yaml.safe_dump(document))
    out = tmp_path / "out"
    assert main(["paper", str(path), "--out", str(out), "--set", "settings.init_cash=100000.0"]) == 0
    assert "session yaml_run (simulated broker, new)" in capsys.readouterr().out
    _same(_backtest(120), Result.load(out / "result"))
    assert (tmp_path / "yaml.jsonl").is_file()  # a relative journal is from the config's folder


def test_a_stopped_session_restarts_from_its_journal_and_a_finished_one_is_refused(example, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["paper", str(example), "--out", str(out), *SHORT]) == 0
    journal = out / "journal.jsonl"
    lines = journal.read_text().splitlines(keepends=True)
    # the session stopped between two messages: the journal up to the 60th bar, no end line
    bars = [i for i, line in enumerate(lines) if json.loads(line)["kind"] == "bar"]
    journal.write_text("".join(lines[: bars[60]]))
    capsys.readouterr()
    assert main(["paper", str(example), "--out", str(out), *SHORT]) == 0
    printed = capsys.readouterr().out
    assert "restarted from its journal" in printed
    _same(_backtest(120), Result.load(out / "result"))
    kinds = [e.kind for e in read_journal(journal)]
    assert kinds.count("start") == 1 and kinds.count("restart") == 1 and kinds[-1] == "end"
    assert kinds.count("bar") == 120  # the replayed bars are not journaled twice
    # the session is finished now: running it again is refused, naming the journal
    assert main(["paper", str(example), "--out", str(out), *SHORT]) == 2
    err = capsys.readouterr().err
    assert str(journal) in err and "finished session" in err


STOPS_ONCE = """
from typing import ClassVar

from ml4t.demo import SmaCrossWithStop


class StopsOnce(SmaCrossWithStop):
    \"\"\"The example's strategy, stopped once (Ctrl-C) at its 70th bar.\"\"\"

    stop_at: ClassVar[list[int]] = [70]

    def on_start(self, ctx):
        self.seen = 0

    def on_bar(self, ctx, bars):
        self.seen += 1
        if self.seen in StopsOnce.stop_at:
            StopsOnce.stop_at.clear()
            raise KeyboardInterrupt
        super().on_bar(ctx, bars)
"""


def test_a_session_stopped_with_ctrl_c_restarts_where_it_stopped(example, tmp_path, capsys):
    (tmp_path / "stops_once.py").write_text(STOPS_ONCE)
    out = tmp_path / "out"
    args = ["paper", str(example), "--out", str(out), "--set", "strategy.ref=stops_once:StopsOnce", *SHORT]
    assert main(args) == 130
    assert f"run it again with --out {out} to restart it" in capsys.readouterr().err
    kinds = [e.kind for e in read_journal(out / "journal.jsonl")]
    assert kinds.count("bar") >= 70 and "end" not in kinds  # every message read (a backlog at once), not ended
    assert main(args) == 0
    assert "restarted from its journal" in capsys.readouterr().out
    _same(_backtest(120), Result.load(out / "result"))


def test_the_replay_serves_the_signals_file_with_the_bars(example, tmp_path):
    bars = synthetic_bars(3, 120, "1d", 0)
    frame = bars.frame.select("ts_event", "symbol").gather_every(3).with_columns(score=pl.lit(0.5))
    frame.write_csv(tmp_path / "scores.csv")
    with example.open("a") as file:
        file.write('[[signals]]\npath = "scores.csv"\nts_arrival = "6h"\n')
    out = tmp_path / "out"
    assert main(["paper", str(example), "--out", str(out), *SHORT]) == 0
    signals = make_signals(pl.read_csv(tmp_path / "scores.csv", try_parse_dates=True), ts_arrival="6h")
    backtest = Engine(bars, SmaCrossWithStop(fast=10, slow=30), signals=signals, **SETTINGS).run()
    _same(backtest, Result.load(out / "result"))
    kinds = [e.kind for e in read_journal(out / "journal.jsonl")]
    assert kinds.count("signal") == frame["ts_event"].n_unique()  # each arrives 6 h after its bar, alone


def test_a_session_reads_a_running_feed_by_its_url(example, tmp_path, capsys):
    with ReplayServer(synthetic_bars(3, 120, "1d", 0)) as server:
        out = tmp_path / "out"
        assert main(["paper", str(example), "--out", str(out), "--set", f"session.feed={server.url}", *SHORT]) == 0
        assert server.connections == 1
    _same(_backtest(120), Result.load(out / "result"))


def test_a_paced_replay_gives_the_same_result(example, tmp_path):
    # 120 days in about 0.3 s of wall time, heartbeats every 20 ms while nothing arrives
    pace = ["--set", f"session.speed={120 * 86_400 / 0.3}", "--set", "session.heartbeat=0.02"]
    assert main(["paper", str(example), "--out", str(tmp_path / "out"), *SHORT, *pace]) == 0
    _same(_backtest(120), Result.load(tmp_path / "out" / "result"))


def _external_engine() -> None:
    if not hasattr(_core.EventEngine, "apply_fill"):
        pytest.skip(
            "refusing an order, or booking a broker's fills, needs the engine's external execution (helper 'external')"
        )


def test_the_risk_limits_and_the_kill_switch_file_refuse_orders_before_they_leave(example, tmp_path, capsys):
    _external_engine()
    with example.open("a") as file:
        file.write('[session.risk]\nmax_order_value = 1000.0\nkill_switch = "STOP"\n')
    out = tmp_path / "out"
    with pytest.warns(RejectionWarning, match="risk_limit"):
        assert main(["paper", str(example), "--out", str(out), *SHORT]) == 0
    orders = Result.load(out / "result").orders
    assert orders.height > 0 and set(orders["reason_code"]) == {"risk_limit"}
    assert all("max_order_value" in reason for reason in orders["reason"])
    assert f"orders: {orders.height} ({orders.height} rejected)" in capsys.readouterr().out
    (tmp_path / "STOP").touch()  # the kill switch, from the config's folder
    with pytest.warns(RejectionWarning, match="risk_limit"):
        assert main(["paper", str(example), "--out", str(tmp_path / "killed"), *SHORT]) == 0
    orders = Result.load(tmp_path / "killed" / "result").orders
    assert orders.height > 0 and all(reason.startswith("kill switch on") for reason in orders["reason"])


def test_shadow_mode_decides_and_journals_every_order_and_sends_none(example, tmp_path):
    loaded = load_paper(example, overrides=["session.broker=shadow", *SHORT[1:]])
    venue = MemoryVenue()
    outcome = run_paper(loaded, tmp_path / "out", venue=venue)
    assert outcome.broker == "shadow" and venue.connected == 1
    assert venue.submits == {} and venue.orders_ == {}  # nothing sent
    _same(_backtest(120), outcome.result)  # the simulated broker says what would have happened
    entries = read_journal(outcome.journal)
    assert entries[0].data["broker"] == "shadow"
    assert sum(e.kind == "decision" for e in entries) == outcome.result.orders.height
    assert not any(e.kind == "order" for e in entries)


def _problems(capsys) -> str:
    err: str = capsys.readouterr().err
    return err


BAD = {
    "an unknown key": (
        ["--set", "session.brokr=shadow"],
        "",
        ["session.brokr: unknown key 'brokr'; did you mean 'broker'?"],
    ),
    "an unknown key in the file": (
        [],
        "[session.risk]\nmax_ordr_value = 5.0\n",
        [":61: session.risk.max_ordr_value: unknown key 'max_ordr_value'; did you mean 'max_order_value'?"],
    ),
    "an unknown setting": (["--set", "settings.init_csh=5"], "", ["did you mean 'init_cash'?"]),
    "a ref that is not an event Strategy": (
        ["--set", "strategy.ref=plain:Plain"],
        "",
        ["strategy.ref", "plain:Plain is neither an ml4t.event.Strategy subclass nor a factory of one"],
    ),
    "params that do not fit the strategy": (
        ["--set", "strategy.params.window=3"],
        "",
        ["strategy.params", "unexpected keyword argument 'window'"],
    ),
    "keys in the file": (
        [],
        '[session.alpaca]\napi_key = "PK123"\nsecret_key = "s3cr3t"\n',
        [
            ":61: session.alpaca.api_key: the Alpaca keys are never read from a config file: set APCA_API_KEY_ID",
            ":62: session.alpaca.secret_key: the Alpaca keys",
        ],
    ),
    "real money without live = true": (
        ["--set", "session.broker=alpaca"],
        "[session.alpaca]\npaper = false\n",
        [":61: session.alpaca.paper: paper = false trades real money: it needs live = true here and --live"],
    ),
    "real money without --live": (
        ["--set", "session.broker=alpaca"],
        "[session.alpaca]\npaper = false\nlive = true\n",
        ["paper = false trades real money: give --live on the command line as well as live = true"],
    ),
    "--live on a paper account": (
        ["--set", "session.broker=alpaca", "--live"],
        "",
        ["--live", "is the opt-in to real money"],
    ),
    "a symbol the data does not have": (
        ["--set", "session.symbols=[A000, ZZZ]"],
        "",
        ["session.symbols", "the data has no bars of 'ZZZ' to replay"],
    ),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_config_is_a_clear_message_and_exit_status_2(name, example, tmp_path, capsys):
    args, appended, expected = BAD[name]
    (tmp_path / "plain.py").write_text("class Plain:\n    pass\n")  # a class, not a Strategy
    assert len(example.read_text().splitlines()) == 59  # the lines the appended tables start after
    with example.open("a") as file:
        file.write(appended)
    capsys.readouterr()
    assert main(["paper", str(example), "--out", str(tmp_path / "out"), *args]) == 2
    err = _problems(capsys)
    for text in expected:
        assert text in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "journal.jsonl").exists()  # refused before anything ran


def test_keys_are_refused_from_the_environment_too(example, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ML4T__SESSION__ALPACA__SECRET_KEY", "s3cr3t")
    assert main(["paper", str(example), "--out", str(tmp_path / "out")]) == 2
    err = _problems(capsys)
    assert "ML4T__SESSION__ALPACA__SECRET_KEY" in err and "never read from a config file" in err


# ---------------------------------------------------------------------------------------- the Alpaca broker
def _fake_alpaca():
    """ml4t.live's FakeAlpaca and AlpacaBroker, or a skip saying what is missing."""
    try:
        from ml4t.live._alpaca import AlpacaBroker  # noqa: F401
        from ml4t.live._fake_alpaca import FakeAlpaca
    except ImportError as error:
        pytest.skip(f"ml4t.live.AlpacaBroker / FakeAlpaca cannot be imported: {error}")
    pytest.importorskip("alpaca", reason="alpaca-py (the ml4t[alpaca] extra) is not installed")
    return FakeAlpaca


def _alpaca_config(example: Path, fake) -> Path:
    with example.open("a") as file:
        file.write(f'[session.alpaca]\nurl = "{fake.url}"\nstream_url = "{fake.stream_url}"\ntimeout = 5.0\n')
    return example


def test_shadow_mode_against_a_fake_alpaca_sends_nothing(example, tmp_path, monkeypatch, capsys):
    FakeAlpaca = _fake_alpaca()
    monkeypatch.setenv("APCA_API_KEY_ID", "fake-key")
    monkeypatch.setenv("APCA_API_SECRET_KEY", "fake-secret")
    with FakeAlpaca() as fake:
        config = _alpaca_config(example, fake)
        out = tmp_path / "out"
        assert main(["paper", str(config), "--out", str(out), "--set", "session.broker=shadow", *SHORT]) == 0
        assert fake.updates == []
    assert "(shadow broker, new)" in capsys.readouterr().out
    _same(_backtest(120), Result.load(out / "result"))


def test_a_paper_session_through_a_fake_alpaca_sends_each_order_once(example, tmp_path, monkeypatch, capsys):
    FakeAlpaca = _fake_alpaca()
    _external_engine()
    monkeypatch.setenv("APCA_API_KEY_ID", "fake-key")
    monkeypatch.setenv("APCA_API_SECRET_KEY", "fake-secret")
    closes = synthetic_bars(3, 120, "1d", 0).frame.group_by("symbol").agg(pl.col("close").mean()).rows()
    with FakeAlpaca(cash=1_000_000.0) as fake:
        for symbol, close in closes:  # the fake fills every order at one price per symbol: the data's mean
            fake.set_price(symbol, close)
        config = _alpaca_config(example, fake)
        out = tmp_path / "out"
        assert main(["paper", str(config), "--out", str(out), "--set", "session.broker=alpaca", *SHORT]) == 0
        sent = [e.data["client_order_id"] for e in read_journal(out / "journal.jsonl") if e.kind == "order"]
        assert sent and len(sent) == len(set(sent))
        assert all(fake.order(cid)["client_order_id"] == cid for cid in sent)
    assert "(paper broker, new)" in capsys.readouterr().out
    saved = Result.load(out / "result")
    assert saved.meta["broker"] == "paper" and saved.orders.height == len(sent)  # every decision sent, once
