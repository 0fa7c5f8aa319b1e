"""The point-in-time (PIT) data layer shared by both modes.

* :func:`bars` / :func:`load_bars` validate OHLCV bars into :class:`Bars` (UTC nanosecond timestamps, a bar
  stamped ``t`` is complete at ``t`` and covers ``(ts_start, t]``, ``ts_arrival = ts_event + latency``);
* :func:`signals` wraps ML predictions and other signal columns as :class:`Signals` with explicit arrival
  times, an optional embargo and a training-window leakage check;
* :class:`PITData` is the as-of view a strategy receives: it never returns a row with ``ts_arrival > now``;
* :func:`align_signals` puts signals on the bars by arrival (the value :meth:`PITData.signal` would return at
  each bar), so a vectorized strategy sees exactly what an event-driven one sees;
* ``Bars`` and ``Signals`` own every layout ml4t's engines read (``Bars.panel`` for the vectorized kernel,
  ``Bars.stream`` / ``Signals.stream`` for the event engine, ``Signals.until`` for the audit), so no engine
  reads their stored frames, and a ``fingerprint()`` that identifies the data across processes
  (:func:`frame_fingerprint` is the same 128-bit content hash of any frame: run folders digest their outputs
  with it).
"""

from ml4t.data._align import align_signals
from ml4t.data._bars import Bars, bars
from ml4t.data._fingerprint import frame_fingerprint
from ml4t.data._load import load_bars
from ml4t.data._pit import PITData
from ml4t.data._signals import Signals, signals

__all__ = ["Bars", "PITData", "Signals", "align_signals", "bars", "frame_fingerprint", "load_bars", "signals"]
