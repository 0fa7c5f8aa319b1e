"""The report sections shared by every report (``ml4t.report._sections``): the run header, metrics, monthly
returns (against empyrical's ``aggregate_returns``), rolling Sharpe (against empyrical's
``roll_sharpe_ratio`` and a plain reference), orders by status and reason, trades, and the audit verdict."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import statistics
from collections import Counter

import empyrical
import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.report import plot_runs as runs

from ml4t import Result, audit
from ml4t.demo import peek_tomorrow, sma_cross
from ml4t.errors import ConfigError
from ml4t.metrics import summary
from ml4t.report._sections import (
    MONTHS,
    annualization,
    audit_section,
    default_window,
    metrics_table,
    monthly_returns,
    monthly_returns_figure,
    orders_summary,
    rolling_sharpe,
    rolling_sharpe_figure,
    run_header,
    trades_table,
)
from ml4t.vectorized import VectorizedStrategy

T0 = dt.datetime(2019, 12, 30, 21, tzinfo=dt.UTC)


def _returns_series(result: Result) -> pd.Series:
    r = result.returns
    index = pd.DatetimeIndex(r["ts_event"].dt.replace_time_zone(None).to_numpy(), tz="UTC")
    return pd.Series(r["return"].fill_null(0.0).to_numpy(), index=index)


# ------------------------------------------------------------------------------------------------ header
def test_the_header_names_settings_data_and_version_of_a_vectorized_run():
    result = runs.vectorized()
    header = run_header(result)
    assert (header["mode"], header["strategy"], header["params"]) == ("vectorized", "sma_cross", "fast=10, slow=40")
    assert header["settings.execution"] == "next_open" and header["settings.fees"] == 0.001
    assert header["data_fingerprint"] == result.bars.fingerprint() and len(header["data_fingerprint"]) == 32
    assert header["symbols"] == "A000"
    assert (header["first_bar"], header["last_bar"]) == (result.equity["ts_event"][0], result.equity["ts_event"][-1])
    assert header["bars"] == 400 and header["init_cash"] == 100_000
    assert header["periods_per_year"] == f"{runs.daily().periods_per_year:.6g} (result)"  # the bars' calendar
    assert header["ml4t_version"] == "0.1.0"
    assert not any(isinstance(v, dict) for v in header.values())


def test_the_header_flattens_the_event_engines_settings():
    result = runs.with_stops()
    header = run_header(result)
    assert header["mode"] == "event"
    assert header["settings.account"] == "cash" and header["settings.execution"] == "next_open"
    assert header["settings.splits"] == "{}"  # an empty mapping is said, not dropped
    assert header["data_fingerprint"] == result.bars.fingerprint()


def test_the_header_of_an_equity_curve_says_what_is_unknown():
    header = run_header(runs.equity_only())
    assert header["mode"] is None and header["data_fingerprint"] is None and header["symbols"] == ""
    assert header["periods_per_year"].endswith("(equity timestamps)")


# ----------------------------------------------------------------------------------------- annualization
def test_annualization_prefers_the_result_then_the_bars_then_the_timestamps():
    ts = [T0 + dt.timedelta(days=i) for i in range(366)]
    given_ = Result.from_equity(ts, [1.0] * 366, periods_per_year=252)
    assert annualization(given_) == (252.0, "result")
    inferred = Result.from_equity(ts, [1.0] * 366)
    ppy, source = inferred.periods_per_year, annualization(inferred)
    assert ppy is None and source[1] == "equity timestamps"
    assert source[0] == pytest.approx(365 / (365 / 365.25))  # 365 steps over 365 days: 365.25 a Julian year
    assert annualization(Result.from_equity(ts[:1], [1.0])) == (None, "unknown")
    assert annualization(runs.vectorized()) == (runs.daily().periods_per_year, "result")  # the engine set it
    without = dataclasses.replace(runs.vectorized(), periods_per_year=None)
    assert annualization(without) == (runs.daily().periods_per_year, "bars")


# ----------------------------------------------------------------------------------------------- metrics
def test_the_metrics_table_is_the_summary_row_by_row():
    result = runs.with_stops()
    table = metrics_table(result)
    assert table.columns == ["metric", "value"]
    row = summary(result, periods_per_year=annualization(result)[0]).row(0, named=True)
    assert table["metric"].to_list() == list(row)
    values = dict(table.iter_rows())
    assert float(values["sharpe_ratio"]) == pytest.approx(row["sharpe_ratio"], rel=1e-5)
    assert int(values["trade_count"]) == row["trade_count"]


def test_metrics_of_an_equity_curve_without_periods_per_year_are_annualized_from_its_timestamps():
    table = dict(metrics_table(runs.equity_only()).iter_rows())
    assert float(table["periods_per_year"]) == pytest.approx(annualization(runs.equity_only())[0], rel=1e-5)
    assert table["sharpe_ratio"] not in ("", "NaN")


# --------------------------------------------------------------------------------------- monthly returns
def test_monthly_returns_match_empyrical_aggregate_returns():
    result = runs.with_stops()
    table = monthly_returns(result)
    assert table.columns == ["year", *MONTHS, "total"]
    series = _returns_series(result)
    monthly = empyrical.aggregate_returns(series, "monthly")
    yearly = empyrical.aggregate_returns(series, "yearly")
    cells = {(row["year"], m + 1): row[name] for row in table.iter_rows(named=True) for m, name in enumerate(MONTHS)}
    assert {k for k, v in cells.items() if v is not None} == set(monthly.index)
    for key, value in monthly.items():
        assert cells[key] == pytest.approx(value, rel=1e-12, abs=1e-15)
    assert dict(zip(table["year"], table["total"], strict=True)) == pytest.approx(dict(yearly.items()), rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    returns=st.lists(st.floats(-0.5, 0.5, allow_subnormal=False), min_size=1, max_size=120),
    hours=st.sampled_from([6, 24, 24 * 5, 24 * 13]),
)
def test_monthly_returns_compound_each_calendar_month_like_a_plain_reference(returns, hours):
    """Property: any bar spacing, any returns: each month is the product of its bars' growth minus one (the
    first bar measured from init_cash), each year's total the product of its bars'."""
    ts = [T0 + i * dt.timedelta(hours=hours) for i in range(len(returns))]
    equity = list(100.0 * np.cumprod(1.0 + np.asarray(returns)))
    table = monthly_returns(Result.from_equity(ts, equity, init_cash=100.0))
    growth: dict[tuple[int, int], float] = {}
    years: dict[int, float] = {}
    for t, r in zip(ts, returns, strict=True):
        growth[(t.year, t.month)] = growth.get((t.year, t.month), 1.0) * (1.0 + r)
        years[t.year] = years.get(t.year, 1.0) * (1.0 + r)
    assert table["year"].to_list() == sorted(years)
    for row in table.iter_rows(named=True):
        for m, name in enumerate(MONTHS, start=1):
            expected = growth.get((row["year"], m))
            assert (row[name] is None) == (expected is None)
            if expected is not None:
                assert row[name] == pytest.approx(expected - 1.0, rel=1e-9, abs=1e-12)
        assert row["total"] == pytest.approx(years[row["year"]] - 1.0, rel=1e-9, abs=1e-12)


def test_months_after_ruin_are_flat():
    result = runs.ruined()
    table = monthly_returns(result)
    assert table.height == 1 and table["Jan"][0] == -1.0 and table["total"][0] == -1.0


def test_the_monthly_heatmap_is_the_table():
    table = monthly_returns(runs.with_stops())
    fig = monthly_returns_figure(table)
    (heat,) = fig.data
    assert heat.type == "heatmap" and heat.name == "monthly returns" and heat.zmid == 0.0
    assert list(heat.x) == list(MONTHS) and list(heat.y) == [str(y) for y in table["year"]]
    z = np.asarray(heat.z, dtype=float)
    np.testing.assert_array_equal(z, table.select(MONTHS).to_numpy().astype(float))  # NaN where no bars
    first = next(i for i, v in enumerate(z[0]) if not math.isnan(v))
    assert heat.text[0][first] == f"{100 * z[0][first]:.1f}%"


# ---------------------------------------------------------------------------------------- rolling Sharpe
def test_the_default_window_is_about_six_months_of_bars():
    ts = [T0 + dt.timedelta(days=i) for i in range(10)]
    assert default_window(Result.from_equity(ts, [1.0] * 10, periods_per_year=252)) == 126
    assert default_window(Result.from_equity(ts, [1.0] * 10, periods_per_year=52)) == 26
    assert default_window(Result.from_equity(ts, [1.0] * 10, periods_per_year=3)) == 2
    assert default_window(runs.vectorized()) == round(runs.daily().periods_per_year / 2)


def test_rolling_sharpe_matches_empyrical():
    result = runs.with_stops()
    ppy = annualization(result)[0]
    table = rolling_sharpe(result, 60)
    assert table.columns == ["ts_event", "rolling_sharpe"] and table.height == result.equity.height
    assert table["ts_event"].equals(result.equity["ts_event"])
    ours = table["rolling_sharpe"].to_numpy()
    assert np.isnan(ours[:59].astype(float)).all()
    theirs = empyrical.roll_sharpe_ratio(_returns_series(result), 60, annualization=ppy).to_numpy()
    both = np.isfinite(theirs) & np.isfinite(ours[59:].astype(float))
    assert both.sum() > 200
    assert np.allclose(ours[59:][both], theirs[both], rtol=1e-9)


@settings(max_examples=30, deadline=None)
@given(
    returns=st.lists(st.floats(-0.1, 0.1, allow_subnormal=False), min_size=2, max_size=80),
    window=st.integers(2, 30),
)
def test_rolling_sharpe_is_the_sharpe_of_each_trailing_window(returns, window):
    """Property: against a plain reference (statistics.mean / stdev per window, times sqrt(252)); a window of
    equal returns has no Sharpe ratio."""
    ts = [T0 + dt.timedelta(days=i) for i in range(len(returns))]
    equity = list(100.0 * np.cumprod(1.0 + np.asarray(returns)))
    result = Result.from_equity(ts, equity, init_cash=100.0, periods_per_year=252)
    got = rolling_sharpe(result, window)["rolling_sharpe"].to_list()
    bar_returns = result.returns["return"].to_list()
    for i, value in enumerate(got):
        if i < window - 1:
            assert value is None
            continue
        chunk = bar_returns[i - window + 1 : i + 1]
        sd = statistics.stdev(chunk)
        if sd == 0:
            assert value is None
        elif sd > 1e-9:  # (below: equal returns up to rounding, whose ratio is noise; either answer is fine)
            assert value == pytest.approx(statistics.fmean(chunk) / sd * math.sqrt(252), rel=1e-6, abs=1e-9)


def test_rolling_sharpe_is_missing_after_ruin():
    result = runs.ruined()
    table = rolling_sharpe(result, 2)
    assert table["rolling_sharpe"].to_list()[-1] is None  # the last return is null: the account was ruined


@pytest.mark.parametrize("bad", [1, 0, -3, 2.5, True, "20"])
def test_the_window_must_be_an_integer_of_at_least_two(bad):
    with pytest.raises(ConfigError, match="window") as caught:
        rolling_sharpe(runs.vectorized(), bad)
    assert caught.value.argument == "window"


def test_the_rolling_sharpe_figure_keeps_the_extremes():
    table = rolling_sharpe(runs.with_stops(), 20)
    fig = rolling_sharpe_figure(table, max_points=20)
    (line,) = fig.data
    assert line.name == "rolling Sharpe" and len(line.x) <= 22
    values = table["rolling_sharpe"].drop_nulls()
    assert values.max() in line.y and values.min() in line.y


# ------------------------------------------------------------------------------------------ orders, trades
def test_orders_are_counted_by_status_and_reason_code():
    result = runs.cash_sharing()
    counts, rejected = orders_summary(result)
    expected = Counter(zip(result.orders["status"], result.orders["reason_code"], strict=True))
    assert {(s, r): n for s, r, n in counts.iter_rows()} == dict(expected)
    assert counts["orders"].to_list() == sorted(counts["orders"].to_list(), reverse=True)
    assert counts["orders"].sum() == result.orders.height
    assert rejected["order_id"].to_list() == result.orders.filter(pl.col("status") == "rejected")["order_id"].to_list()
    assert set(rejected["reason_code"]) == {"insufficient_cash"} and rejected["reason"].null_count() == 0


def test_every_status_of_the_scripted_run_is_counted():
    counts, rejected = orders_summary(runs.scripted())
    got = {(s, r): n for s, r, n in counts.iter_rows()}
    assert got == {
        ("filled", None): 2,
        ("rejected", "insufficient_cash"): 1,
        ("cancelled", "ioc_unfilled"): 1,
        ("expired", "day_expired"): 1,
        ("open", None): 1,
    }
    assert rejected.height == 1 and rejected["order_id"][0] == 0


def test_trades_table_adds_the_holding_time():
    result = runs.with_stops()
    table = trades_table(result)
    assert table.height == result.trades.height
    at = table.columns.index("ts_exit")
    assert table.columns[at + 1] == "holding"
    closed = table.filter(pl.col("status") == "closed")
    assert (closed["holding"] == closed["ts_exit"] - closed["ts_entry"]).all()
    assert (
        table.filter(pl.col("status") == "open")["holding"].null_count()
        == table.filter(pl.col("status") == "open").height
    )


# -------------------------------------------------------------------------------------------------- audit
def _audits() -> tuple[audit.AuditReport, audit.AuditReport]:
    strategy = VectorizedStrategy(sma_cross, execution="next_open", fees=0.001, init_cash=100_000)
    clean = audit.lookahead(strategy, runs.daily(), params={"fast": 10, "slow": 40}, cuts=3)
    leak = audit.lookahead(VectorizedStrategy(peek_tomorrow, execution="next_open"), runs.daily(), params={}, cuts=3)
    return clean, leak


def test_the_audit_section_gives_the_verdict_cuts_and_first_divergence():
    clean, leak = _audits()
    verdict, facts, text = audit_section(clean)
    assert "verdict-pass" in verdict.markup and "PASSED" in verdict.markup
    assert facts["cuts"] == 3 and facts["first divergence"] == "none" and facts["unverified columns"] == "none"
    assert facts["checked orders"] == clean.checked_orders and text == str(clean)
    verdict, facts, text = audit_section(leak)
    assert "verdict-fail" in verdict.markup
    assert facts["first divergence"] == str(leak.first_divergence) and facts["cuts that diverged"] >= 1


def test_unverified_columns_are_named():
    report = audit.AuditReport(
        passed=True, mode="event", cuts=(T0,), first_divergence=None, unverified_columns=("score", "beta")
    )
    _, facts, text = audit_section(report)
    assert facts["unverified columns"] == "score, beta" and "'score'" in text


@pytest.mark.parametrize("bad", ["passed", True, {"passed": True}])
def test_anything_but_an_audit_report_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="AuditReport") as caught:
        audit_section(bad)
    assert caught.value.argument == "audit"


def test_the_rolling_sharpe_figure_checks_its_budget():
    with pytest.raises(ConfigError, match="max_points") as caught:
        rolling_sharpe_figure(rolling_sharpe(runs.vectorized(), 20), max_points=3)
    assert caught.value.argument == "max_points"
