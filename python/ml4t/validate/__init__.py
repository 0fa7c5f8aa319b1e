"""``ml4t.validate``: model validation without leakage, on arrival times.

Splitters give train/test row indices (:class:`Split`) over a dataset whose rows carry ``ts_event`` and
``ts_arrival``; a training row whose label's information had not arrived before a test block starts is purged,
and an embargo follows every test block.
"""

from ml4t.validate._types import Split

__all__ = ["Split"]
