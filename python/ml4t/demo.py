"""``make demo``: the main job on the embedded synthetic dataset.

It shows the foundation both modes stand on (the validated point-in-time data layer, ML predictions that
arrive after the bar they describe, the training-window leakage check, the shared metrics module), then a
vectorized parameter sweep, its best combinations and the overfitting statistics of choosing among them,
then the best idea promoted to the event-driven engine: first under the vectorized settings (identical), then
under realistic execution (slippage, a volume participation cap, whole shares) with the reality-gap
report, then the same idea written as an event-driven strategy class with protective stop orders, and
the lookahead audit: the winner passes, a rule that peeks at tomorrow's close is caught; a cross-sectional
portfolio ranked by the forecasts; and an ML loop without leakage: features as builders, a model refitted on
walk-forward splits purged on label arrival, its predictions swept and audited, a leaking feature caught;
Tier 3: the event strategy replayed over a local websocket (the backtest's orders) and paper-traded through
the Alpaca adapter against its fake on 127.0.0.1, journaled, with the gap to the simulation; and, to look at
rather than read, one-file HTML reports of the winner, the sweep and the reality gap.

Run it with ``python -m ml4t.demo`` (or ``make demo``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl

import ml4t
import ml4t.costs as costs
from ml4t import audit, metrics, validate
from ml4t.data import Bars, PITData, bars, signals
from ml4t.datasets import synthetic_bars
from ml4t.event import BarBatch, Context, Engine, Strategy
from ml4t.vectorized import VectorizedStrategy

__all__ = ["main"]


def _section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 72 - len(title)))


def _predictions(universe: Bars) -> pl.DataFrame:
    """A toy 'model': tomorrow's return forecast = a noisy copy of the realized next return, published two
    hours after each close. It leaks on purpose in-sample (before ``train_end``), which is what the
    embargo check is for; the demo only uses it to show arrival times and the leakage guard."""
    rng = np.random.default_rng(11)
    frame = universe.frame.sort("symbol", "ts_event").with_columns(
        # the toy model's "forecast" is the future plus noise, on purpose
        pl.col("close").pct_change().shift(-1).over("symbol").alias("next_return")  # ml4t: ignore[PIT001]
    )
    noise = rng.normal(0.0, 0.02, frame.height)
    return frame.select(
        "ts_event",
        "symbol",
        (pl.col("next_return").fill_null(0.0) + noise).alias("forecast"),
    )


def main(reports: str | Path = "demo-reports") -> None:
    """Run every section; the last one writes its HTML reports into the folder ``reports`` (made if missing)."""
    pl.Config.set_tbl_rows(12)
    pl.Config.set_tbl_cols(12)
    pl.Config.set_tbl_width_chars(140)

    _section("1. Point-in-time data layer")
    universe = synthetic_bars(n_assets=5, n_bars=2520, freq="1d", seed=7)
    ppy = universe.periods_per_year
    assert ppy is not None  # ten years of daily bars always have an inferable calendar
    print(universe)
    print(f"bar frequency: {universe.freq}; periods per year inferred from the calendar: {ppy:.1f}")
    print(universe.wide("close").tail(3))

    _section("2. Bad input is an error that names the column, symbol and first timestamp")
    broken = (
        universe.frame.with_columns(
            pl.when(pl.int_range(pl.len()) == 1234).then(pl.col("low") * 0.9).otherwise(pl.col("high")).alias("high")
        )
        .drop("ts_arrival")
        .rename({"ts_event": "timestamp"})
    )
    try:
        bars(broken)
    except ml4t.DataError as err:
        print(f"DataError: {err}")

    _section("3. Predictions arrive after the bar they describe; the strategy sees them only then")
    preds = _predictions(universe)
    train_end = dt.datetime(2017, 12, 29, 21, tzinfo=dt.UTC)  # the model was fit on data up to here
    try:
        signals(preds, ts_arrival="2h", train_end=train_end, embargo="5d")
    except ml4t.LeakageError as err:
        print(f"LeakageError: {err}")
    cut = train_end + dt.timedelta(days=5)
    oos = signals(preds.filter(pl.col("ts_event") > cut), ts_arrival="2h", train_end=train_end, embargo="5d")
    print(oos)
    sym = universe.symbols[0]
    first = oos.frame.filter(pl.col("symbol") == sym).row(0, named=True)  # sorted by arrival
    first_bar: dt.datetime = first["ts_event"]
    arrival: dt.datetime = first["ts_arrival"]
    print(
        f"{sym}'s first out-of-sample forecast is about {first_bar}; it arrives at {arrival} "
        "(2h publication delay + 5d embargo)"
    )
    view = PITData(universe, oos, now=arrival - dt.timedelta(microseconds=1))
    print(
        f"  at {view.now}: close of {sym} = {view.latest('close', sym):.2f}, "
        f"forecast visible: {view.signal('forecast', sym)}"
    )
    view.advance_to(arrival)
    print(f"  at {view.now}: forecast visible: {view.signal('forecast', sym):+.4f}")

    _section("4. One Result shape, one metrics module")
    results = {}
    for symbol in universe.symbols:
        close = universe.wide("close").select("ts_event", symbol).drop_nulls()
        equity = 100_000 * close[symbol] / close[symbol][0]
        results[symbol] = ml4t.Result.from_equity(
            close["ts_event"],
            equity,
            init_cash=100_000,
            periods_per_year=ppy,
            meta={"strategy": "buy and hold", "symbol": symbol},
        )
    table = pl.concat([r.metrics.select(pl.lit(s).alias("symbol"), pl.all()) for s, r in results.items()]).select(
        "symbol",
        "total_return",
        "annual_return",
        "annual_volatility",
        "sharpe_ratio",
        "sortino_ratio",
        "max_drawdown",
        "max_drawdown_duration",
        "calmar_ratio",
        "cvar",
    )
    print("buy and hold, per symbol:")
    print(table)

    _section("5. Vectorized mode: sweep 300 SMA crossovers, fill at the next open")
    strat = VectorizedStrategy(sma_cross, execution="next_open", fees=0.001, init_cash=100_000, periods_per_year=ppy)
    sweep = strat.sweep(universe, fast=range(5, 55, 5), slow=range(60, 210, 5))
    print(sweep)
    print("best combinations by Sharpe ratio (the portfolio of all five symbols, one account each):")
    print(sweep.best("sharpe_ratio", n=3).select("fast", "slow", "total_return", "sharpe_ratio", "trade_count"))
    print("best combinations by Sharpe ratio on a single symbol:")
    print(
        sweep.best("sharpe_ratio", n=5, scope="symbol").select(
            "fast", "slow", "symbol", "total_return", "sharpe_ratio", "max_drawdown", "trade_count"
        )
    )
    top = sweep.best("sharpe_ratio", n=1, scope="symbol").row(0, named=True)
    best = sweep.result(fast=top["fast"], slow=top["slow"], symbol=top["symbol"])  # that row's own Result
    closed = best.trades.filter(pl.col("status") == "closed").height
    print(
        f"fast={top['fast']}, slow={top['slow']}: {closed} closed round trips on {top['symbol']}, Sharpe "
        f"{best.metrics['sharpe_ratio'][0]:.4f} (the row's {top['sharpe_ratio']:.4f}); {best.orders.height} "
        f"orders, statuses {sorted(set(best.orders['status']))}"
    )

    _section("6. Overfitting: is the best of the sweep's trials real?")
    # every (combination, symbol) row is a trial: N, V, SR0, the best's deflated Sharpe ratio and CSCV's PBO
    print(sweep.overfitting(scope="symbol"))
    print(sweep.best("deflated_sharpe", n=3, scope="symbol").select("fast", "slow", "symbol", "deflated_sharpe", "pbo"))
    single = strat.run(universe.select(top["symbol"]), fast=top["fast"], slow=top["slow"])
    returns = np.column_stack([r.returns["return"].to_numpy() for r in results.values()])
    pbo = metrics.probability_of_backtest_overfitting(returns, n_splits=10)
    print(
        f"probability of backtest overfitting when picking the best buy-and-hold symbol "
        f"(CSCV, {pbo.n_combinations} splits): {pbo.pbo:.2f}"
    )

    _section("7. Promotion: the sweep's winner on the event-driven engine")
    chosen = universe.select(top["symbol"])
    promoted = ml4t.promote(strat, chosen, fast=top["fast"], slow=top["slow"])
    exact = promoted.run()
    gap = float(np.max(np.abs(exact.equity["equity"].to_numpy() - single.equity["equity"].to_numpy())))
    print(
        f"promoted under the vectorized settings: {exact.fills.height} fills, identical to the vectorized run "
        f"(largest equity difference {gap:.1e})"
    )
    realistic = promoted.run(commission=costs.Percent(0.001), slippage=costs.Bps(5), participation=0.1)
    print("the reality gap: the same 0.1% fees, plus 5 bps slippage, a 10% volume cap, whole shares, 2% cash kept")
    print(ml4t.compare(single, realistic))

    _section("8. Event-driven mode: your own strategy class with protective stops")
    engine = Engine(
        chosen,
        SmaCrossWithStop(top["fast"], top["slow"]),
        init_cash=100_000,
        commission=costs.PerShare(0.005, minimum=1.0, maximum_rate=0.01),
        slippage=costs.Bps(5),
        participation=0.1,
        periods_per_year=ppy,
    )
    own = engine.run()
    statuses = own.orders["status"].value_counts(sort=True)
    print(f"orders by status: {dict(statuses.iter_rows())}")
    print(own.orders.select("ts_submitted", "side", "order_type", "quantity", "status", "reason").tail(4))
    print(own.metrics.select("total_return", "sharpe_ratio", "max_drawdown", "trade_count"))

    _section("9. Proof: the lookahead audit")
    clean = audit.lookahead(strat, chosen, params={"fast": top["fast"], "slow": top["slow"]}, cuts=5)
    print(f"the sweep's winner: {clean}")
    peeking = VectorizedStrategy(peek_tomorrow, execution="next_open", fees=0.001, init_cash=100_000)
    leak = audit.lookahead(peeking, chosen, params={}, cuts=5)
    print(f"a rule that reads tomorrow's close: {leak}")
    print(f"promoted run audited too: {audit.lookahead(promoted, chosen, cuts=5).passed}")

    _section("10. A cross-sectional portfolio: rank by the forecast, hold the top k, rebalance monthly")
    scored = ml4t.data.align_signals(universe, oos)  # each bar sees the forecasts that had arrived by then
    portfolio = VectorizedStrategy(
        top_k_by_forecast, scope="panel", rebalance="1mo", cash_sharing=True, execution="next_open", fees=0.001
    )
    ranked = portfolio.sweep(scored, k=[1, 2, 3])
    print(ranked.best("sharpe_ratio", n=3).select("k", "total_return", "sharpe_ratio", "max_drawdown"))
    k = ranked.best("sharpe_ratio", n=1)["k"][0]
    held = ranked.result(k=k)
    print(f"k={k}: the last bar's weights, and the average exposure (no forecast before 2018: flat)")
    print(held.weights.filter(pl.col("weight") != 0).tail(k))
    print(held.exposure.select(pl.col("gross", "net", "n_positions").mean()))
    exact = portfolio.promote(scored, k=k).run()
    print(f"promoted portfolio identical to the vectorized run: {exact.equity.equals(held.equity)}")

    _section("11. ML without leakage: a model refitted walk-forward, its predictions swept and audited")
    _ml_validation(universe)

    _section("12. Tier 3: the same strategy class on a replayed feed, then paper-traded")
    _tier3(chosen, SmaCrossWithStop(top["fast"], top["slow"]), top, own)

    _section("13. See it: one-file HTML reports that open offline in any browser")
    folder = Path(reports)
    folder.mkdir(parents=True, exist_ok=True)
    run_html = single.report(folder / "run.html", audit=clean)
    print(f"the sweep's winner on {top['symbol']}, with the audit's verdict: {run_html}")
    print(f"the sweep (heatmap, overfitting statistics, the best run): {sweep.report(folder / 'sweep.html')}")
    gap_html = ml4t.compare(single, realistic).report(folder / "gap.html")
    print(f"the reality gap (equity curves, the waterfall by cause): {gap_html}")
    print(
        "in a notebook, best.plot(), sweep.heatmap('fast', 'slow') and ml4t.compare(a, b).plot() draw the same figures"
    )


def _tier3(chosen: Bars, strategy: Strategy, top: dict[str, object], backtest: ml4t.Result) -> None:
    """The event strategy of section 8, unchanged: replayed over a local websocket (the backtest's orders at
    the backtest's times), then paper-traded through the Alpaca adapter against its fake on 127.0.0.1 with risk
    limits and a journal, and the gap between the paper session and the replay of its journal."""
    import tempfile

    from ml4t.live import AlpacaBroker, FakeAlpaca, ReplayFeed, ReplayServer, RiskLimits, Session, replay

    commission = costs.PerShare(0.005, minimum=1.0, maximum_rate=0.01)
    with ReplayServer(chosen) as server, ReplayFeed(server.url) as feed:
        replayed = Session(
            strategy, feed, symbols=chosen.symbols, init_cash=100_000, commission=commission,
            slippage=costs.Bps(5), participation=0.1,
        ).run()  # fmt: skip
    same = replayed.orders.equals(backtest.orders) and replayed.equity.equals(backtest.equity)
    print(f"replayed over a websocket on 127.0.0.1: {replayed.orders.height} orders, identical to the backtest: {same}")
    assert chosen.end is not None
    year = chosen.between(chosen.end - dt.timedelta(days=365), None)
    fast, slow = int(str(top["fast"])), int(str(top["slow"]))
    with tempfile.TemporaryDirectory() as folder, FakeAlpaca(cash=100_000) as alpaca, ReplayServer(year) as server:
        journal = Path(folder) / "paper.jsonl"
        broker = AlpacaBroker(alpaca.api_key, alpaca.secret_key, url=alpaca.url, stream_url=alpaca.stream_url)
        paper = Session(
            SmaCrossWithStop(fast, slow), alpaca.follow(ReplayFeed(server.url)), symbols=year.symbols,
            venue=broker, journal=journal, init_cash=100_000,
            risk=RiskLimits(max_order_value=150_000, kill_switch=str(Path(folder) / "KILL")),
        ).run()  # fmt: skip
        statuses = dict(paper.orders["status"].value_counts().iter_rows())
        print(f"paper-traded the last year through AlpacaBroker (against its fake): orders by status {statuses}")
        print(f"journal: {len(journal.read_text().splitlines())} lines (every message, decision, order, answer, fill)")
        simulated = replay(journal, SmaCrossWithStop(fast, slow), init_cash=100_000)
    gap = ml4t.compare(paper, simulated)
    print(f"paper vs the simulator on the same messages: {gap.labels}")
    print(gap.attribution)


def _ml_validation(universe: Bars) -> None:
    """Features as builders, 5-day labels, walk-forward splits purged on label arrival, a least-squares model
    refitted per split (any fit/predict estimator works), its predictions swept over a threshold with the
    overfitting statistics, the lookahead audit (strict), and a feature that reads tomorrow, caught."""
    close = pl.col("close")
    featured = universe.with_features(mom=close.pct_change(20), rev=close.pct_change(5))
    labels = validate.forward_returns(featured, 5)
    data = featured.frame.join(labels.select("ts_event", "symbol", "label", "label_end"), on=["ts_event", "symbol"])
    splits = validate.walk_forward(data, train="2y", test="6mo", mode="expanding", purge="label_end")
    print(splits)
    preds = validate.fit_predict(_LeastSquares(), data, features=["mom", "rev"], target="label", splits=splits)
    print(preds)
    scored = ml4t.data.align_signals(featured, preds)
    model = VectorizedStrategy(above, cash_sharing=True, size=0.2, size_type="percent", fees=0.001)
    sweep = model.sweep(scored, th=[0.0, 0.001, 0.002, 0.004])
    print(sweep.best(n=2).select("th", "total_return", "sharpe_ratio", "deflated_sharpe", "pbo"))
    th = sweep.best(n=1)["th"][0]
    report = audit.lookahead(model, scored, params={"th": th}, strict=True)
    print(f"strict audit of th={th}: passed={report.passed}, unverified columns: {list(report.unverified_columns)}")
    leaky = featured.with_features(tomorrow=close.shift(-1) / close - 1)  # ml4t: ignore[PIT001] (caught below)
    peeking = VectorizedStrategy(reads_tomorrow, cash_sharing=True, size=0.2, size_type="percent")
    print(f"a feature that reads tomorrow: {audit.lookahead(peeking, leaky, params={}).first_divergence}")


class _LeastSquares:
    """The smallest fit/predict estimator: ordinary least squares with an intercept (scikit-learn's work too)."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> _LeastSquares:
        design = np.column_stack([np.ones(len(X)), X])
        self.coef = np.linalg.lstsq(design, y, rcond=None)[0]
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        predicted: np.ndarray = np.column_stack([np.ones(len(X)), X]) @ self.coef
        return predicted


def above(th: float) -> dict[str, pl.Expr]:
    """Long while the model's prediction exceeds ``th``, out when it turns negative."""
    return {"entries": pl.col("prediction") > th, "exits": pl.col("prediction") < 0}


def reads_tomorrow() -> dict[str, pl.Expr]:
    """A rule on a leaking feature (``tomorrow``: the next bar's return), for the audit to catch."""
    return {"entries": pl.col("tomorrow") > 0, "exits": pl.col("tomorrow") < 0}


class SmaCrossWithStop(Strategy):
    """The sweep's winner as an event-driven strategy: all-in while fast > slow, with an 8% stop-loss."""

    def __init__(self, fast: int, slow: int) -> None:
        self.indicators = {"fast": pl.col("close").rolling_mean(fast), "slow": pl.col("close").rolling_mean(slow)}

    def on_bar(self, ctx: Context, bars: BarBatch) -> None:
        for bar in bars:
            held = ctx.position(bar.symbol)
            if bar.fast > bar.slow and held == 0 and not ctx.open_orders(bar.symbol):
                ctx.order_target_percent(bar.symbol, 0.95)
            elif bar.fast < bar.slow and held > 0:
                ctx.cancel_all(bar.symbol)
                ctx.order(bar.symbol, -held)
            elif held > 0 and not ctx.open_orders(bar.symbol):
                ctx.order(bar.symbol, -held, stop=bar.close * 0.92, tag="stop-loss")


def peek_tomorrow() -> dict[str, pl.Expr]:
    """A leak on purpose: buys when tomorrow's close is higher (``shift(-1)`` reads the next bar)."""
    tomorrow = pl.col("close").shift(-1)  # ml4t: ignore[PIT001]  (the audit below must catch it)
    return {"entries": tomorrow > pl.col("close"), "exits": tomorrow < pl.col("close")}


def top_k_by_forecast(k: int) -> dict[str, pl.Expr]:
    """Target weights: the ``k`` symbols with the highest forecast at ``1 / k`` of equity each, the rest 0
    (no forecast yet: no position)."""
    rank = pl.col("forecast").rank("ordinal", descending=True).over("ts_event")
    return {"weights": pl.when(rank <= k).then(1.0 / k).otherwise(0.0)}


def sma_cross(fast: int, slow: int) -> dict[str, pl.Expr]:
    """The demo's strategy: long while the fast moving average is above the slow one."""
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s, "exits": f < s}


if __name__ == "__main__":
    main()
