"""The commented example study ``ml4t init`` writes: every section and every key of the schema, each with a
one-line comment of what it means. It loads as it is (:func:`ml4t.config.load`) and runs anywhere, on
synthetic bars.

Contract: :data:`TEMPLATE` is the one place the example is written. A required section (``[data]``,
``[strategy]``) is active; every optional section and key is commented out. A commented-out key shows its
default (uncommenting it changes nothing); a key whose default is none shows an example value and says
``(default: none)``. ``tests/config/test_init.py`` uncomments every key line and checks that each key of the
schema appears, each shown default is the schema's and the file loads. :func:`example` adds the expression
language's functions (:data:`ml4t.config.FUNCTIONS`) and the cost models of :mod:`ml4t.costs`, read from
the code, so the lists never go stale.
"""

from __future__ import annotations

import inspect
import typing

import ml4t.costs as costs
from ml4t.config._expr import FUNCTIONS, Kind

__all__ = ["TEMPLATE", "example"]

TEMPLATE = """\
# An ml4t study (`ml4t run study.toml`; `ml4t check study.toml` validates it without running; `ml4t schema`
# prints the JSON Schema for editors). Every section maps onto the Python API (ml4t.config._schema).
# A commented-out key shows its default: uncomment it to change it. Keys marked (default: none) show an example.
# Override any key without editing: `--set settings.fees=0.002` or ML4T__SETTINGS__FEES=0.002.

# version = 1                      # the config format's version (default 1)
# name = "sma-cross"               # the run folder's name (default: none, the file's name)

[data]
# path = "bars/*.parquet"          # bar files: a file, a glob or a list, from this file's folder (default: none)
# format = "parquet"               # "csv" or "parquet" (default: none, from the suffix)
# tz = "America/New_York"          # time zone of naive timestamps in the files (default: none)
# label = "right"                  # "right": bars stamped at their close; "left": at their open
# symbol = "SPY"                   # the symbol of a file that has no symbol column (default: none)
# adjust = false                   # adjust prices for splits and dividends with an adj_close column
# session_close = "16:00"          # the close time of date-stamped daily bars (default: none)
# session_open = "09:30"           # the session's open, the start of a daily bar (default: none)
# freq = "1d"                      # the bars' interval (default: none, inferred)
# latency = "50ms"                 # feed latency: bars arrive this long after their stamp (default: none)
# wide = "close"                   # the files are wide (one column per symbol) of this field (default: none)
# universe = ["A", "B"]            # the symbols to keep (default: none, every symbol)
# start = "2016-01-01"             # the first timestamp kept (default: none, from the first bar)
# end = "2020-12-31"               # the last timestamp kept (default: none, to the last bar)
features.ret = "pct_change(close)" # columns added to the bars, named expressions (default: none)

[data.synthetic]                   # synthetic bars (ml4t.datasets.synthetic_bars), instead of path
n_assets = 3                       # the number of symbols (default 5)
n_bars = 1000                      # bars per symbol (default 2520)
# freq = "1d"                      # the bars' interval
# seed = 0                         # the random seed
# start = "2015-01-02"             # the first bar's date
# calendar = "24/7"                # "24/7": every day; (default: none, business days)

# [[signals]]                      # one file of signals (ML predictions) per [[signals]] table
# path = "predictions.parquet"     # the file (required)
# format = "parquet"               # "csv" or "parquet" (default: none, from the suffix)
# ts_event = "ts_event"            # the column of the time each prediction is about
# ts_arrival = "2h"                # when a prediction can be used: a column or a delay (default: none, ts_event)
# symbol = "symbol"                # the symbol column (default: none, "symbol")
# embargo = "1d"                   # a delay added after the training cut-off (default: none)
# train_end = "2019-12-31"         # the model's training cut-off: earlier predictions are in-sample (default: none)
# tz = "UTC"                       # time zone of naive timestamps (default: none)
# allow_in_sample = false          # allow predictions from before train_end + embargo

[strategy]
# mode = "vectorized"              # "vectorized" (rules or a signal function) or "event" (a Strategy class)
# ref = "my_package.signals:sma_cross"  # a Python strategy by import path, linted first (default: none)
rules.entries = "crossed_above(sma(close, fast), sma(close, slow))"  # signal keys in the expression language
rules.exits = "crossed_below(sma(close, fast), sma(close, slow))"
# rules.short_entries = "crossed_below(sma(close, fast), sma(close, slow))"  # open a short
# rules.short_exits = "crossed_above(sma(close, fast), sma(close, slow))"    # close the short
# rules.size = "1.0"               # the order size, in the unit of settings.size_type
# rules.sl_stop = "0.05"           # the stop-loss as a fraction of the entry price
# rules.tp_stop = "0.10"           # the take-profit as a fraction of the entry price
# rules.weights = "0.5 if close > sma(close, slow) else 0.0"  # target weights, instead of entries and exits
# rules.rebalance = "True"         # the bars on which target weights are traded
# rules.leverage = "1.0"           # the cap on gross exposure at each rebalance
params = { fast = 10, slow = 50 }  # the rules' parameters for one run (default: none)

# [settings]                       # ml4t.settings.VectorizedSettings (EngineSettings when mode = "event")
# execution = "close"              # "close": fill at the signal bar's close; "next_open": at the next open
# init_cash = 100000.0             # starting cash (per symbol unless cash_sharing)
# periods_per_year = 252.0         # annualization (default: none, inferred from the bars)
# commission = { model = "Percent", rate = 0.001 }  # a cost model, instead of fees (default: none)
# size = inf                       # order size; inf is all available cash
# size_type = "amount"             # "amount" (units), "value" (currency) or "percent" (of cash)
# fees = 0.0                       # commission as a fraction of traded value
# fixed_fees = 0.0                 # commission per order, in currency
# slippage = 0.0                   # a fraction against the trader, or a model { model = "Bps", bps = 5 }
# cash_sharing = false             # all symbols share one pool of cash
# sl_stop = 0.05                   # stop-loss as a fraction of the entry price (default: none)
# tp_stop = 0.1                    # take-profit as a fraction of the entry price (default: none)
# sl_trail = false                 # the stop trails the best price
# stop_entry_price = "fill"        # the stops' reference: "fill" or the entry bar's "close"
# accumulate = false               # entries add to a position, exits reduce it by size
# conflict = "ignore"              # an entry and an exit on one bar: "ignore" (both), "entry", "exit"
# direction_conflict = "ignore"    # a long and a short entry on one bar: "ignore" (both), "long", "short"
# opposite_entry = "reverse"       # an entry against the position: "reverse", "close" or "ignore"
# min_size = 1e-08                 # orders smaller than this are rejected
# lot_size = 1.0                   # orders are whole multiples of this many units (default: none)
# scope = "symbol"                 # "symbol": rules see one symbol's bars; "panel": all symbols
# order = "pro_rata"               # a shared account's order within a bar: "pro_rata", "auto", "symbol"
# rebalance = "1mo"                # when target weights trade: a period, every n bars (default: none, every bar)
# leverage = 1.0                   # the cap on gross exposure of target weights (default: none)

# [sweep]                          # every combination of the grid, then the best by metric
# grid.fast = [5, 10, 20]          # an axis: a list of values (the grid is required)
# grid.slow = { start = 50, stop = 200, step = 50 }  # or a range, like Python's range(50, 200, 50)
# metric = "sharpe_ratio"          # the metric that chooses the combination
# descending = true                # higher is better
# scope = "portfolio"              # "portfolio" or "symbol" (the best per symbol)

# [validation.walk_forward]        # re-optimise the sweep on rolling training windows (needs [sweep])
# train = "2y"                     # the training window: rows or a duration (required)
# test = "6mo"                     # the test window that follows it (required)
# step = "6mo"                     # how far the windows move (default: none, the test window)
# mode = "rolling"                 # "rolling" or "expanding" training windows
# purge = "5d"                     # dropped from training before each test window (default: none)
# embargo = "5d"                   # dropped after each test window (default: none)
# start = "2018-01-01"             # the first test window's start (default: none)
# min_train = 200                  # the shortest training window of an expanding run (default: none)

# [promote]                        # rerun the chosen combination on the event engine (ml4t.settings.EngineSettings)
# execution = "next_open"          # "next_open": fill at the next bar's open; "close": at the bar's close
# init_cash = 1000000.0            # starting cash
# periods_per_year = 252.0         # annualization (default: none, inferred from the bars)
# commission = { model = "PerShare", per_share = 0.005, minimum = 1.0 }  # a cost model (default: none)
# slippage = { model = "Bps", bps = 5 }  # a slippage model (default: none)
# participation = 0.1              # at most this fraction of a bar's volume per fill (default: none)
# latency = "50ms"                 # order latency (default: none)
# account = "cash"                 # "cash" or "margin"
# leverage = 2.0                   # a margin account's leverage (default: none, 2.0 on margin)
# maintenance_margin = 0.25        # below it positions are liquidated (default: none)
# multipliers = { ES = 50.0 }      # contract multipliers per symbol (default: none, 1)
# both_touched = "stop_loss"       # which bracket leg fills when both touch in one bar
# session_tz = "UTC"               # the time zone of DAY orders' session
# fractional = false               # target orders may trade fractional units

# [audit]                          # ml4t.audit.lookahead: rerun on truncated data, decisions must not change
# cuts = 5                         # the number of truncation points
# strict = false                   # fail the run on columns that cannot be verified

# [report]                         # the run folder's report.html
# html = true                      # write the HTML report
# title = "SMA cross"              # its title (default: none, the study's name)
# max_points = 2000                # downsample long curves to this many points (default: none)

# [executor]                       # where the work runs; never changes a result
# kind = "local"                   # "local": this process, every core; "processes", "dask" or "ray": workers
# workers = 4                      # the pool or cluster ml4t starts here (default: none, the CPUs)
# address = "tcp://10.0.0.5:8786"  # a cluster: a Dask scheduler, or Ray's "auto" / "ray://head:10001" (default: none)
# chunk_size = 1000                # combinations per chunk (default: none, automatic)
# memory_budget = "4GB"            # the sweep's memory budget (default: none, automatic)
# progress = true                  # progress bars (default: none, on in a terminal)
"""
"""The example study (without the reference lists :func:`example` appends)."""


def example() -> str:
    """The text ``ml4t init`` writes: :data:`TEMPLATE` and, in a comment block, the expression language's
    functions and the cost models."""
    lines = ["", "# The expression language (ml4t.config.FUNCTIONS): names (columns, params), numbers, + - * / ** %,"]
    lines.append("# comparisons, and / or / not, x if c else y, and these functions:")
    for kind in typing.get_args(Kind):
        where = ' (settings.scope = "panel")' if kind == "cross-sectional" else ""
        lines.append(f"#  {kind}{where}:")
        for _, fn in sorted(FUNCTIONS.items()):
            if fn.kind == kind:
                lines.append(f"#   {fn.signature}: {fn.doc}")
    for kind, base in (("commission", costs.Commission), ("slippage", costs.Slippage)):
        lines.append(f'# The {kind} models ({kind} = {{ model = "Name", ... }}):')
        for name in sorted(costs.__all__):
            model = getattr(costs, name)
            if isinstance(model, type) and issubclass(model, base) and model is not base:
                arguments = ", ".join(
                    p.name if p.default is p.empty else f"{p.name}={p.default!r}"
                    for p in inspect.signature(model).parameters.values()
                )
                lines.append(f"#   {name}({arguments})")
    return TEMPLATE + "\n".join(lines) + "\n"
