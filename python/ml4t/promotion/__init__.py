"""Promotion: a Tier-1 idea (a vectorized strategy with chosen parameters) run on the Tier-2 event engine.

This package sits above both modes. It imports ``ml4t.event`` and the shared layers (``ml4t._kernel``,
``ml4t.settings``, ``ml4t.data``), never ``ml4t.vectorized``: a vectorized strategy reaches it as its
:class:`ml4t.settings.RunSpec`, and ``VectorizedStrategy.promote`` / ``Sweep.promote`` import it lazily.
``ml4t.promote(strategy, bars, **params)`` is :func:`promote`; ``ml4t.compare`` reports the gap.
"""

from ml4t.promotion._follow import SignalFollower
from ml4t.promotion._promote import Promoted, promote

__all__ = ["Promoted", "SignalFollower", "promote"]
