"""`make demo` runs `python -m ml4t.demo`; it must keep working and keep showing what it promises."""

from ml4t import demo


def test_demo_runs_and_shows_each_section(capsys, tmp_path):
    demo.main(reports=tmp_path / "reports")
    out = capsys.readouterr().out
    written = sorted(p.name for p in (tmp_path / "reports").iterdir())
    assert written == ["gap.html", "run.html", "sweep.html"]
    for expected in (
        "Point-in-time data layer",
        "DataError: high < low in 1 row",
        "LeakageError: in-sample predictions",
        "forecast visible: None",
        "buy and hold, per symbol",
        "Vectorized mode: sweep",
        "best combinations by Sharpe ratio",
        "closed round trips",
        "deflated Sharpe ratio",
        "probability of backtest overfitting",
        "Promotion: the sweep's winner on the event-driven engine",
        "identical to the vectorized run (largest equity difference 0.0e+00)",
        "reality gap: vectorized -> event (realistic)",
        "final equity difference by cause",
        "Event-driven mode: your own strategy class",
        "orders by status",
        "Proof: the lookahead audit",
        "a rule that reads tomorrow's close: Lookahead audit FAILED",
        "promoted run audited too: True",
        "A cross-sectional portfolio",
        "promoted portfolio identical to the vectorized run: True",
        "ML without leakage",
        "purge='label_end'",
        "train_end=per row (15 vintages",
        "deflated_sharpe",
        "strict audit of th=",
        "passed=True, unverified columns: []",
        "a feature that reads tomorrow: signal 'entries'",
        "Tier 3: the same strategy class on a replayed feed",
        "orders, identical to the backtest: True",
        "paper-traded the last year through AlpacaBroker",
        "('live (paper)', 'live (simulated)')",
        "See it: one-file HTML reports",
        "reports/run.html",
    ):
        assert expected in out
