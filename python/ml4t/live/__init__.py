"""``ml4t.live``: Tier 3, the same event ``Strategy`` on a replayed feed, in shadow mode or paper-trading through a
broker, with everything journaled (issue #19).

A backtest (``ml4t.event.Engine``) is the historical feed, the simulated broker and the simulated clock. A
:class:`Session` runs the same strategy class, unchanged, from a :class:`Feed` instead:

- feeds: :class:`ReplayServer` serves recorded bars and signals over a local websocket in arrival order at a
  chosen speed (heartbeats between messages, network faults on demand) and :class:`ReplayFeed` reads any such
  feed, each message exactly once and in order across dropped connections; :class:`HistoricalFeed` (a
  recording in this process) and :class:`JournalFeed` (what a session received, read back from its journal);
- brokers: the simulated one (the Rust matching engine, as in a backtest: a replay places the backtest's orders
  at the backtest's simulated times), shadow mode (orders decided and journaled, never sent), or a
  :class:`Venue`: :class:`AlpacaBroker`, Alpaca's trading API (paper; real money only with ``live=True`` on the
  broker and on the session; alpaca-py, ``pip install 'ml4t[alpaca]'``, imported when one is made), with
  :class:`FakeAlpaca` its test double on 127.0.0.1; the venue's fills are booked into the one ledger, positions
  and cash reconciled at the start, periodically and at the end (:class:`ReconcileWarning`);
- the journal (:class:`Journal`, :func:`read_journal`): every message, decision, order, broker answer and fill
  appended to disk as it happens; a session replays from it exactly, and a stopped session restarts from it
  without sending an order twice; :func:`replay` re-runs a journaled session on the simulated broker, so
  ``ml4t.compare(live, replay(...))`` measures the gap between what happened and the simulation;
- risk limits checked before any order leaves (:class:`RiskLimits`: order value, position, a kill switch);
- the seams as protocols: :class:`Feed`, :class:`Clock` and :class:`Broker` (what a strategy's ``ctx`` uses),
  :class:`Venue` and its records (:class:`OrderRequest`, :class:`BrokerOrder`, :class:`BrokerEvent`,
  :class:`AccountState`).

``ml4t paper CONFIG`` runs a session from a config file (see the docs' "Paper trading" page).
"""

try:
    import websockets  # noqa: F401 - the feed's transport (the optional extra ml4t[live])
except ImportError as error:  # pragma: no cover - the dev and live extras install it
    raise ImportError("ml4t.live needs the websockets package: pip install 'ml4t[live]'") from error

from ml4t.event._seams import Broker, Clock
from ml4t.live._alpaca import AlpacaBroker  # alpaca-py is imported when an AlpacaBroker is made
from ml4t.live._broker import AccountState, BrokerEvent, BrokerOrder, OrderRequest, Venue
from ml4t.live._fake_alpaca import FakeAlpaca
from ml4t.live._feed import ReplayFeed
from ml4t.live._feeds import HistoricalFeed, JournalFeed
from ml4t.live._gate import ReconcileWarning
from ml4t.live._journal import KINDS, Entry, Journal, JournalWarning
from ml4t.live._journal import read as read_journal
from ml4t.live._replay import Faults, ReplayServer, messages_of
from ml4t.live._risk import RiskLimits
from ml4t.live._seams import Feed
from ml4t.live._session import Session, replay
from ml4t.live._wire import Message

__all__ = [
    "KINDS",
    "AccountState",
    "AlpacaBroker",
    "Broker",
    "BrokerEvent",
    "BrokerOrder",
    "Clock",
    "Entry",
    "FakeAlpaca",
    "Faults",
    "Feed",
    "HistoricalFeed",
    "Journal",
    "JournalFeed",
    "JournalWarning",
    "Message",
    "OrderRequest",
    "ReconcileWarning",
    "ReplayFeed",
    "ReplayServer",
    "RiskLimits",
    "Session",
    "Venue",
    "messages_of",
    "read_journal",
    "replay",
]
