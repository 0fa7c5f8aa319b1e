"""``Session``: the same event :class:`~ml4t.event.Strategy` driven by a feed, message by message, instead of by
a whole recording.

A backtest (``ml4t.event.Engine.run``) is three things at once: the historical feed (all the bars, known up
front), the simulated broker (the Rust matching engine and ledger) and the simulated clock. A session takes a
:class:`~ml4t.live.Feed` (a replay over a websocket, the journal of an earlier session, a live source) and
runs the engine incrementally (``EventEngine.incremental``): each message's records are appended as they
arrive, the watermark moves to the message's time, and the engine steps through every timestamp that is
complete, waking the strategy exactly as a backtest does. On the simulated broker a replay therefore places
the same orders at the same simulated times as the backtest on the same data, and returns the same
``Result`` (tested bit for bit).

Every event is journaled as it happens when ``journal=`` is given (:mod:`ml4t.live._journal`): each data
message (exactly as received), each order decision with its client order id, each refusal, cancel and fill.
:class:`JournalFeed` reads a journal back as a feed, so a session replays from its journal exactly.

Risk limits (:class:`~ml4t.live.RiskLimits`) are checked on every order before it leaves: a refused order is
recorded as ``rejected`` with reason code ``risk_limit`` and never reaches the market.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ml4t import _core
from ml4t.costs import lower_costs
from ml4t.data import PITData
from ml4t.errors import ConfigError, DataError
from ml4t.event._context import Context
from ml4t.event._engine import _check_bar_columns, _drive, assemble_event
from ml4t.event._strategy import Strategy, note_hook
from ml4t.lint import lint_before_run
from ml4t.live._journal import Journal
from ml4t.live._journal import read as read_journal
from ml4t.live._risk import RiskLimits
from ml4t.live._seams import Feed
from ml4t.live._tape import Tape
from ml4t.live._wire import Message, from_text, to_text
from ml4t.result import Result
from ml4t.settings import EngineSettings

__all__ = ["JournalFeed", "Session"]


class Session:
    """Run ``strategy`` on the messages of ``feed`` (see the module's doc) and return its ``Result``.

    Parameters
    ----------
    strategy:
        An :class:`ml4t.event.Strategy` instance: the same class a backtest runs, unchanged.
    feed:
        A :class:`~ml4t.live.Feed`: :class:`~ml4t.live.ReplayFeed`, :class:`JournalFeed`,
        :class:`HistoricalFeed`, or any object with ``next()`` returning messages (None at the end).
    symbols:
        The session's universe (a bar of another symbol is a DataError naming it).
    journal:
        A path: every event of the session appended there as it happens (None: no journal).
    risk:
        :class:`~ml4t.live.RiskLimits` checked before every order leaves (None: no limits).
    freq:
        The bars' length (``"1d"``, ``"1m"``) as given to ``ml4t.data.bars`` when the recording declared one;
        None infers it from the bars received.
    session_id:
        Prefix of the client order ids (``"<session_id>-<order id>"``); default a new random id, journaled.
    settings:
        Everything ``ml4t.event.Engine`` takes (``init_cash``, ``execution``, ``commission``, ...): the
        simulated broker's rules, declared once in :class:`ml4t.settings.EngineSettings`.
    """

    def __init__(
        self,
        strategy: Strategy,
        feed: Feed,
        *,
        symbols: Sequence[str],
        journal: str | os.PathLike[str] | None = None,
        risk: RiskLimits | None = None,
        freq: str | None = None,
        session_id: str | None = None,
        **settings: Any,
    ) -> None:
        if not isinstance(strategy, Strategy):
            raise ConfigError(
                f"strategy must be an ml4t.event.Strategy instance, got {type(strategy).__name__}", argument="strategy"
            )
        if not callable(getattr(feed, "next", None)):
            raise ConfigError(f"feed must have a next() method (a Feed), got {type(feed).__name__}", argument="feed")
        if isinstance(symbols, str) or not symbols or not all(isinstance(s, str) and s for s in symbols):
            raise ConfigError(f"symbols must be a non-empty list of symbol names, got {symbols!r}", argument="symbols")
        if risk is not None and not isinstance(risk, RiskLimits):
            raise ConfigError(f"risk must be ml4t.live.RiskLimits, got {type(risk).__name__}", argument="risk")
        if session_id is not None and (not isinstance(session_id, str) or not session_id.isidentifier()):
            raise ConfigError(f"session_id must be letters, digits and _, got {session_id!r}", argument="session_id")
        self.settings = EngineSettings.build(**settings)
        multipliers = self.settings.multipliers or {}
        unknown = sorted(set(multipliers) - set(symbols))
        if unknown:
            raise ConfigError(
                "multipliers name symbols outside the session's", argument="multipliers", symbol=unknown[0]
            )
        self.symbols = sorted(set(symbols))
        self._strategy = strategy
        self._feed = feed
        self._journal_path = journal
        self._risk = risk
        self._freq_ns = None if freq is None else _freq_ns(freq)
        self.session_id = session_id or f"s{uuid.uuid4().hex[:12]}"
        self._multipliers = np.array([multipliers.get(s, 1.0) for s in self.symbols])
        self.killed = False
        """Set by :meth:`kill`: every later order is refused (reason ``kill switch``)."""

    def kill(self) -> None:
        """Refuse every order from now on (the session's own kill switch; an operator can also create the
        file of ``RiskLimits.kill_switch``)."""
        self.killed = True

    def run(self) -> Result:
        """Read the feed to its end, driving the strategy, and return the ``Result`` (the same shape as a
        backtest's). An error in a hook propagates (noted with the hook and the clock time), the journal
        keeps everything up to it."""
        strategy, s = self._strategy, self.settings
        lint_before_run(strategy, f"the strategy {type(strategy).__name__}")
        hooks = strategy._hooks()
        generic = hooks["on_event"]
        wake = (
            generic or hooks["on_bar"],
            generic or hooks["on_signal"],
            generic or hooks["on_fill"],
            generic or hooks["on_timer"],
        )
        commission, slippage = lower_costs(s.commission, s.slippage)
        core = _core.EventEngine.incremental(
            multipliers=self._multipliers,
            init_cash=s.init_cash,
            leverage=s.leverage,
            maintenance_margin=s.maintenance_margin,
            execution=s.execution,
            order_latency=s.latency_ns,
            participation=s.participation,
            both_touched=s.both_touched,
            commission=commission,
            slippage=slippage,
            wake=wake,
        )
        tape = Tape(self.symbols, strategy._indicator_exprs(), s.session_tz, self._freq_ns)
        journal = Journal(self._journal_path) if self._journal_path is not None else None
        gate = _Gate(core, journal, self._risk, self, self._multipliers.tolist())

        def view() -> PITData:
            assert tape.bars is not None
            return PITData(tape.bars, tape.signals, now=core.now)

        ctx: Context | None = None
        try:
            ctx = self._loop(core, tape, gate, journal, hooks, view)
            assert tape.raw_bars is not None and tape.stream is not None
            result = assemble_event(
                core.results(), tape.raw_bars, tape.stream, s, self._multipliers, ctx._tags, strategy, mode="live"
            )
            if journal is not None:
                journal.append("end", core.now, {"orders": result.orders.height, "fills": result.fills.height})
            return result
        finally:
            if journal is not None:
                journal.close()

    def _loop(
        self, core: Any, tape: Tape, gate: _Gate, journal: Journal | None, hooks: dict[str, bool], view: Any
    ) -> Context:
        """Read the feed to its end, appending each message to the engine and stepping it; return the ctx."""
        strategy, s = self._strategy, self.settings
        ctx: Context | None = None
        fills_journaled = 0
        try:
            if journal is not None:
                journal.append("start", 0, self._describe())
            for message in _messages(self._feed):
                if journal is not None:
                    _journal_message(journal, message)
                if message.kind == "data":
                    self._take(core, tape, message)
                    if ctx is not None:
                        ctx._data = None  # the view is rebuilt on its next use, with the new records
                core.advance(message.ts)
                if ctx is None:
                    if tape.bars is None:
                        continue  # signals before any bar: held until the first bar tells the bars' shape
                    _check_bar_columns(tape.bars, s)
                    ctx = Context(
                        gate, view, self.symbols, self._multipliers.tolist(), fractional=s.fractional,
                        close_only=tape.bars.close_only,
                    )  # fmt: skip
                    strategy.on_start(ctx)
                self._drain(core, ctx, tape, hooks)
                fills_journaled = _journal_fills(journal, core, fills_journaled, self.symbols)
            core.end()
            if ctx is None:
                raise DataError("the feed ended without a single bar", argument="feed")
            self._drain(core, ctx, tape, hooks)
            _journal_fills(journal, core, fills_journaled, self.symbols)
            core.finish()
            strategy.on_end(ctx)
        except Exception as error:
            note_hook(error, strategy, core.now)
            raise
        finally:
            if ctx is not None:
                ctx._close()
        return ctx

    def _take(self, core: Any, tape: Tape, message: Message) -> None:
        """Append ``message``'s records to the tape and the engine."""
        bar_lo, bar_hi, sig_lo, sig_hi = tape.add(message)
        if bar_hi > bar_lo:
            core.append_bars(**tape.engine_columns(bar_lo, bar_hi))
        if sig_hi > sig_lo:
            assert tape.signal_stream is not None
            core.append_signals(tape.signal_stream.ts_arrival[sig_lo:sig_hi])

    def _drain(self, core: Any, ctx: Context, tape: Tape, hooks: dict[str, bool]) -> None:
        """Step through every timestamp the engine can complete now, waking the strategy as a backtest does."""
        stream, sig = tape.stream, tape.signal_stream
        assert stream is not None
        sig_columns, sig_names = (sig.columns, sig.names) if sig is not None else ({}, [])
        _drive(
            core, ctx, self._strategy, hooks, stream.columns, stream.names, stream.symbol_index, sig_columns,
            sig_names, self.symbols,
        )  # fmt: skip

    def _describe(self) -> dict[str, Any]:
        s = self.settings
        return {
            "session_id": self.session_id,
            "strategy": f"{type(self._strategy).__module__}.{type(self._strategy).__qualname__}",
            "symbols": self.symbols,
            "broker": "simulated",
            "settings": {k: _jsonable(s[k]) for k in s.__struct_fields__},
        }


class _Gate:
    """What the strategy's ``ctx`` calls for the clock and the broker: the engine, with every order decision
    journaled (with its client order id) and checked against the risk limits before it leaves."""

    __slots__ = ("_core", "_journal", "_multipliers", "_risk", "_session", "_sides", "_symbols")

    def __init__(
        self, core: Any, journal: Journal | None, risk: RiskLimits | None, session: Session, multipliers: list[float]
    ) -> None:
        self._core = core
        self._journal = journal
        self._risk = risk
        self._session = session
        self._symbols = session.symbols
        self._multipliers = multipliers
        self._sides: dict[int, float] = {}

    # ------------------------------------------------------------------ the clock (the engine's)
    @property
    def now(self) -> int:
        return int(self._core.now)

    def schedule(self, ts: int, every: int | None = None) -> int:
        return int(self._core.schedule(ts, every))

    def cancel_timer(self, timer_id: int) -> bool:
        return bool(self._core.cancel_timer(timer_id))

    # ------------------------------------------------------------------ the account
    @property
    def cash(self) -> float:
        return float(self._core.cash)

    @property
    def free_cash(self) -> float:
        return float(self._core.free_cash)

    @property
    def equity(self) -> float:
        return float(self._core.equity)

    def position(self, symbol: int) -> float:
        return float(self._core.position(symbol))

    def positions(self) -> np.ndarray:
        return np.asarray(self._core.positions())

    def mark(self, symbol: int) -> float:
        return float(self._core.mark(symbol))

    def pending_market(self, symbol: int) -> float:
        return float(self._core.pending_market(symbol))

    def open_orders(self, symbol: int | None = None) -> list[int]:
        return list(self._core.open_orders(symbol))

    def order_state(self, order_id: int) -> tuple[str, float, float, float] | None:
        return self._core.order_state(order_id)  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ orders
    def submit(
        self,
        symbol: int,
        buy: bool,
        quantity: float,
        kind: str,
        tif: str,
        limit: float = math.nan,
        stop: float = math.nan,
        trail_amount: float = math.nan,
        trail_percent: float = math.nan,
        oco: int | None = None,
        parent: int | None = None,
    ) -> int:
        core = self._core
        sign = 1.0 if buy else -1.0
        reason = self._refusal(symbol, sign * quantity, parent)
        args = (symbol, buy, quantity, kind, tif, limit, stop, trail_amount, trail_percent, oco, parent)
        order_id = int(core.submit(*args) if reason is None else core.submit(*args, refuse=reason))
        self._sides[order_id] = sign
        if self._journal is not None:
            decision = {
                "order_id": order_id,
                "client_order_id": f"{self._session.session_id}-{order_id}",
                "symbol": self._symbols[symbol],
                "quantity": sign * quantity,
                "kind": kind,
                "tif": tif,
                **{
                    k: v
                    for k, v in zip(_PRICES, (limit, stop, trail_amount, trail_percent), strict=True)
                    if not math.isnan(v)
                },
                "oco": oco,
                "parent": parent,
            }
            self._journal.append("decision", core.now, decision)
            if reason is not None:
                self._journal.append("risk", core.now, {"order_id": order_id, "reason": reason})
        return order_id

    def cancel(self, order_id: int) -> bool:
        done = bool(self._core.cancel(order_id))
        if self._journal is not None:
            self._journal.append("cancel", self._core.now, {"order_id": order_id, "cancelled": done})
        return done

    def _refusal(self, symbol: int, quantity: float, parent: int | None) -> str | None:
        """Why the risk limits refuse this order (None: it may leave). A bracket's exit legs (``parent``) only
        close what their entry opened, so only the kill switch stops them."""
        risk, session = self._risk, self._session
        killed = session.killed
        if risk is None:
            return "kill switch: the session was killed" if killed else None
        if parent is not None:
            return risk.check(self._symbols[symbol], 0.0, math.nan, killed=killed) if killed or risk.killed() else None
        core = self._core
        working = 0.0
        for order_id in core.open_orders(symbol):
            state = core.order_state(order_id)
            if state is not None:
                working += self._sides.get(order_id, 0.0) * state[2]
        return risk.check(
            self._symbols[symbol],
            quantity,
            core.mark(symbol),
            position=core.position(symbol),
            working=working,
            multiplier=self._multipliers[symbol],
            killed=killed,
        )


_PRICES = ("limit", "stop", "trail_amount", "trail_percent")


class HistoricalFeed:
    """Recorded ``bars`` (and ``signals``) as a feed, in this process (no network): the messages a
    :class:`~ml4t.live.ReplayServer` would send, all at once."""

    def __init__(self, bars: Any, signals: Any = None) -> None:
        from ml4t.live._replay import messages_of

        self._messages = iter(messages_of(bars, signals))

    def next(self) -> Message | None:
        message = next(self._messages, None)
        return None if message is None or message.kind == "end" else message

    def close(self) -> None:
        self._messages = iter(())


class JournalFeed:
    """The messages a journaled session received, read back from its journal, as a feed: a session run on it
    replays the original exactly (same data, same order, same watermarks)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        entries = read_journal(path)
        self._messages = iter(
            [from_text(e.data["message"]) for e in entries if e.kind in ("bar", "signal", "heartbeat")]
        )
        self.path = os.fspath(path)

    def next(self) -> Message | None:
        return next(self._messages, None)

    def close(self) -> None:
        self._messages = iter(())


def _messages(feed: Feed) -> Iterator[Message]:
    while (message := feed.next()) is not None:
        if not isinstance(message, Message):
            raise DataError(f"a feed gave {type(message).__name__}, not an ml4t.live.Message", argument="feed")
        yield message


def _journal_message(journal: Journal, message: Message) -> None:
    kind = "heartbeat" if message.kind == "heartbeat" else ("bar" if message.bars else "signal")
    rows = len(next(iter(message.bars.values()), ())) if message.bars else 0
    journal.append(kind, message.ts, {"seq": message.seq, "rows": rows, "message": to_text(message)})


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


def _freq_ns(freq: str) -> int:
    from ml4t._time import parse_duration

    return parse_duration(freq, argument="freq")


def _jsonable(value: object) -> object:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)
