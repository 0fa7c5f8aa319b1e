"""``ml4t.live``: Tier 3, the same event ``Strategy`` on a replayed or live feed (issue #19, being built).

What is here so far: the session journal (:class:`Journal`, :func:`read_journal`: every event appended to disk
as it happens, a crashed session's partial last line detected) and the risk limits checked before any order
leaves (:class:`RiskLimits`). The feed, broker and clock seams, the replay server and the paper broker adapter
come next.
"""

from ml4t.live._journal import KINDS, Entry, Journal, JournalWarning
from ml4t.live._journal import read as read_journal
from ml4t.live._risk import RiskLimits

__all__ = ["KINDS", "Entry", "Journal", "JournalWarning", "RiskLimits", "read_journal"]
