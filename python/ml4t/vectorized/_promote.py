"""Promotion: a vectorized strategy with chosen parameters, run on the event-driven engine.

The signals are computed once, exactly as the vectorized run computes them (each row from the data up to its
own bar), and the event engine reads them point-in-time as each bar arrives: under ``execution="close"`` a bar's
signals act at that bar's close, under ``"next_open"`` the previous bar's signals act at this bar's open.
The promoted run uses the vectorized kernel's own decision and fill code (``step_column`` in
``core/src/vectorized/kernel.rs``) against the event engine's account, so with the strategy's own settings it
reproduces the vectorized run's orders, fills and equity exactly, by construction.

Conditions for that exactness, checked here: one shared account (``cash_sharing=True`` or a single symbol)
and a complete panel (every symbol has a bar at every timestamp: the vectorized mode turns a missing bar into
a rejected order, the event engine has no bar to act on). The exact promotion, like the vectorized mode, refuses
bars whose feed latency would let a decision fill at a price from before it (``ml4t.vectorized._timing``).
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import numpy as np
import polars as pl

from ml4t._validate import check_bool, check_number, check_optional_number
from ml4t.data import Bars
from ml4t.errors import ConfigError
from ml4t.lint import lint_before_run
from ml4t.result import Result
from ml4t.vectorized._signals import Grid, Panel, evaluate, panel_of
from ml4t.vectorized._timing import check_fill_timing

__all__ = ["Promoted", "promote"]


class Promoted:
    """A vectorized strategy and one parameter combination, ready to run on the event engine."""

    def __init__(self, strategy: Any, bars: Bars, params: dict[str, Any]) -> None:
        from ml4t.vectorized._strategy import VectorizedStrategy

        if not isinstance(strategy, VectorizedStrategy):
            raise ConfigError(
                f"promote() takes an ml4t.vectorized.VectorizedStrategy, got {type(strategy).__name__}",
                argument="strategy",
            )
        if not isinstance(bars, Bars):
            raise ConfigError(f"bars must be ml4t.data.Bars, got {type(bars).__name__}", argument="bars")
        settings = strategy.settings
        if not settings["cash_sharing"] and len(bars.symbols) > 1:
            raise ConfigError(
                "promotion runs on one account: build the VectorizedStrategy with cash_sharing=True "
                "(or promote one symbol at a time with bars.select(symbol))",
                argument="cash_sharing",
            )
        panel = panel_of(bars)
        missing = np.isnan(panel.prices[3])
        if missing.any():
            sym, bar = (int(i) for i in np.argwhere(missing)[0])
            raise ConfigError(
                "promotion needs a bar for every symbol at every timestamp (the vectorized mode rejects an order "
                "where a bar is missing; the event engine has no bar to act on)",
                argument="bars",
                symbol=panel.symbols[sym],
                timestamp=int(_panel_ns(panel)[bar]),
            )
        grid = Grid.build(strategy.signal_fn, params)
        if len(grid.combos) != 1:
            raise ConfigError("promote() takes one value per parameter", argument="params")
        lint_before_run(strategy.signal_fn, f"the signal function {getattr(strategy.signal_fn, '__name__', '?')}")
        self.strategy = strategy
        self.bars = bars
        self.params = dict(params)
        self._panel = panel
        self._signals = strategy._arrays(evaluate(strategy.signal_fn, panel, grid, [0]), grid, [0], panel)

    def run(self, *, cash_buffer: float = 0.02, min_entry: float = 0.5, **engine: Any) -> Result:
        """Run on the event engine.

        Without engine settings: under the strategy's own settings (execution, fees, sizing, stops), which
        reproduces the vectorized run exactly. With any ``ml4t.event.Engine`` setting (``execution``,
        ``commission``, ``slippage``, ``participation``, ``latency``, ``account``, ...): the signals are
        traded by an event-driven follower with ordinary orders under those settings (see
        ``ml4t.vectorized._follow``); ``cash_buffer`` is the share of free cash an all-in entry leaves unspent
        so a gap to the fill does not make it unaffordable, and ``min_entry`` the smallest all-in entry the
        follower places, as a fraction of the all-in entry of an account holding nothing else (sized with
        equity instead of free cash): a smaller one is dust (what the buffer, whole units or a gap left over;
        0 places them all) and is skipped like the vectorized run's entry rejected for cash. The
        entries not placed are ``result.meta["skipped_entries"]`` (a frame: time, symbol, side, quantity,
        value, equity, reason). ``init_cash`` defaults to the strategy's.
        """
        from ml4t.event import Engine, Strategy

        known = _engine_settings()
        unknown = sorted(set(engine) - known)
        if unknown:
            raise ConfigError(
                f"unknown engine setting {unknown[0]!r}; ml4t.event.Engine takes {sorted(known)}",
                argument=unknown[0],
            )
        settings = self.strategy.settings
        ppy = check_optional_number("periods_per_year", engine.pop("periods_per_year", None), positive=True)
        ppy = ppy or self.strategy._periods_per_year(self.bars)
        init_cash = check_number("init_cash", engine.pop("init_cash", settings["init_cash"]), positive=True)
        check_number("cash_buffer", cash_buffer, minimum=0.0, below=1.0)
        min_entry = check_number("min_entry", min_entry, minimum=0.0, maximum=1.0)
        if not engine:
            check_fill_timing(self.bars, settings["execution"])
            exact = Engine(
                self.bars, Strategy(), init_cash=init_cash, execution=settings["execution"], periods_per_year=ppy
            )
            exact._promoted = self._attach
            return self._labelled(exact.run(), "exact")
        from ml4t.vectorized._follow import SignalFollower

        engine.setdefault("execution", settings["execution"])
        fractional = check_bool("fractional", engine.get("fractional", False))
        follower = SignalFollower(
            self._signals,
            _panel_ns(self._panel),
            dict(settings),
            cash_buffer=cash_buffer,
            min_entry=min_entry,
            fractional=fractional,
            execution=engine["execution"],
        )
        realistic = Engine(self.bars, follower, init_cash=init_cash, periods_per_year=ppy, **engine)
        result = self._labelled(realistic.run(), "realistic")
        return dataclasses.replace(result, meta={**result.meta, "skipped_entries": follower.skipped_entries()})

    def _labelled(self, result: Result, execution_model: str) -> Result:
        return dataclasses.replace(
            result,
            meta={
                **result.meta,
                "promoted_from": getattr(self.strategy.signal_fn, "__name__", repr(self.strategy.signal_fn)),
                "params": dict(self.params),
                "vectorized_settings": dict(self.strategy.settings),
                "promotion": execution_model,
            },
        )

    def _attach(self, core: Any, ts_event: np.ndarray) -> None:
        """Hand the kernel's inputs to the event engine ``core`` whose bar stream has these ``ts_event``s."""
        panel_ts = _panel_ns(self._panel)
        bar_of_row = np.searchsorted(panel_ts, ts_event).astype(np.int64)
        core.promote(self.strategy._simulator, self._panel.prices, self._signals, bar_of_row)

    def __repr__(self) -> str:
        name = getattr(self.strategy.signal_fn, "__name__", "strategy")
        return f"Promoted({name}, {self.params}, {len(self._panel.symbols)} symbols)"


def _engine_settings() -> frozenset[str]:
    """The keyword settings of ``ml4t.event.Engine`` (read from its signature, so they never drift)."""
    from ml4t.event import Engine

    params = inspect.signature(Engine.__init__).parameters.values()
    return frozenset(p.name for p in params if p.kind is p.KEYWORD_ONLY)


def _panel_ns(panel: Panel) -> np.ndarray:
    return np.ascontiguousarray(panel.ts.cast(pl.Int64).to_numpy())


def promote(strategy: Any, bars: Bars, **params: Any) -> Promoted:
    """Turn a vectorized strategy with one value per parameter into an event-driven run:
    ``ml4t.promote(strategy, bars, fast=10, slow=50).run()``; see :class:`Promoted`."""
    return Promoted(strategy, bars, params)
