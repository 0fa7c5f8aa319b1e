"""``ml4t paper CONFIG``: an event :class:`~ml4t.event.Strategy` from a config file run as a live
:class:`~ml4t.live.Session`, journaled, its result saved (the config: :mod:`ml4t.config._paper`).

Contract of :func:`run_paper`:

- the feed: ``feed = "replay"`` serves the config's ``[data]`` (and ``[[signals]]``), the session's symbols only,
  from a :class:`~ml4t.live.ReplayServer` on 127.0.0.1 at ``speed`` (0: as fast as the session reads) and reads it
  back with a :class:`~ml4t.live.ReplayFeed`, exactly as a remote feed is read; ``feed = "ws://..."`` reads that
  feed (``[data]`` then gives the symbols, unless ``symbols`` does);
- the broker: ``simulated`` (the Rust matching engine, as a backtest), ``shadow`` (orders decided, checked and
  journaled against the Alpaca account of ``[session.alpaca]``, never sent) or ``alpaca``
  (``ml4t.live.AlpacaBroker(**[session.alpaca])``, imported when used). Real money (``paper = false``) needs
  ``live = true`` in the config and ``live=True`` here (``--live``), both;
- the folder ``out``: the journal (``journal.jsonl`` unless ``journal`` says where; a relative path is from the
  config's folder) and ``Result.save(out/"result")``. A journal without an end line is a stopped session: the
  Session restarts it (:attr:`PaperOutcome.restarted`); a finished one is a ConfigError naming its path.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml4t.config._paper import PaperLoaded
from ml4t.errors import ConfigError
from ml4t.live._broker import Venue
from ml4t.live._feed import ReplayFeed
from ml4t.live._replay import ReplayServer
from ml4t.live._session import Session
from ml4t.result import Result

__all__ = ["PaperOutcome", "default_out", "run_paper"]


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
            risk=session_config.risk,
            freq=config.data.freq,
            session_id=session_config.session_id,
            reconcile_every=session_config.reconcile_every,
            **loaded.settings.to_dict(),
        )
        result = session.run()
    result.save(folder / "result", overwrite=True)
    return PaperOutcome(result, folder, journal, session.session_id, session.broker, session.restarted)


def _journal_path(loaded: PaperLoaded, folder: Path) -> Path:
    given = loaded.config.session.journal
    if given is None:
        return folder / "journal.jsonl"
    path = Path(given)
    if not path.is_absolute() and loaded.file is not None:
        path = loaded.file.parent / path
    return path


def _venue(loaded: PaperLoaded, given: Venue | None) -> Venue:
    """``given``, else ``ml4t.live.AlpacaBroker(**[session.alpaca])`` (alpaca-py imported only now)."""
    if given is not None:
        return given
    try:
        from ml4t.live._alpaca import AlpacaBroker  # type: ignore[import-not-found, unused-ignore]
    except ImportError as error:
        raise ConfigError(
            f"broker = {loaded.config.session.broker!r} needs ml4t.live.AlpacaBroker, which cannot be imported "
            f"here ({error})",
            argument="session.broker",
        ) from None
    venue: Venue = AlpacaBroker(**loaded.config.session.alpaca.arguments())
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
