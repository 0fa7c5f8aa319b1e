"""Promotion: a Tier-1 idea (a vectorized strategy with chosen parameters) run on the Tier-2 event engine.

This package sits above both modes. It imports ``ml4t.event`` and the shared layers (``ml4t._kernel``,
``ml4t.settings``, ``ml4t.data``), never ``ml4t.vectorized``: a vectorized strategy reaches it as its
:class:`ml4t.settings.RunSpec`, and ``VectorizedStrategy.promote`` / ``Sweep.promote`` import it lazily.
``ml4t.promote(strategy, bars, **params)`` is :func:`promote`; ``ml4t.compare`` reports the gap.

``Promoted.run()`` without engine settings is the exact promotion (the vectorized run's own orders, fills and
equity). With any engine setting it is the realistic one: an event-driven follower trades the strategy's
signals point-in-time with ordinary orders, under every engine rule. For a signal strategy that is
:class:`SignalFollower`; for a weights strategy :class:`WeightsFollower`, where "realistic" means:

* at each rebalance bar (a bar where some symbol has a target weight) the follower calls
  ``ctx.order_target_weights`` at the decision bar's close: target units from the equity and the last prices
  then, the strategy's ``leverage`` cap and ``lot_size``, sells submitted before buys;
* the orders are market orders filled like any other: at the next bar's open by default (the engine's
  ``execution``), with the engine's commission, slippage, volume participation and latency;
* whole units unless the engine is ``fractional``; an order the account cannot afford at the fill is
  rejected as data, never resized (the vectorized mode resizes); ``cash_buffer`` of equity is kept out of
  every target so fees and a gap to the fill leave the buys affordable;
* a symbol without a bar at the rebalance (before its listing, after its delisting) is never ordered: its
  target is recorded in ``result.meta["skipped_entries"]``, and a delisted symbol keeps its position at its
  last close.
"""

from ml4t.promotion._follow import SignalFollower
from ml4t.promotion._promote import Promoted, promote
from ml4t.promotion._weights import WeightsFollower

__all__ = ["Promoted", "SignalFollower", "WeightsFollower", "promote"]
