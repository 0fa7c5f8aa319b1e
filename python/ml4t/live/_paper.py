"""``ml4t paper CONFIG``: an event :class:`~ml4t.event.Strategy` from a config file run as a live
:class:`~ml4t.live.Session`, journaled, its result saved.

The config: one frozen struct per section, each mapping one-to-one onto the Python API, read by the study
loader's machinery (:func:`ml4t.config._load.check_document`: TOML or YAML, ``ML4T__...`` variables and ``--set``
overrides, every problem at once with its line and a close match).

| section | Python API |
|---|---|
| ``[data]``, ``[[signals]]`` | exactly a study's: the recording the replay serves (``ml4t.live.ReplayServer(bars,
  signals)``); with a websocket ``feed``, only the symbols |
| ``[strategy]`` | ``ref = "package.module:Class"``, an ``ml4t.event.Strategy`` subclass (or a factory of one),
  linted before it is imported, called with ``params`` |
| ``[settings]`` | ``ml4t.settings.EngineSettings``, field for field (``ml4t.live.Session(..., **settings)``) |
| ``[session]`` | ``ml4t.live.Session(strategy, feed, symbols=, journal=, session_id=, reconcile_every=,
  wait_fills=, ...)``, the feed (``"replay"``: a ``ReplayServer`` on 127.0.0.1 read by ``ReplayFeed``; or a
  ``ws://`` URL) and the broker (``"simulated"``, ``"shadow"``, ``"alpaca"``) |
| ``[session.risk]`` | ``ml4t.live.RiskLimits(max_order_value=, max_position=, kill_switch=)`` |
| ``[session.alpaca]`` | ``ml4t.live.AlpacaBroker(paper=, live=, url=, stream_url=, timeout=, max_reconnects=)``;
  the keys come from ``APCA_API_KEY_ID`` / ``APCA_API_SECRET_KEY`` only, never from a file |

A paper config's ``[data]`` / ``[[signals]]`` / ``[strategy]`` / ``[settings]`` are checked and built by an
event-mode :class:`ml4t.config.Study` (:meth:`PaperLoaded.study`).

Contract of :func:`run_paper`:

- the feed: ``feed = "replay"`` serves the config's ``[data]`` (and ``[[signals]]``), the session's symbols only,
  from a :class:`~ml4t.live.ReplayServer` on 127.0.0.1 at ``speed`` (0: as fast as the session reads) and reads it
  back with a :class:`~ml4t.live.ReplayFeed`, exactly as a remote feed is read; ``feed = "ws://..."`` reads that
  feed (``[data]`` then gives the symbols, unless ``symbols`` does);
- the broker: ``simulated`` (the Rust matching engine, as a backtest), ``shadow`` (orders decided, checked and
  journaled against the Alpaca account of ``[session.alpaca]``, never sent) or ``alpaca``
  (``ml4t.live.AlpacaBroker(**[session.alpaca])``, imported when used). Real money (``paper = false``) needs
  ``live = true`` in the config and ``live=True`` here (``--live``), both;
- the folder ``out``: the journal (``journal.jsonl`` unless ``journal`` says where; a relative path, there and
  in ``kill_switch``, is from the config's folder) and ``Result.save(out/"result")``. A journal without an end
  line is a stopped session: the Session restarts it (:attr:`PaperOutcome.restarted`); a finished one is a
  ConfigError naming its path.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from ml4t.config._load import (
    ConfigFileError,
    Loaded,
    Problem,
    _Checker,
    _table,
    check_document,
    key_lines,
    line_of,
    read_config_file,
)
from ml4t.config._schema import Config, DataConfig, SignalsConfig, StrategyConfig
from ml4t.config._study import Study
from ml4t.errors import ConfigError
from ml4t.live._broker import Venue
from ml4t.live._feed import ReplayFeed
from ml4t.live._replay import ReplayServer
from ml4t.live._risk import RiskLimits
from ml4t.live._session import Session
from ml4t.result import Result
from ml4t.settings import EngineSettings

__all__ = [
    "EXAMPLE",
    "AlpacaConfig",
    "PaperConfig",
    "PaperLoaded",
    "PaperOutcome",
    "PaperStrategyConfig",
    "SessionConfig",
    "default_out",
    "load_paper",
    "run_paper",
]

KEY_VARIABLES = ("APCA_API_KEY_ID", "APCA_API_SECRET_KEY")
"""The environment variables the Alpaca keys are read from (never a config file)."""


class AlpacaConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``ml4t.live.AlpacaBroker(paper=, live=, url=, stream_url=, timeout=, max_reconnects=)``. The keys are not
    here: ``AlpacaBroker`` reads them from ``APCA_API_KEY_ID`` / ``APCA_API_SECRET_KEY``. ``paper = false``
    trades real money and needs ``live = true`` here and ``--live`` on the command line, both."""

    paper: bool = True
    live: bool = False
    url: Annotated[str, Meta(pattern=r"^https?://\S+$", description="an http(s):// URL")] | None = None
    stream_url: Annotated[str, Meta(pattern=r"^wss?://\S+$", description="a ws(s):// URL")] | None = None
    timeout: Annotated[float, Meta(gt=0)] = 10.0
    max_reconnects: Annotated[int, Meta(ge=0)] | None = None

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of ``AlpacaBroker`` (a key left at none is not passed: the broker's default)."""
        return {k: v for k, v in msgspec.structs.asdict(self).items() if v is not None}


class SessionConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The live session: where the messages come from (``feed``), where the orders go (``broker``), the
    journal and the limits (``ml4t.live.Session``'s arguments)."""

    feed: Annotated[
        str,
        Meta(
            pattern=r"^(replay|wss?://\S+)$",
            description="'replay' (serve [data] on 127.0.0.1) or a feed's websocket URL 'ws://host:port'",
        ),
    ] = "replay"
    speed: Annotated[float, Meta(ge=0)] = 0.0
    heartbeat: Annotated[float, Meta(gt=0)] = 0.25
    timeout: Annotated[float, Meta(gt=0)] = 10.0
    broker: Literal["simulated", "shadow", "alpaca"] = "simulated"
    journal: str | None = None
    symbols: list[str] | None = None
    session_id: (
        Annotated[str, Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="letters, digits and _")] | None
    ) = None
    reconcile_every: Annotated[float, Meta(gt=0)] = 60.0
    wait_fills: Annotated[float, Meta(ge=0)] = 5.0
    risk: RiskLimits | None = None
    alpaca: AlpacaConfig = AlpacaConfig()


class PaperStrategyConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The event ``Strategy``: ``ref``, its import path (a subclass or a factory), and ``params``, the keyword
    arguments it is called with."""

    ref: Annotated[
        str, Meta(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$", description="an import path 'package.module:name'")
    ]
    params: dict[str, Any] = {}


class PaperConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A paper session (see the module's doc)."""

    version: Literal[1] = 1
    data: DataConfig
    signals: list[SignalsConfig] = []
    strategy: PaperStrategyConfig
    settings: dict[str, Any] = {}
    session: SessionConfig = SessionConfig()


_KEYISH = ("key", "secret", "token", "password")


def _semantics(checker: _Checker, raw: dict[str, Any]) -> EngineSettings:
    """The rules between a paper config's keys (reported with the structural problems); the settings built."""
    checker.data_rules(raw)
    if len(raw.get("signals") or []) > 1:
        checker.add(("signals",), "a session's replay serves one signals file")
    session = _table(raw, "session")
    alpaca = _table(session, "alpaca")
    for key in alpaca:
        if any(word in str(key).lower() for word in _KEYISH):
            path = f"session.alpaca.{key}"
            checker.problems = [p for p in checker.problems if p.path != path]  # not "unknown key"
            checker.add(
                ("session", "alpaca", str(key)),
                f"the Alpaca keys are never read from a config file: set {' and '.join(KEY_VARIABLES)} in the "
                "environment",
            )
    if not checker.has(("session", "alpaca", "paper")) and not checker.has(("session", "alpaca", "live")):
        paper, live = alpaca.get("paper", True), alpaca.get("live", False)
        if paper is False and live is not True:
            checker.add(
                ("session", "alpaca", "paper"),
                "paper = false trades real money: it needs live = true here and --live on the command line",
            )
        if paper is True and live is True:
            checker.add(("session", "alpaca", "live"), "live = true is the opt-in of paper = false (real money)")
    risk = session.get("risk")
    if isinstance(risk, dict) and not checker.has(("session", "risk")):
        try:
            RiskLimits(**risk)
        except ConfigError as error:
            checker.add(("session", "risk", error.argument or ""), error.message)
    built = checker.settings(_table(raw, "settings"), EngineSettings, ("settings",))
    return built if isinstance(built, EngineSettings) else EngineSettings.build()


class PaperLoaded:
    """A validated paper config: ``config`` (the structs), ``file``, the applied ``overrides``, the built
    ``settings``; :meth:`study` is the event-mode study of its ``[data]``, ``[[signals]]``, ``[strategy]`` and
    ``[settings]`` (what builds the bars and the strategy)."""

    def __init__(
        self, config: PaperConfig, file: Path | None, overrides: tuple[str, ...], settings: EngineSettings
    ) -> None:
        self.config = config
        self.file = file
        self.overrides = overrides
        self.settings = settings
        self._study: Study | None = None

    def study(self) -> Study:
        """The :class:`ml4t.config.Study` (event mode) of the data, the strategy and the settings."""
        if self._study is None:
            c = self.config
            strategy = StrategyConfig(mode="event", ref=c.strategy.ref, params=c.strategy.params)
            study = Config(data=c.data, signals=c.signals, strategy=strategy, settings=c.settings)
            loaded = Loaded(study, self.file, msgspec.to_builtins(study), self.overrides, self.settings)
            self._study = Study(loaded)
        return self._study

    def located(self, error: ConfigError) -> ConfigError:
        """``error`` as a ConfigFileError with the file and the line of the key it names (``strategy.ref``,
        ``session.symbols``), or ``error`` itself when it names none of the config's keys."""
        argument = error.argument or ""
        if isinstance(error, ConfigFileError) or argument.split(".")[0] not in PaperConfig.__struct_fields__:
            return error
        path = tuple(argument.split("."))
        origin = next((o for o in self.overrides if o.partition("=")[0].strip() == argument), None)
        line = None if origin is not None else line_of(key_lines(self.file), path)
        shown = str(self.file) if self.file is not None else None
        origin = None if origin is None else f"--set {origin}"
        return ConfigFileError([Problem(argument, error.message, shown, line, origin)], file=shown)


def load_paper(
    path: str | os.PathLike[str],
    *,
    overrides: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
) -> PaperLoaded:
    """The paper config in the file ``path`` (``.toml``, ``.yaml``, ``.json``), with the ``ML4T__...``
    variables of ``environ`` (default ``os.environ``) and ``overrides`` applied; ConfigFileError lists every
    problem with its line."""
    text, format = read_config_file(path)
    file = Path(path)
    raw, applied, settings = check_document(
        text, PaperConfig, _semantics, format=format, file=file, overrides=overrides, environ=environ
    )
    return PaperLoaded(msgspec.convert(raw, PaperConfig), file, applied, settings)


@dataclass(frozen=True)
class PaperOutcome:
    """What :func:`run_paper` did: the ``result`` (saved in ``out / "result"``), the ``journal``'s path, the
    ``session_id``, the ``broker`` and whether the run ``restarted`` a stopped session."""

    result: Result
    out: Path
    journal: Path
    session_id: str
    broker: str
    restarted: bool

    def summary(self) -> str:
        """A few lines: the session, its orders by status, the fills, the final equity, where it is written."""
        orders = self.result.orders
        statuses = Counter(orders["status"].to_list())
        by_status = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items())) or "none"
        equity = self.result.equity["equity"]
        final = f"{equity[-1]:,.2f}" if equity.len() else "n/a"
        how = "restarted from its journal" if self.restarted else "new"
        return "\n".join(
            [
                f"session {self.session_id} ({self.broker} broker, {how})",
                f"orders: {orders.height} ({by_status})",
                f"fills: {self.result.fills.height}",
                f"final equity: {final}",
                f"journal: {self.journal}",
                f"result: {self.out / 'result'}",
            ]
        )


def default_out(loaded: PaperLoaded) -> Path:
    """``paper/<session_id>`` when the config names the session, else ``paper/<UTC time>``."""
    session_id = loaded.config.session.session_id
    stamp = session_id or dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path("paper") / stamp


def run_paper(
    loaded: PaperLoaded, out: str | Path | None = None, *, live: bool = False, venue: Venue | None = None
) -> PaperOutcome:
    """Run the session ``loaded`` declares (see the module's doc) into ``out`` (default :func:`default_out`).

    ``live``: the command line's opt-in to real money (``--live``), needed with ``paper = false`` besides the
    config's ``live = true``. ``venue``: the broker to use instead of the ``AlpacaBroker`` of
    ``[session.alpaca]`` (with ``broker = "shadow"`` or ``"alpaca"``), e.g. another :class:`~ml4t.live.Venue`."""
    config = loaded.config
    session_config = config.session
    broker = session_config.broker
    alpaca = session_config.alpaca
    real_money = broker in ("alpaca", "shadow") and venue is None and not alpaca.paper
    if live and not (real_money and broker == "alpaca"):
        raise ConfigError(
            'live=True (--live) is the opt-in to real money: it goes with broker = "alpaca" and [session.alpaca] '
            "paper = false",
            argument="--live",
        )
    if real_money and broker == "alpaca" and not live:
        raise ConfigError(
            "[session.alpaca] paper = false trades real money: give --live on the command line as well as live = "
            "true in the config (both), or use broker = 'shadow'",
            argument="--live",
        )
    study = loaded.study()
    study.check()  # every problem of the data and the strategy at once, with its line
    target = study.target()
    from ml4t.event import Strategy

    if isinstance(target, type) and not issubclass(target, Strategy):
        raise ConfigError(f"{config.strategy.ref} is not an ml4t.event.Strategy subclass", argument="strategy.ref")
    try:
        strategy = study.event_strategy()
    except TypeError as error:  # the params do not fit the class's (or factory's) signature
        raise ConfigError(
            f"{config.strategy.ref}(**params) failed: {error} (params are its keyword arguments)",
            argument="strategy.params",
        ) from None
    bars = study.bars()
    signals = study.signals()
    symbols = list(session_config.symbols) if session_config.symbols is not None else list(bars.symbols)
    if session_config.feed == "replay":
        missing = sorted(set(symbols) - set(bars.symbols))
        if missing:
            raise ConfigError(
                f"the data has no bars of {missing[0]!r} to replay (it has {list(bars.symbols)[:20]})",
                argument="session.symbols",
                symbol=missing[0],
            )
    folder = Path(out) if out is not None else default_out(loaded)
    folder.mkdir(parents=True, exist_ok=True)
    journal = _journal_path(loaded, folder)
    replayed = bars.select(symbols) if symbols != list(bars.symbols) else bars
    with _feed(loaded, replayed, signals) as feed:
        session = Session(
            strategy,
            feed,
            symbols=symbols,
            venue=_venue(loaded, venue) if broker != "simulated" else None,
            shadow=broker == "shadow",
            live=live,
            journal=journal,
            risk=_risk(loaded),
            freq=config.data.freq,
            session_id=session_config.session_id,
            reconcile_every=session_config.reconcile_every,
            wait_fills=session_config.wait_fills,
            **loaded.settings.to_dict(),
        )
        result = session.run()
    result.save(folder / "result", overwrite=True)
    return PaperOutcome(result, folder, journal, session.session_id, session.broker, session.restarted)


def _journal_path(loaded: PaperLoaded, folder: Path) -> Path:
    given = loaded.config.session.journal
    return folder / "journal.jsonl" if given is None else _from_config(loaded, given)


def _risk(loaded: PaperLoaded) -> RiskLimits | None:
    """``[session.risk]``, its kill switch's file from the config's folder."""
    risk = loaded.config.session.risk
    if risk is None or risk.kill_switch is None:
        return risk
    return msgspec.structs.replace(risk, kill_switch=str(_from_config(loaded, risk.kill_switch)))


def _from_config(loaded: PaperLoaded, given: str) -> Path:
    """A path of the config: from the config file's folder unless absolute (as the data's paths)."""
    path = Path(given)
    if not path.is_absolute() and loaded.file is not None:
        path = loaded.file.parent / path
    return path


def _venue(loaded: PaperLoaded, given: Venue | None) -> Venue:
    """``given``, else ``ml4t.live.AlpacaBroker(**[session.alpaca])`` (alpaca-py imported only now)."""
    if given is not None:
        return given
    try:
        from ml4t.live._alpaca import AlpacaBroker

        venue: Venue = AlpacaBroker(**loaded.config.session.alpaca.arguments())
    except ImportError as error:  # alpaca-py (the ml4t[alpaca] extra) is imported when a broker is made
        raise ConfigError(
            f"broker = {loaded.config.session.broker!r} needs ml4t.live.AlpacaBroker: {error}",
            argument="session.broker",
        ) from None
    return venue


@contextlib.contextmanager
def _feed(loaded: PaperLoaded, bars: Any, signals: list[Any]) -> Iterator[ReplayFeed]:
    """The session's feed: a local replay of ``bars`` (and the signals), or the configured websocket feed."""
    s = loaded.config.session
    if s.feed != "replay":
        with ReplayFeed(s.feed, timeout=s.timeout) as feed:
            yield feed
        return
    speed = s.speed if s.speed > 0 else None
    with (
        ReplayServer(bars, signals[0] if signals else None, speed=speed, heartbeat=s.heartbeat) as server,
        ReplayFeed(server.url, timeout=s.timeout) as feed,
    ):
        yield feed


EXAMPLE = """\
# An ml4t paper session (`ml4t paper paper.toml`): an event Strategy on a live feed, journaled. Every section
# maps onto the Python API (ml4t.live._paper): ml4t.live.Session(Strategy(**params), feed, **[session],
# **[settings]). A commented-out key shows its default; keys marked (default: none) show an example.
# Override any key without editing: `--set session.speed=86400` or ML4T__SESSION__SPEED=86400.
# Run it again with the same journal (same --out, or session_id) to restart a stopped session.

# version = 1                      # the config format's version (default 1)

[data]                             # the recording the replay serves: exactly a study's [data] (ml4t init)
# path = "bars/*.parquet"          # bar files: a file, a glob or a list, from this file's folder (default: none)
# tz = "America/New_York"          # time zone of naive timestamps in the files (default: none)
# freq = "1d"                      # the bars' interval (default: none, inferred)
# universe = ["A000", "A001"]      # the symbols to keep (default: none, every symbol)

[data.synthetic]                   # synthetic bars (ml4t.datasets.synthetic_bars), instead of path
n_assets = 3                       # the number of symbols (default 5)
n_bars = 500                       # bars per symbol (default 2520)
# seed = 0                         # the random seed

# [[signals]]                      # one file of signals the replay serves with the bars, as a study's
# path = "predictions.parquet"

[strategy]
ref = "ml4t.demo:SmaCrossWithStop" # an ml4t.event.Strategy subclass (or factory) by import path, linted first
params = { fast = 10, slow = 30 }  # its keyword arguments (default: none)

[settings]                         # ml4t.settings.EngineSettings, field for field (the simulated broker's rules)
init_cash = 100000.0               # starting cash (with a broker: the session's budget in its account)
account = "margin"                 # "cash" or "margin"
leverage = 3.0                     # a margin account's leverage (default: none, 2.0 on margin)
# execution = "next_open"          # "next_open": fill at the next bar's open; "close": at the bar's close
# commission = { model = "PerShare", per_share = 0.005, minimum = 1.0 }  # a cost model (default: none)
# slippage = { model = "Bps", bps = 5 }  # a slippage model (default: none)

[session]                          # ml4t.live.Session
# feed = "replay"                  # "replay": serve [data] on 127.0.0.1; or a feed's URL "ws://host:port"
# speed = 0.0                      # replay pace, simulated seconds per wall second; 0: as fast as possible
# heartbeat = 0.25                 # seconds of wall time between heartbeats of a paced replay
# timeout = 10.0                   # seconds without a message before the feed is given up
# broker = "simulated"             # "simulated" (as a backtest), "shadow" (decide, send nothing), "alpaca"
# journal = "session.jsonl"        # the journal, from this file's folder (default: none, <out>/journal.jsonl)
# symbols = ["A000", "A001"]       # the session's symbols (default: none, the data's)
# session_id = "sma_paper"         # the client order ids' prefix, and the default --out (default: none)
# reconcile_every = 60.0           # seconds between reconciliations with the broker's account
# wait_fills = 5.0                 # at the feed's end, seconds to wait for the broker's last reports

# [session.risk]                   # ml4t.live.RiskLimits, checked before any order leaves
# max_order_value = 50000.0        # the largest order value, in account currency (default: none)
# max_position = 1000.0            # the largest absolute position in units of one symbol (default: none)
# kill_switch = "STOP"             # no order leaves while this file exists, from this file's folder (default: none)

# [session.alpaca]                 # ml4t.live.AlpacaBroker (broker = "alpaca" or "shadow"); the keys come
                                   # from APCA_API_KEY_ID / APCA_API_SECRET_KEY, never from this file
# paper = true                     # the paper account; false trades real money
# live = false                     # the opt-in to real money: with paper = false, and --live on the command line
# url = "https://paper-api.alpaca.markets"           # the REST base (default: none, Alpaca's)
# stream_url = "wss://paper-api.alpaca.markets/stream"  # the trade updates stream (default: none, Alpaca's)
# timeout = 10.0                   # seconds a request may take
# max_reconnects = 10              # stream connections lost in a row before giving up (default: none, the broker's)
"""
"""The commented example ``ml4t init --paper`` writes: it runs on synthetic bars, on the simulated broker."""
