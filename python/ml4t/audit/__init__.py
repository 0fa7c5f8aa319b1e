"""``ml4t.audit``: proof, not promise, that a strategy does not use the future (DESIGN.md §3).

:func:`lookahead` runs a strategy once on the full data, then again on the data truncated at several cut
points (``bars.until(cut)``: every bar, and every signal, that arrived at or before the cut), and checks that
every decision made at or before each cut is the same in both runs. A decision made at time ``t`` may depend
only on what had arrived by ``t``; if removing the data after a cut changes a decision at or before the cut,
that decision read the future.

What is compared, and why
-------------------------

* **Orders** (both modes): the rows of ``Result.orders`` submitted at or before the cut, in submission order,
  on their *decision* fields only: ``ts_submitted, symbol, side, order_type, quantity, limit_price,
  stop_price, time_in_force, tag``. Never ``status``, fill prices or fills: an order decided at the cut fills
  at the next bar's open (or later), which the truncated run legitimately does not have. Quantities are
  compared to a relative tolerance of 1e-9 (they are bit-identical in practice). Orders a strategy submits
  in ``on_end`` are excluded from the truncated runs: "the data ended here" is an event of the truncated run
  only, not a decision about the market. One exception: a vectorized or promoted strategy under
  ``execution="next_open"`` stamps the order a signal on bar ``t`` causes at ``t`` but sizes and records it
  at bar ``t + 1``'s open, so its orders are compared up to the bar before the cut (its signals still on
  the cut bar).
* **Signals** (vectorized strategies, and promoted ones): every signal value (``entries``, ``exits``,
  ``size``, ``sl_stop``...) of every symbol at every bar of the truncated data, against the full run's value
  at the same bar. This is the robust check for Tier 1: under ``execution="next_open"`` the order a leaking
  signal on the cut bar causes exists only in a run that has the next bar; its signal value shows it at the
  cut. Both checks run, and the report names the
  earliest divergence (a signal before the order it causes).
* A run on truncated data that **raises** while the full run did not is a divergence too: its behaviour
  changed when the future was removed.

Which columns truncation verifies
---------------------------------

Truncating rows removes the future from a column only if the column's value at a row cannot hold anything
computed from later rows. That holds for:

* **OHLCV** and the corporate actions ``split`` / ``dividend``: each is about its own bar, which arrives at
  ``ts_arrival``;
* **features attached as builders** (``bars.with_features(...)``, ``Bars.features``): ``bars.until(cut)``
  recomputes them from the rows that arrived by the cut, so a feature that reads the future (a negative shift,
  a centered window, a full-sample statistic) changes on the truncated data and the audit sees it. Feature
  *functions* are also linted like the strategy (``static_findings``);
* **signals aligned with** ``ml4t.data.align_signals``: ``bars.until(cut)`` re-aligns them from
  ``signals.until(cut)``, the signal rows that had arrived; the ``signals=`` given to an event strategy's
  audit are truncated the same way. Here the audit trusts the signals' declared arrival times: if the values
  were computed with data from after their stated arrival (forward returns stamped with ``ts_arrival =
  ts_event``, a model fitted on the whole sample with no ``train_end``), that lie is invisible to truncation;
  the embargo checks of ``Signals`` (``train_end``) are the guard there.

Every other column of the bars (``Bars.precomputed``: a column that came with the data, such as a forward
return or a model score computed beforehand) cannot be verified: removing rows leaves the values of the
remaining rows as they were. The report lists the ones the strategy may read as ``unverified_columns`` (for a
vectorized or promoted strategy, those its signal expressions name, by ``meta.root_names()``; all of them when
an expression selects columns by pattern or dtype, and for an event strategy, which may read any column), a
pass says in words that it does not cover them, and ``strict=True`` makes them a failure.

Cuts: ``cuts=5`` places five cuts evenly over the bars' arrival times, away from both ends (the first after
about a sixth of the bars, the last about a sixth before the end), each exactly at a bar's arrival so the
cut bar itself is part of the truncated data, the most demanding place for a leak such as
``shift(-1)``. Explicit timestamps are snapped down to the last bar or signal arrival at or before them.

What passing proves, and what it does not
-----------------------------------------

A pass proves that, at each cut, no decision made at or before the cut depended on the part of the given
bars (and signals) that arrived after it, with every feature recomputed without that part. It does not prove:

* anything about decisions after the last cut; and a leak that happens to change no decision at or before
  any cut goes unseen. More cuts make a stronger proof (``cuts=20`` costs 21 runs);
* by itself, anything about information that reaches the strategy by another door than the data passed to
  the audit. To cover the commonest such door, the audit also runs the strategy linter's look-ahead rules
  (``PIT``) on the strategy's own source and fails on their unsuppressed findings
  (``AuditReport.static_findings``): a hook reading a global copy of the data is ``PIT008``. Beyond what the
  linter recognises, truncation cannot help with a file, a precomputed column (named in
  ``unverified_columns``), or signal values computed with full-sample statistics before they were wrapped as
  ``Signals``: truncating the bars cannot remove the future from those. Build a strategy from the bars it
  receives (``indicators``, ``bars.with_features``, ``ctx.data``, or a factory
  ``lambda bars: MyStrategy(bars.frame)``), and check the embargo of ``Signals`` (``train_end``,
  ``embargo``) for predictions;
* that the strategy is deterministic: unseeded randomness makes the runs differ and fails the audit.
"""

from ml4t.audit._fields import DECISION_FIELDS, REL_TOL
from ml4t.audit._lookahead import lookahead
from ml4t.audit._report import AuditReport, Divergence

__all__ = ["DECISION_FIELDS", "REL_TOL", "AuditReport", "Divergence", "lookahead"]
