"""``result.report(path)``: one offline HTML file with every section of a single run (header with the data
fingerprint, metrics, the run figure, monthly returns, rolling Sharpe, orders with the rejected ones and
their reasons, trades, the audit verdict when given)."""

from __future__ import annotations

import html
import json
import re

import pytest
from tests.event.scenario import FLAT, make_bars, run
from tests.report import plot_runs as runs

from ml4t import audit
from ml4t.demo import sma_cross
from ml4t.errors import ConfigError
from ml4t.report import Page, report_result, result_page
from ml4t.report._page import MAX_TABLE_ROWS
from ml4t.vectorized import VectorizedStrategy

SECTIONS = [
    "Run",
    "Metrics",
    "Price, equity, drawdown and exposure",
    "Monthly returns",
    "Rolling Sharpe ratio",
    "Orders",
    "Trades",
]


def _titles(text: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r"<h2>(.*?)</h2>", text)]


def test_the_report_has_every_section_and_opens_offline(tmp_path):
    result = runs.with_stops()
    path = result.report(tmp_path / "run.html")
    assert path == tmp_path / "run.html"
    text = path.read_text()
    assert _titles(text) == SECTIONS
    assert text.count("Plotly.newPlot(") == 3 and "data-figures='3'" in text
    assert not re.search(r"<script[^>]*\bsrc=", text) and not re.search(r"<link[^>]*\bhref=", text)
    assert result.bars.fingerprint() in text  # the data that produced it, in the header and the subtitle
    assert "settings.execution" in text and "next_open" in text
    assert [p.name for p in tmp_path.iterdir()] == ["run.html"]  # written atomically, nothing left beside it


def test_the_page_is_reusable_and_counts_its_figures():
    page = result_page(runs.vectorized(), title="my run")
    assert isinstance(page, Page) and page.title == "my run" and page.n_figures == 3
    assert [s.title for s in page.sections] == SECTIONS


def test_rejected_orders_are_listed_with_their_reasons(tmp_path):
    result = runs.scripted()
    text = report_result(result, tmp_path / "r.html").read_text()
    rejected = result.orders.filter(result.orders["status"] == "rejected").row(0, named=True)
    orders = text[text.index("<h2>Orders</h2>") : text.index("<h2>Trades</h2>")]
    assert "The 1 rejected orders and their reasons" in orders
    assert html.escape(rejected["reason"]) in orders and "insufficient_cash" in orders
    for code in ("ioc_unfilled", "day_expired"):
        assert code in orders  # counted by reason code
    assert "6 orders by status and reason code; 1 rejected." in orders
    # the figure's hover carries the reason too
    assert json.dumps(rejected["reason"])[1:-1] in text


def test_a_long_trades_table_is_capped_and_says_how_many_are_left_out(tmp_path):
    result = runs.busy()
    assert result.trades.height > MAX_TABLE_ROWS
    text = report_result(result, tmp_path / "p.html").read_text()
    trades = text[text.index("<h2>Trades</h2>") :]
    n = result.trades.height
    assert f"{n:,} trades (" in trades
    assert f"{n - MAX_TABLE_ROWS:,} more rows not shown (of {n:,})" in trades


def test_the_audit_verdict_is_a_section_when_given(tmp_path):
    strategy = VectorizedStrategy(sma_cross, execution="next_open", fees=0.001, init_cash=100_000)
    report = audit.lookahead(strategy, runs.daily(), params={"fast": 10, "slow": 40}, cuts=3)
    text = runs.vectorized().report(tmp_path / "a.html", audit=report).read_text()
    assert _titles(text) == [*SECTIONS, "Lookahead audit"]
    assert "verdict-pass" in text and html.escape(str(report)) in text


def test_an_audit_that_is_not_an_audit_report_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ConfigError, match="AuditReport") as caught:
        runs.vectorized().report(tmp_path / "a.html", audit=True)
    assert caught.value.argument == "audit"
    assert list(tmp_path.iterdir()) == []


def test_a_missing_directory_is_a_config_error_naming_path(tmp_path):
    with pytest.raises(ConfigError, match="does not exist") as caught:
        runs.vectorized().report(tmp_path / "nowhere" / "a.html")
    assert caught.value.argument == "path"


@pytest.mark.parametrize(
    "kind", ["equity_only", "never_trades", "ruined", "promoted", "portfolio", "cash_sharing", "busy"]
)
def test_every_kind_of_result_gets_a_report(tmp_path, kind):
    result = getattr(runs, kind)()
    text = result.report(tmp_path / f"{kind}.html", max_points=500).read_text()
    assert _titles(text) == SECTIONS
    assert text.count("Plotly.newPlot(") == 3


def test_the_title_and_max_points_reach_the_page(tmp_path):
    text = runs.vectorized().report(tmp_path / "t.html", title="SMA <10/40>", max_points=40).read_text()
    assert "<title>SMA &lt;10/40&gt;</title>" in text
    page = result_page(runs.vectorized(), max_points=40)
    figure = page.sections[2].items[0]
    price = next(t for t in figure.data if t.meta["role"] == "price")
    assert price.type == "scatter" and len(price.x) <= 42


def test_user_text_that_closes_a_script_cannot_break_the_page(tmp_path):
    # an order's tag is the user's text and reaches the figure's hover: "</script>" in it must stay text
    tag = "</script><b>x</b>"
    result, _ = run(make_bars([FLAT] * 4), {0: lambda ctx: ctx.order("X", 1, tag=tag)})
    text = result.report(tmp_path / "t.html").read_text()
    scripts = re.findall(r"<script type='text/javascript'>(.*?)</script>", text, flags=re.S)
    assert len(scripts) == 1 + 3  # plotly.js, then one per figure: none was cut short
    assert all(s.endswith(");") for s in scripts[1:])
    assert "<\\/script><b>x<\\/b>" in text


def test_an_audit_of_other_params_or_data_is_said_to_be_so(tmp_path):
    from ml4t import audit
    from ml4t.datasets import synthetic_bars
    from ml4t.demo import sma_cross
    from ml4t.vectorized import VectorizedStrategy

    bars = synthetic_bars(n_assets=1, n_bars=300, freq="1d", seed=4)
    strat = VectorizedStrategy(sma_cross, execution="next_open")
    run = strat.run(bars, fast=5, slow=20)
    same = audit.lookahead(strat, bars, params={"fast": 5, "slow": 20}, cuts=3, progress=False)
    assert (same.strategy, dict(same.params), same.data_fingerprint) == (
        "sma_cross",
        {"fast": 5, "slow": 20},
        bars.fingerprint(),
    )
    text = run.report(tmp_path / "same.html", audit=same).read_text()
    assert "This audit is of" not in text
    assert bars.fingerprint() in text

    other = audit.lookahead(strat, bars, params={"fast": 10, "slow": 20}, cuts=3, progress=False)
    text = run.report(tmp_path / "other.html", audit=other).read_text()
    assert "This audit is of the parameters fast=10, slow=20, not the run&#x27;s fast=5, slow=20" in text

    shorter = bars.between(bars.frame["ts_event"][0], bars.frame["ts_event"][200])
    elsewhere = audit.lookahead(strat, shorter, params={"fast": 5, "slow": 20}, cuts=3, progress=False)
    text = run.report(tmp_path / "elsewhere.html", audit=elsewhere).read_text()
    assert f"data with fingerprint {shorter.fingerprint()}, not the run&#x27;s {bars.fingerprint()}" in text
