"""Running a study from its config: the data, the strategy and the settings built through the public Python API
(a config means exactly what the equivalent Python code means), and each run written to a reproducible folder.

Contract (issue #15):

- :class:`Study` wraps a :class:`~ml4t.config._load.Loaded` config. ``bars()``, ``signals()`` and
  ``strategy()`` build what the Python API would (``load_bars`` / ``synthetic_bars`` then ``select`` /
  ``between`` / ``with_features``; ``ml4t.data.signals`` per file and ``align_signals``; a
  ``VectorizedStrategy`` over the compiled rules, or the ``ref``'d function or event ``Strategy``, linted with
  ``ml4t.lint`` before it is imported, the config's folder first on the import path).
- ``check()`` validates everything a run would touch without running it: the files, the columns the rules
  and features name (with close matches), the symbols of the universe, the ref (lint, import, kind); it raises
  ``ConfigFileError`` listing every problem, else returns a short summary.
- ``run(runs)`` runs what the config declares (the single run, or the sweep and its chosen combination; the
  walk-forward validation; the promotion and its comparison; the audit; the report) into
  ``runs/<run_id>/`` and returns an :class:`Outcome`. The run id is ``<name>-<12 hex>`` of what determines
  the result (the config without report / executor / name, the data's and signals' fingerprints, the ref's
  source hash, ml4t's and Polars' versions): an identical study finds its folder (``reused``) unless ``force``.
- :func:`reproduce` reruns a run folder's stored config and says whether every result is identical.
"""

from __future__ import annotations

__all__: list[str] = []  # Outcome, Reproduction, Study, reproduce: being built (issue #15)
