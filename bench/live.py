"""Tier 3: what a live session costs beside the backtest of the same strategy: ``python -m bench.live``.

The workload: one symbol of daily bars (``synthetic_bars(1, 4012, "1d", seed=1)``, or ``--bars FILE``: a
Yahoo-style CSV read with ``load_bars(FILE, tz="America/New_York", session_close="16:00")``), an SMA 20/100
crossover holding 30% of equity (an event ``Strategy`` with two indicators), 100,000 of cash. Timed, each
``--repeat`` times (default 3), median and range printed:

* ``backtest``        - ``Engine(bars, strategy).run()``;
* ``session``         - ``Session(strategy, HistoricalFeed(bars)).run()`` (in process, a backlog at once);
* ``websocket``       - a ``ReplayServer`` on 127.0.0.1 read by ``ReplayFeed``, journaled to a temporary file
  (fsync'd), the server's start included;
* ``paper (last N)``  - the last ``--paper`` bars (default 750) paper-traded through ``AlpacaBroker`` against
  ``FakeAlpaca`` on 127.0.0.1 over a websocket replay, journaled (a venue session takes messages one by one).

Each replayed run is checked against the backtest (orders, fills, equity, positions equal) and the check is
printed; the paper run prints its orders.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from ml4t.data import load_bars
from ml4t.datasets import synthetic_bars
from ml4t.event import Engine, Strategy
from ml4t.live import AlpacaBroker, FakeAlpaca, HistoricalFeed, ReplayFeed, ReplayServer, Session


class Cross(Strategy):
    """Long 30% of equity while SMA(20) > SMA(100), flat below."""

    def __init__(self) -> None:
        self.indicators = {"fast": pl.col("close").rolling_mean(20), "slow": pl.col("close").rolling_mean(100)}

    def on_bar(self, ctx: Any, bars: Any) -> None:
        for bar in bars:
            if math.isnan(bar.slow) or ctx.open_orders(bar.symbol):
                continue
            if bar.fast > bar.slow and ctx.position(bar.symbol) == 0:
                ctx.order_target_percent(bar.symbol, 0.3)
            elif bar.fast < bar.slow and ctx.position(bar.symbol) > 0:
                ctx.order_target(bar.symbol, 0)


def _timed(run: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return times, result


def _same(a: Any, b: Any) -> bool:
    return all(getattr(a, n).equals(getattr(b, n)) for n in ("orders", "fills", "equity", "positions"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.live", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bars", help="a Yahoo-style daily CSV (default: synthetic)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--paper", type=int, default=750, help="bars paper-traded (the last ones)")
    args = parser.parse_args(argv)
    bars = (
        load_bars(args.bars, tz="America/New_York", session_close="16:00")
        if args.bars
        else synthetic_bars(1, 4012, "1d", seed=1)
    )
    symbols = bars.symbols

    def backtest() -> Any:
        return Engine(bars, Cross(), init_cash=100_000.0).run()

    def session() -> Any:
        return Session(Cross(), HistoricalFeed(bars), symbols=symbols, init_cash=100_000.0).run()

    def websocket() -> Any:
        with tempfile.TemporaryDirectory() as folder, ReplayServer(bars) as server, ReplayFeed(server.url) as feed:
            journal = Path(folder) / "j.jsonl"
            return Session(Cross(), feed, symbols=symbols, journal=journal, init_cash=100_000.0).run()

    frame = bars.frame
    cut = frame["ts_event"].unique().sort()[-args.paper]
    recent = bars.between(cut, None)

    def paper() -> Any:
        with tempfile.TemporaryDirectory() as folder, FakeAlpaca(cash=100_000) as fake, ReplayServer(recent) as server:
            broker = AlpacaBroker(fake.api_key, fake.secret_key, url=fake.url, stream_url=fake.stream_url)
            feed = fake.follow(ReplayFeed(server.url))
            journal = Path(folder) / "j.jsonl"
            return Session(Cross(), feed, symbols=symbols, venue=broker, journal=journal, init_cash=100_000.0).run()

    print(f"{len(bars):,} bars of {symbols}; paper: the last {len(recent):,}; {args.repeat} repeats")
    reference = None
    for name, run in (("backtest", backtest), ("session", session), ("websocket", websocket), ("paper", paper)):
        times, result = _timed(run, args.repeat)
        if name == "backtest":
            reference = result
            check = ""
        elif name == "paper":
            check = f"  orders {dict(result.orders['status'].value_counts().iter_rows())}"
        else:
            check = f"  same as the backtest: {_same(reference, result)}"
        label = f"paper (last {len(recent)})" if name == "paper" else name
        print(f"{label:<18} median {statistics.median(times):8.3f} s  range {min(times):.3f}-{max(times):.3f}{check}")


if __name__ == "__main__":
    main()
