"""``ml4t.live``: Tier 3, the same event ``Strategy`` on a replayed or live feed (issue #19, being built).

What is here so far:

- the replay feed: :class:`ReplayServer` serves recorded bars and signals over a local websocket in arrival
  order at a chosen speed (with heartbeats, and network faults on demand), :class:`ReplayFeed` reads any such
  feed, each message exactly once and in order across dropped connections;
- the session journal (:class:`Journal`, :func:`read_journal`): every event appended to disk as it happens, a
  crashed session's partial last line detected;
- the risk limits checked before any order leaves (:class:`RiskLimits`).

The broker and clock seams, the live session that drives a ``Strategy`` from a feed, and the paper broker
adapter come next.
"""

try:
    import websockets  # noqa: F401 - the feed's transport (the optional extra ml4t[live])
except ImportError as error:  # pragma: no cover - the dev and live extras install it
    raise ImportError("ml4t.live needs the websockets package: pip install 'ml4t[live]'") from error

from ml4t.event._seams import Broker, Clock
from ml4t.live._broker import AccountState, BrokerEvent, BrokerOrder, OrderRequest, Venue
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
    "AccountState",
    "Broker",
    "BrokerEvent",
    "BrokerOrder",
    "Clock",
    "Entry",
    "Faults",
    "Feed",
    "HistoricalFeed",
    "Journal",
    "JournalFeed",
    "JournalWarning",
    "KINDS",
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
