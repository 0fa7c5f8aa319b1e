"""``Session``: the same event :class:`~ml4t.event.Strategy` driven by a feed, message by message, instead of by
a whole recording, on the simulated broker or through a venue.

A backtest (``ml4t.event.Engine.run``) is three things at once: the historical feed (all the bars, known up
front), the simulated broker (the Rust matching engine and ledger) and the simulated clock. A session takes a
:class:`~ml4t.live.Feed` (a replay over a websocket, the journal of an earlier session, a live source) and
runs the engine incrementally (``EventEngine.incremental``): each message's records are appended as they
arrive, the watermark moves to the message's time, and the engine steps through every timestamp that is
complete, waking the strategy exactly as a backtest does. On the simulated broker a replay therefore places
the same orders at the same simulated times as the backtest on the same data, and returns the same
``Result`` (tested bit for bit).

Brokers (``broker`` of the journal's ``start`` line and ``Result.meta``):

- ``simulated`` (no ``venue``): the Rust matching engine fills the orders, as in a backtest;
- ``paper`` / ``live``: a venue (:class:`~ml4t.live.AlpacaBroker`, or any :class:`~ml4t.live.Venue`)
  executes them; the engine records each order and books the venue's fills and closes into the one ledger
  (:mod:`ml4t.live._gate`). A venue that trades real money needs ``live=True`` here as well as its own opt-in;
- ``shadow`` (``venue`` with ``shadow=True``): orders are decided, checked and journaled but never sent; the
  simulated broker says what would have happened.

Journal (``journal=``, :mod:`ml4t.live._journal`): every feed message exactly as received, every decision with
its client order id (``<session_id>-<order id>``), refusals, orders sent (before sending), the venue's answers
and updates (with the number of the poll that read them), reconciliations. :class:`~ml4t.live.JournalFeed`
reads it back as a feed, so a session replays from its journal exactly. Given a journal that exists and has no
``end`` line (a session that crashed or was stopped), :meth:`Session.run` **restarts** it: the strategy is
replayed over the journaled messages with the venue's journaled answers (nothing is sent; each decision must
repeat the journaled one), then the ledger is settled with the venue (fills and closes it missed while down;
an order the venue never received is closed ``cancelled``, never sent late), and the session goes on with the
feed's messages after the last one journaled.

Risk limits (:class:`~ml4t.live.RiskLimits`) are checked on every order before it leaves: a refused order is
recorded as ``rejected`` with reason code ``risk_limit`` and never reaches the market.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ml4t import _core
from ml4t._time import parse_duration
from ml4t.data import PITData
from ml4t.errors import ConfigError, DataError
from ml4t.event._context import Context
from ml4t.event._engine import _check_bar_columns, _drive, assemble_event, engine_rules
from ml4t.event._strategy import Strategy, note_hook
from ml4t.lint import lint_before_run
from ml4t.live._broker import Venue
from ml4t.live._feeds import JournalFeed, journal_message, messages, messages_of_journal
from ml4t.live._gate import Gate, Recorded, VenueGate, settle
from ml4t.live._journal import Entry, Journal
from ml4t.live._journal import read as read_journal
from ml4t.live._risk import RiskLimits
from ml4t.live._seams import Feed
from ml4t.live._tape import Tape
from ml4t.live._wire import Message
from ml4t.result import Result
from ml4t.settings import EngineSettings

__all__ = ["Session", "replay"]


class Session:
    """Run ``strategy`` on the messages of ``feed`` (see the module's doc) and return its ``Result``.

    Parameters
    ----------
    strategy:
        An :class:`ml4t.event.Strategy` instance: the same class a backtest runs, unchanged.
    feed:
        A :class:`~ml4t.live.Feed`: :class:`~ml4t.live.ReplayFeed`, :class:`~ml4t.live.JournalFeed`,
        :class:`~ml4t.live.HistoricalFeed`, or any object with ``next()`` returning messages (None at the end).
    symbols:
        The session's universe (a bar of another symbol is a DataError naming it).
    venue:
        Where the orders go (:class:`~ml4t.live.AlpacaBroker`, or any :class:`~ml4t.live.Venue`); None: the
        simulated broker. The session connects it when it starts and closes it when it stops.
    shadow:
        With a venue: decide, check and journal every order but send none (the simulated broker fills them).
    live:
        The explicit opt-in a venue that trades real money (``venue.live``) needs, besides its own.
    journal:
        A path: every event of the session appended there as it happens (None: no journal). An existing
        journal without an ``end`` line is a stopped session: ``run`` restarts it (see the module's doc).
    risk:
        :class:`~ml4t.live.RiskLimits` checked before every order leaves (None: no limits).
    freq:
        The bars' length (``"1d"``, ``"1m"``) as given to ``ml4t.data.bars`` when the recording declared one;
        None infers it from the bars received.
    session_id:
        Prefix of the client order ids (``"<session_id>-<order id>"``); default a new random id, journaled (a
        restart takes the journal's).
    reconcile_every:
        Seconds of wall time between two comparisons of the ledger with the venue's positions and cash (also
        at the start, after a restart and at the end); differences are journaled and warned
        (``ReconcileWarning``).
    wait_fills:
        With a venue: when the feed ends, seconds to wait for the venue's reports of executions and closes of
        the session's orders it has not read yet (they travel on their own stream), before the last steps.
    settings:
        Everything ``ml4t.event.Engine`` takes (``init_cash``, ``execution``, ``commission``, ...): the
        simulated broker's rules, declared once in :class:`ml4t.settings.EngineSettings`. With a venue,
        ``init_cash`` is the session's budget in the venue's account; fills carry the venue's prices and no
        fee (the venue's fees show in its cash, see the reconciliations).
    """

    def __init__(
        self,
        strategy: Strategy,
        feed: Feed,
        *,
        symbols: Sequence[str],
        venue: Venue | None = None,
        shadow: bool = False,
        live: bool = False,
        journal: str | os.PathLike[str] | None = None,
        risk: RiskLimits | None = None,
        freq: str | None = None,
        session_id: str | None = None,
        reconcile_every: float = 60.0,
        wait_fills: float = 5.0,
        **settings: Any,
    ) -> None:
        if not isinstance(strategy, Strategy):
            raise ConfigError(
                f"strategy must be an ml4t.event.Strategy instance, got {type(strategy).__name__}", argument="strategy"
            )
        if not callable(getattr(feed, "next", None)):
            hint = ": wrap recorded bars in ml4t.live.HistoricalFeed(bars), or serve them with ReplayServer"
            raise ConfigError(
                f"feed must have a next() method (a Feed), got {type(feed).__name__}"
                f"{hint if type(feed).__name__ == 'Bars' else ''}",
                argument="feed",
            )
        if isinstance(symbols, str) or not symbols or not all(isinstance(s, str) and s for s in symbols):
            raise ConfigError(f"symbols must be a non-empty list of symbol names, got {symbols!r}", argument="symbols")
        if venue is not None and not isinstance(venue, Venue):
            raise ConfigError(
                f"venue must be an ml4t.live.Venue (a broker), got {type(venue).__name__}", argument="venue"
            )
        for name, flag in (("shadow", shadow), ("live", live)):
            if not isinstance(flag, bool):
                raise ConfigError(f"{name} must be True or False, got {flag!r}", argument=name)
        if shadow and venue is None:
            raise ConfigError("shadow=True needs the venue whose orders it decides without sending", argument="shadow")
        real_money = bool(getattr(venue, "live", False))
        if real_money and not shadow and not live:
            raise ConfigError(
                "the venue trades real money: pass live=True to the Session as well (the explicit opt-in), or "
                "shadow=True to decide without sending",
                argument="live",
            )
        if risk is not None and not isinstance(risk, RiskLimits):
            raise ConfigError(f"risk must be ml4t.live.RiskLimits, got {type(risk).__name__}", argument="risk")
        if session_id is not None and (not isinstance(session_id, str) or not session_id.isidentifier()):
            raise ConfigError(f"session_id must be letters, digits and _, got {session_id!r}", argument="session_id")
        if not (isinstance(wait_fills, (int, float)) and wait_fills >= 0):
            raise ConfigError(f"wait_fills must be seconds >= 0, got {wait_fills!r}", argument="wait_fills")
        if not (isinstance(reconcile_every, (int, float)) and reconcile_every > 0):
            raise ConfigError(
                f"reconcile_every must be seconds > 0, got {reconcile_every!r}", argument="reconcile_every"
            )
        self.settings = EngineSettings.build(**settings)
        multipliers = self.settings.multipliers or {}
        unknown = sorted(set(multipliers) - set(symbols))
        if unknown:
            raise ConfigError(
                "multipliers name symbols outside the session's", argument="multipliers", symbol=unknown[0]
            )
        self.symbols = sorted(set(symbols))
        self.broker = "shadow" if shadow else ("simulated" if venue is None else ("live" if real_money else "paper"))
        """``simulated``, ``shadow``, ``paper`` or ``live`` (see the module's doc)."""
        self._strategy = strategy
        self._feed = feed
        self._venue = venue
        self._journal_path = journal
        self._risk = risk
        self._bar_length = None if freq is None else parse_duration(freq, argument="freq")
        self._given_id = session_id
        self.session_id = session_id or f"s{uuid.uuid4().hex[:12]}"
        self._reconcile_every = float(reconcile_every)
        self._wait_fills = float(wait_fills)
        self._multipliers = np.array([multipliers.get(s, 1.0) for s in self.symbols])
        self.killed = False
        """Set by :meth:`kill`: every later order is refused (reason ``kill switch``)."""
        self.restarted = False
        """Whether the last :meth:`run` restarted a stopped session from its journal."""

    def kill(self) -> None:
        """Refuse every order from now on (the session's own kill switch; an operator can also create the
        file of ``RiskLimits.kill_switch``)."""
        self.killed = True

    def run(self) -> Result:
        """Read the feed to its end, driving the strategy, and return the ``Result`` (the same shape as a
        backtest's). An error in a hook propagates (noted with the hook and the clock time); the journal
        keeps everything up to it, and running the session again restarts from it."""
        strategy = self._strategy
        lint_before_run(strategy, f"the strategy {type(strategy).__name__}")
        earlier = self._earlier()
        self.restarted = bool(earlier)
        run = _Run(self, earlier)
        venue = self._venue
        try:
            if venue is not None:
                venue.connect()
            return run.go()
        finally:
            if run.journal is not None:
                run.journal.close()
            if venue is not None:
                venue.close()

    def _earlier(self) -> list[Entry]:
        """The entries of a stopped session's journal (empty: a new session)."""
        path = self._journal_path
        if path is None or not os.path.exists(path) or os.path.getsize(path) == 0:
            return []
        entries = read_journal(path)
        if not entries:
            return []
        start = entries[0]
        if start.kind != "start":
            raise DataError(f"the journal {os.fspath(path)!r} does not begin with a start line", argument="journal")
        if entries[-1].kind == "end":
            raise ConfigError(
                f"the journal {os.fspath(path)!r} holds a finished session; give a new path (replay it with "
                "JournalFeed)",
                argument="journal",
            )
        for key, ours in (("symbols", self.symbols), ("broker", self.broker)):
            if start.data[key] != ours:
                raise ConfigError(
                    f"the journal's session has {key} {start.data[key]!r}, this one {ours!r}: a restart runs the "
                    "same session",
                    argument=key,
                )
        if self._given_id is not None and self._given_id != start.data["session_id"]:
            raise ConfigError(
                f"the journal's session is {start.data['session_id']!r}, not {self._given_id!r}", argument="session_id"
            )
        self.session_id = start.data["session_id"]
        return entries

    def _describe(self) -> dict[str, Any]:
        s = self.settings
        return {
            "session_id": self.session_id,
            "strategy": f"{type(self._strategy).__module__}.{type(self._strategy).__qualname__}",
            "symbols": self.symbols,
            "broker": self.broker,
            "settings": {k: _jsonable(s[k]) for k in s.__struct_fields__},
        }


class _Run:
    """One :meth:`Session.run`: the engine, the tape, the gate and the loop over the messages."""

    def __init__(self, session: Session, earlier: list[Entry]) -> None:
        self.session = session
        self.earlier = earlier
        s = session.settings
        strategy = session._strategy
        self.hooks = hooks = strategy._hooks()
        external = session.broker in ("paper", "live")
        self.core = core = _core.EventEngine.incremental(
            **engine_rules(s, session._multipliers, hooks),
            external=external,  # a broker executes the orders: the engine records them, never fills them
        )
        self.tape = Tape(session.symbols, strategy._indicator_exprs(), s.session_tz, session._bar_length)
        path = session._journal_path
        self.journal = Journal(path) if path is not None else None
        gate_args: dict[str, Any] = {
            "risk": session._risk,
            "symbols": session.symbols,
            "multipliers": session._multipliers.tolist(),
            "session_id": session.session_id,
            "killed": lambda: session.killed,
        }
        writing = None if earlier else self.journal
        self.gate: Gate
        if external:
            assert session._venue is not None
            venue = Recorded(earlier) if earlier else session._venue
            self.gate = VenueGate(core, writing, venue, **gate_args)
        else:
            self.gate = Gate(core, writing, **gate_args)
        if earlier:
            self.gate.expected = {e.data["order_id"]: e.data for e in earlier if e.kind == "decision"}
        self.coalesce = not external
        """Whether a backlog of messages is taken at once: the same steps (the engine steps through every
        timestamp of what it holds, the view never shows what arrived after its clock), one rebuild of the
        tape instead of one per message. Not with a venue: it is polled once per message."""
        self.ctx: Context | None = None
        self.fills_journaled = 0
        self.last_seq = -1
        self.last_reconcile = time.monotonic()

    def go(self) -> Result:
        session, core = self.session, self.core
        strategy = session._strategy
        try:
            if self.earlier:
                self._restart()
            else:
                if self.journal is not None:
                    self.journal.append("start", 0, session._describe())
                self._open()
            for batch in _batches(session._feed, self.coalesce):
                fresh = [m for m in batch if not self._seen(m)]
                if fresh:
                    self._take(fresh, self.journal)
            if isinstance(self.gate, VenueGate):
                self.gate.catch_up(session._wait_fills)
            core.end()
            ctx = self._ctx_or_fail()
            self._poll_and_drain(ctx)
            core.finish()
            strategy.on_end(ctx)
        except Exception as error:
            note_hook(error, strategy, core.now)
            raise
        finally:
            if self.ctx is not None:
                self.ctx._close()
        if isinstance(self.gate, VenueGate) and session._venue is not None:
            self.gate.reconcile("end")
        tape = self.tape
        assert tape.raw_bars is not None and tape.stream is not None
        result = assemble_event(
            core.results(), tape.raw_bars, tape.stream, session.settings, session._multipliers, ctx._tags,
            strategy, mode="live", extra={"broker": session.broker, "session_id": session.session_id},
        )  # fmt: skip
        if self.journal is not None:
            self.journal.append("end", core.now, {"orders": result.orders.height, "fills": result.fills.height})
        return result

    def _open(self) -> None:
        """A new session with a venue: the account must not hold the session's symbols already; journal it."""
        session, gate = self.session, self.gate
        venue = session._venue
        if venue is None:
            return
        held = venue.positions()
        if session.broker in ("paper", "live"):
            taken = sorted(s for s in session.symbols if held.get(s, 0.0) != 0.0)
            if taken:
                raise ConfigError(
                    f"the broker's account already holds {held[taken[0]]:g} {taken[0]}: a new session starts flat "
                    "in its symbols (close the position, or leave the symbol out)",
                    argument="symbols",
                    symbol=taken[0],
                )
            assert isinstance(gate, VenueGate)
            gate.reconcile("start")
        elif self.journal is not None:
            account = venue.account()
            data = {"when": "start", "cash": [None, account.cash], "positions": held, "differ": {}}
            self.journal.append("reconcile", 0, data)

    def _restart(self) -> None:
        """Replay the journal's messages through the strategy (nothing sent), then settle with the venue."""
        session, core, journal = self.session, self.core, self.journal
        recorded = messages_of_journal(self.earlier)
        step = _MAX_BATCH if self.coalesce else 1
        for lo in range(0, len(recorded), step):
            self._take(recorded[lo : lo + step], None)
        self.gate.expected = None
        self.gate.journal = journal
        self.fills_journaled = len(core.fills(0, 2**62))
        changes: list[dict[str, Any]] = []
        if isinstance(self.gate, VenueGate):
            assert session._venue is not None
            self.gate.venue = session._venue
            changes = settle(self.gate, session._venue)
        if journal is not None:
            data = {"session_id": session.session_id, "replayed_messages": self.last_seq + 1, "settled": changes}
            journal.append("restart", core.now, data)
        if isinstance(self.gate, VenueGate):
            self.gate.reconcile("restart")

    def _seen(self, message: Message) -> bool:
        """Whether ``message`` was taken before a restart (a feed read again from its start)."""
        if message.kind == "data":
            return message.seq <= self.last_seq
        return message.ts < self.core.watermark

    def _take(self, batch: list[Message], journal: Journal | None) -> None:
        """Feed messages (one, or a backlog taken at once): journal each, append their records, advance the
        watermark to the last one's time, step the strategy through every timestamp now complete."""
        core, tape, session = self.core, self.tape, self.session
        if journal is not None:
            with journal.batch():
                for message in batch:
                    journal_message(journal, message)
        data = [m for m in batch if m.kind == "data"]
        if data:
            bar_lo, bar_hi, sig_lo, sig_hi = tape.add(data)
            if bar_hi > bar_lo:
                core.append_bars(**tape.engine_columns(bar_lo, bar_hi))
            if sig_hi > sig_lo:
                assert tape.signal_stream is not None
                core.append_signals(tape.signal_stream.ts_arrival[sig_lo:sig_hi])
            self.last_seq = data[-1].seq
            if self.ctx is not None:
                self.ctx._data = None  # the view is rebuilt on its next use, with the new records
        core.advance(batch[-1].ts)
        if self.ctx is None:
            if tape.bars is None:
                return  # signals before any bar: held until the first bar tells the bars' shape
            _check_bar_columns(tape.bars, session.settings)
            self.ctx = Context(
                self.gate, self._view, session.symbols, session._multipliers.tolist(),
                fractional=session.settings.fractional, close_only=tape.bars.close_only,
            )  # fmt: skip
            session._strategy.on_start(self.ctx)
        self._poll_and_drain(self.ctx)
        gate = self.gate
        if (
            isinstance(gate, VenueGate)
            and gate.journal is not None
            and time.monotonic() - self.last_reconcile >= session._reconcile_every
        ):
            gate.reconcile("periodic")
            self.last_reconcile = time.monotonic()

    def _poll_and_drain(self, ctx: Context) -> None:
        """Book the venue's updates, then step through every timestamp the engine can complete now, waking the
        strategy as a backtest does; journal the simulated broker's fills."""
        gate, core, tape = self.gate, self.core, self.tape
        stream, sig = tape.stream, tape.signal_stream
        assert stream is not None
        sig_columns, sig_names = (sig.columns, sig.names) if sig is not None else ({}, [])
        venue = isinstance(gate, VenueGate)
        if isinstance(gate, VenueGate):
            gate.poll()
        # With a venue every entry is synced before the session acts on it (write-ahead); otherwise nothing
        # leaves the process and the drain's entries are synced once, at its end.
        with contextlib.nullcontext() if venue or gate.journal is None else gate.journal.batch():
            _drive(
                core, ctx, self.session._strategy, self.hooks, stream.columns, stream.names, stream.symbol_index,
                sig_columns, sig_names, self.session.symbols,
            )  # fmt: skip
            if not venue:
                self.fills_journaled = _journal_fills(gate.journal, core, self.fills_journaled, self.session.symbols)

    def _view(self) -> PITData:
        assert self.tape.bars is not None
        return PITData(self.tape.bars, self.tape.signals, now=self.core.now)

    def _ctx_or_fail(self) -> Context:
        if self.ctx is None:
            raise DataError("the feed ended without a single bar", argument="feed")
        return self.ctx


_MAX_BATCH = 4096
"""The most messages taken at once."""


def _batches(feed: Feed, coalesce: bool) -> Iterator[list[Message]]:
    """The messages of ``feed`` until it ends, one at a time, or (``coalesce``) with those already waiting when
    the feed says how many (``feed.pending()``, optional), up to ``_MAX_BATCH`` at once."""
    pending = getattr(feed, "pending", None) if coalesce else None
    source = messages(feed)
    for message in source:
        batch = [message]
        while pending is not None and len(batch) < _MAX_BATCH and pending() > 0:
            more = next(source, None)
            if more is None:
                break
            batch.append(more)
        yield batch


def replay(journal: str | os.PathLike[str], strategy: Strategy, **settings: Any) -> Result:
    """What the simulator says would have happened in the journaled session: ``strategy`` (a new instance of
    the session's class) on exactly the messages the session received, on the simulated broker under
    ``settings`` (the session's, or others to ask "what if"). ``ml4t.compare(live, replay(...))`` then reports
    the gap between what happened and the simulation: fills at other prices or times, orders the broker
    refused, trades only one of them took."""
    entries = read_journal(journal)
    if not entries or entries[0].kind != "start":
        raise DataError(f"the journal {os.fspath(journal)!r} does not begin with a start line", argument="journal")
    symbols = entries[0].data["symbols"]
    return Session(strategy, JournalFeed(journal), symbols=symbols, **settings).run()


def _journal_fills(journal: Journal | None, core: Any, done: int, symbols: list[str]) -> int:
    """Journal the engine's fills from number ``done`` on; return how many are journaled."""
    if journal is None:
        return done
    fills = core.fills(done, 2**62)
    for order_id, ts, sym, buy, qty, price, fee, slip in fills:
        journal.append(
            "fill",
            ts,
            {
                "order_id": order_id,
                "symbol": symbols[sym],
                "quantity": qty if buy else -qty,
                "price": price,
                "fee": fee,
                "slippage": slip,
            },
        )
    return done + len(fills)


def _jsonable(value: object) -> object:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)
