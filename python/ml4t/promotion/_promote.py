"""Promotion: a vectorized strategy with chosen parameters, run on the event-driven engine.

The signals are computed once, exactly as the vectorized run computes them (each row from the data up to its
own bar), and the event engine reads them point-in-time as each bar arrives: under ``execution="close"`` a bar's
signals act at that bar's close, under ``"next_open"`` the previous bar's signals act at this bar's open.
The promoted run uses the vectorized kernel's own bar step (``Group::step`` in ``core/src/vectorized/group.rs``:
signal decisions and fills, or the rebalance to target weights) against the event engine's account, so with
the strategy's own settings it reproduces the vectorized run's orders, fills and equity exactly, by construction.

Conditions for that exactness, checked here: one shared account (``cash_sharing=True`` or a single symbol).
Symbols may list and delist at different dates: in both modes a symbol with no bar at a timestamp places no
order there (the bars of one timestamp are one bar of the kernel's timeline, stepped together, in the
strategy's ``order``; target weights rebalance the same way), and the realistic promotion's followers never
order a symbol without a bar either. The exact promotion, like the vectorized mode, refuses bars whose feed
latency would let a decision fill at a price from before it (``ml4t._kernel.timing``).

This package sits above both modes: it reads a vectorized strategy as its :class:`ml4t.settings.RunSpec`
(signal function, parameters, settings) through the shared kernel layer ``ml4t._kernel`` and runs it on
``ml4t.event.Engine`` through the engine's named entry ``Engine._run_promoted``; it never imports
``ml4t.vectorized``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec
import numpy as np
import polars as pl

from ml4t._kernel.inputs import KERNEL_KEYS, kernel_signals, simulator
from ml4t._kernel.signals import Grid, Panel, evaluate, panel_of
from ml4t._kernel.timing import check_fill_timing
from ml4t._validate import check_bool, check_number, check_optional_number
from ml4t.data import Bars
from ml4t.errors import ConfigError
from ml4t.event import Engine, Strategy
from ml4t.lint import lint_before_run
from ml4t.promotion._follow import SignalFollower
from ml4t.promotion._weights import WeightsFollower
from ml4t.result import Result
from ml4t.settings import EngineSettings, RunSpec, VectorizedSettings

__all__ = ["Promoted", "promote"]

_WEIGHTS, _REBALANCE, _LEVERAGE = (KERNEL_KEYS.index(k) for k in ("weights", "rebalance", "leverage"))


class Promoted:
    """A vectorized strategy and one parameter combination, ready to run on the event engine.

    ``strategy`` is an ``ml4t.vectorized.VectorizedStrategy`` (anything with ``spec(**params)`` giving a
    vectorized :class:`~ml4t.settings.RunSpec`) or such a RunSpec itself (then ``params`` must be empty)."""

    def __init__(self, strategy: Any, bars: Bars, params: dict[str, Any]) -> None:
        spec = _spec_of(strategy, params)
        if not isinstance(bars, Bars):
            raise ConfigError(f"bars must be ml4t.data.Bars, got {type(bars).__name__}", argument="bars")
        settings = spec.settings
        assert isinstance(settings, VectorizedSettings)
        if not settings.cash_sharing and len(bars.symbols) > 1:
            raise ConfigError(
                "promotion runs on one account: build the VectorizedStrategy with cash_sharing=True "
                "(or promote one symbol at a time with bars.select(symbol))",
                argument="cash_sharing",
            )
        panel = panel_of(bars)
        fn = spec.strategy
        grid = Grid.build(fn, spec.params)
        if len(grid.combos) != 1:
            raise ConfigError("promote() takes one value per parameter", argument="params")
        lint_before_run(fn, f"the signal function {getattr(fn, '__name__', '?')}", settings.scope)
        self.strategy = strategy
        self.spec = msgspec.structs.replace(spec, data=bars.fingerprint())
        """The promoted run as a value: the signal function, its parameters, the vectorized settings and the
        bars' fingerprint."""
        self.settings = settings
        self.bars = bars
        self.params = dict(spec.params)
        self._panel = panel
        self._signals = kernel_signals(settings, evaluate(fn, panel, grid, [0], settings), fn, grid, [0], panel)

    def run(
        self, *, cash_buffer: float = 0.02, min_entry: float = 0.5, progress: bool | None = None, **engine: Any
    ) -> Result:
        """Run on the event engine.

        Without engine settings: under the strategy's own settings (execution, fees, sizing, stops), which
        reproduces the vectorized run exactly. With any ``ml4t.event.Engine`` setting (``execution``,
        ``commission``, ``slippage``, ``participation``, ``latency``, ``account``, ...): the signals are
        traded by an event-driven follower with ordinary orders under those settings (see
        ``ml4t.promotion._follow``); ``cash_buffer`` is the share of free cash an all-in entry leaves unspent
        so a gap to the fill does not make it unaffordable, and ``min_entry`` the smallest all-in entry the
        follower places, as a fraction of the all-in entry of an account holding nothing else (sized with
        equity instead of free cash): a smaller one is dust (what the buffer, whole units or a gap left over;
        0 places them all) and is skipped like the vectorized run's entry rejected for cash. The
        entries not placed are ``result.meta["skipped_entries"]`` (a frame: time, symbol, side, quantity,
        value, equity, reason). ``init_cash`` defaults to the strategy's.

        A weights strategy is followed by :class:`~ml4t.promotion.WeightsFollower` (``ctx.order_target_weights``
        at each rebalance bar): ``cash_buffer`` is then the share of equity kept out of every target (0 targets
        the weights exactly), ``min_entry`` does not apply, and ``meta["skipped_entries"]`` lists the targets
        of symbols without a bar at the rebalance.

        ``progress``: a bar over simulated time for a run over a second, as :meth:`ml4t.event.Engine.run`
        (``progress=False``, or ``ML4T_PROGRESS=0`` when not given, hides it); Ctrl-C raises
        ``KeyboardInterrupt`` and no Result is made.
        """
        EngineSettings.check_names(name for name in engine if name != "signals")
        settings = self.settings
        ppy = check_optional_number("periods_per_year", engine.pop("periods_per_year", None), positive=True)
        ppy = ppy or settings.periods_per_year or self.bars.periods_per_year
        init_cash = check_number("init_cash", engine.pop("init_cash", settings.init_cash), positive=True)
        check_number("cash_buffer", cash_buffer, minimum=0.0, below=1.0)
        min_entry = check_number("min_entry", min_entry, minimum=0.0, maximum=1.0)
        if not engine:
            check_fill_timing(self.bars, settings.execution)
            exact = Engine(
                self.bars, Strategy(), init_cash=init_cash, execution=settings.execution, periods_per_year=ppy
            )
            run = exact._run_promoted(
                simulator(settings), self._panel.prices, self._signals, _panel_ns(self._panel), progress
            )
            return self._labelled(run, "exact")
        engine.setdefault("execution", settings.execution)
        fractional = check_bool("fractional", engine.get("fractional", False))
        bar_ts = _panel_ns(self._panel)
        weights = _weights_of(self._signals)
        follower: SignalFollower | WeightsFollower
        if weights is not None:
            follower = WeightsFollower(*weights, bar_ts, settings, cash_buffer=cash_buffer)
        else:
            follower = SignalFollower(
                self._signals,
                bar_ts,
                settings,
                cash_buffer=cash_buffer,
                min_entry=min_entry,
                fractional=fractional,
                execution=engine["execution"],
            )
        realistic = Engine(self.bars, follower, init_cash=init_cash, periods_per_year=ppy, **engine)
        result = self._labelled(realistic.run(progress=progress), "realistic")
        skipped = follower.skipped_targets() if isinstance(follower, WeightsFollower) else follower.skipped_entries()
        return dataclasses.replace(result, meta={**result.meta, "skipped_entries": skipped})

    def _labelled(self, result: Result, execution_model: str) -> Result:
        return dataclasses.replace(
            result,
            meta={
                **result.meta,
                "promoted_from": getattr(self.spec.strategy, "__name__", repr(self.spec.strategy)),
                "params": dict(self.params),
                "vectorized_settings": self.settings.to_dict(),
                "promotion": execution_model,
            },
        )

    def __repr__(self) -> str:
        name = getattr(self.spec.strategy, "__name__", "strategy")
        return f"Promoted({name}, {self.params}, {len(self._panel.symbols)} symbols)"


def _spec_of(strategy: Any, params: dict[str, Any]) -> RunSpec:
    """The vectorized run ``strategy`` (a VectorizedStrategy, or a RunSpec) describes with ``params``."""
    spec: object = None
    if isinstance(strategy, RunSpec) and not params:
        spec = strategy
    else:
        make = getattr(strategy, "spec", None)
        spec = make(**params) if callable(make) and not isinstance(strategy, RunSpec) else None
    if not isinstance(spec, RunSpec) or not isinstance(spec.settings, VectorizedSettings):
        raise ConfigError(
            f"promote() takes an ml4t.vectorized.VectorizedStrategy, got {type(strategy).__name__}",
            argument="strategy",
        )
    return spec


def _weights_of(signals: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The ``weights``, ``rebalance`` and ``leverage`` arrays of a weights strategy's kernel signals, or None
    for a signal strategy."""
    if signals[_WEIGHTS].size == 0:
        return None
    return signals[_WEIGHTS], signals[_REBALANCE], signals[_LEVERAGE]


def _panel_ns(panel: Panel) -> np.ndarray:
    return np.ascontiguousarray(panel.ts.cast(pl.Int64).to_numpy())


def promote(strategy: Any, bars: Bars, **params: Any) -> Promoted:
    """Turn a vectorized strategy with one value per parameter into an event-driven run:
    ``ml4t.promote(strategy, bars, fast=10, slow=50).run()``; see :class:`Promoted`."""
    return Promoted(strategy, bars, params)
