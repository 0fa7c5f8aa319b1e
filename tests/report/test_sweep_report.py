"""``Sweep.report(path)``: one offline file with every section the issue asks for, its figures' data taken
from the sweep (heatmap z, distribution, the best combination's equity downsampled), the overfitting
statistics as the sweep computes them, and the audit's verdict when given (issue #14)."""

from __future__ import annotations

import base64
import html
import json
import re

import numpy as np
import polars as pl
import pytest

import ml4t.audit
from ml4t.datasets import synthetic_bars
from ml4t.errors import ConfigError
from ml4t.vectorized import VectorizedStrategy


def sma_cross(fast: int, slow: int, band: float) -> dict[str, pl.Expr]:
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    return {"entries": f > s * (1 + band), "exits": f < s}


@pytest.fixture(scope="module")
def sweep():
    strategy = VectorizedStrategy(sma_cross, fees=0.001, init_cash=100_000)
    return strategy.sweep(synthetic_bars(2, 600, seed=7), fast=[3, 5, 8, 12], slow=[20, 30, 40], band=[0.0, 0.01])


def figures(text: str) -> list[tuple[list[dict], dict]]:
    """The (data, layout) of every ``Plotly.newPlot`` call in a report, decoded from its JSON."""
    decoder = json.JSONDecoder()
    out = []
    for match in re.finditer(r"Plotly\.newPlot\('[^']+', ", text):
        data, end = decoder.raw_decode(text, match.end())
        layout, _ = decoder.raw_decode(text, end + 2)
        out.append((data, layout))
    return out


def values(v: object) -> np.ndarray:
    """A figure's array: plain JSON, or plotly's typed array (``{"dtype", "bdata", "shape"}``, base64)."""
    if isinstance(v, dict) and "bdata" in v:
        flat = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        shape = v.get("shape")
        return flat.reshape([int(n) for n in str(shape).split(",")]) if shape else flat
    return np.array(v, dtype=float)


def sections(text: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r"<section><h2>(.*?)</h2>", text)]


def test_the_report_has_every_section_and_opens_offline(sweep, tmp_path):
    path = sweep.report(tmp_path / "sweep.html")
    text = path.read_text()
    assert sections(text) == [
        "Sweep",
        "Settings and data",
        "Top 20 combinations by sharpe_ratio",
        "Overfitting",
        "Heatmap of sharpe_ratio over fast and slow",
        "Distribution of sharpe_ratio",
        f"Best combination by sharpe_ratio: {_label(sweep)}",
    ]
    assert sweep.bars.fingerprint() in text
    assert html.escape(str(sweep.overfitting())) in text
    ours = text.split("</script>", 1)[1]  # after the inlined plotly.js: nothing fetched from anywhere
    assert "<script src=" not in ours and "http://" not in ours and "https://" not in ours
    assert len(figures(text)) == int(re.search(r"data-figures='(\d+)'", text).group(1)) == 4


def _label(sweep, metric: str = "sharpe_ratio") -> str:
    best = sweep.best(metric, n=1).row(0, named=True)
    return ", ".join(f"{p}={best[p]!r}" for p in sweep.params)


def test_the_top_table_carries_the_deflated_sharpe_and_pbo_of_best(sweep, tmp_path):
    text = sweep.report(tmp_path / "sweep.html", top=3, metric="total_return").read_text()
    top = sweep.best("total_return", n=3)
    table = text.split("Top 3 combinations by total_return")[1].split("</section>")[0]
    assert table.count("<tr>") == 4  # header and three rows
    for row in top.iter_rows(named=True):
        assert f"{row['deflated_sharpe']:.6g}" in table and f"{row['total_return']:.6g}" in table
    assert f"{top['pbo'][0]:.6g}" in table


def test_the_figures_hold_the_sweeps_numbers(sweep, tmp_path):
    text = sweep.report(tmp_path / "sweep.html", x="slow", y="band", max_points=50).read_text()
    logits, heat, distribution, equity = figures(text)
    assert np.allclose(values(logits[0][0]["x"]), sweep.overfitting().logits)
    data = sweep.heatmap_data("slow", "band")
    z = values(heat[0][0]["z"])
    assert list(values(heat[0][0]["x"])) == [20, 30, 40] and list(values(heat[0][0]["y"])) == [0.0, 0.01]
    np.testing.assert_allclose(z.T.reshape(-1), data["sharpe_ratio"].to_numpy(), rtol=1e-12)
    rows = sweep.metrics.filter(pl.col("scope") == "portfolio")["sharpe_ratio"]
    assert sorted(values(distribution[0][0]["x"])) == sorted(rows.drop_nans().to_list())
    best = sweep.best(n=1).row(0, named=True)
    result = sweep.result(**{p: best[p] for p in sweep.params})
    curve = values(next(t for t in equity[0] if t.get("meta", {}).get("role") == "equity")["y"])
    assert 4 <= len(curve) <= 52 < result.equity.height
    truth = set(result.equity["equity"].to_list())
    assert all(v in truth for v in curve.tolist())
    assert curve.max() == result.equity["equity"].max() and curve.min() == result.equity["equity"].min()


def test_a_given_audit_report_shows_its_verdict(sweep, tmp_path):
    best = sweep.best(n=1).select(sweep.params).row(0, named=True)
    report = ml4t.audit.lookahead(sweep.strategy, sweep.bars, params=best, cuts=2)
    text = sweep.report(tmp_path / "sweep.html", audit=report).read_text()
    assert sections(text)[-1] == "Lookahead audit"
    verdict = "PASSED" if report.passed else "FAILED"
    assert f"Lookahead audit {verdict}</p>" in text and html.escape(str(report)) in text


def test_audit_true_says_how_to_run_the_audit(sweep, tmp_path):
    with pytest.raises(ConfigError, match=r"ml4t\.audit\.lookahead\(sweep\.strategy, sweep\.bars, params=\{'fast'"):
        sweep.report(tmp_path / "sweep.html", audit=True)
    with pytest.raises(ConfigError, match="AuditReport"):
        sweep.report(tmp_path / "sweep.html", audit="yes")
    with pytest.raises(ConfigError, match="top must be an integer"):
        sweep.report(tmp_path / "sweep.html", top=0)
    with pytest.raises(ConfigError, match="max_points must be an integer of at least 4"):
        sweep.report(tmp_path / "sweep.html", max_points=2)
    with pytest.raises(ConfigError, match="did you mean 'sharpe_ratio'"):
        sweep.report(tmp_path / "sweep.html", metric="sharpe")
    with pytest.raises(ConfigError, match="does not exist") as info:
        sweep.report(tmp_path / "missing" / "sweep.html")
    assert info.value.argument == "path"
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_a_sweep_of_one_parameter_reports_a_line(tmp_path):
    strategy = VectorizedStrategy(
        lambda n: {
            "entries": pl.col("close") > pl.col("close").shift(n),
            "exits": pl.col("close") < pl.col("close").shift(n),
        }
    )
    one = strategy.sweep(synthetic_bars(1, 200, seed=5), n=[1, 2, 3, 5])
    text = one.report(tmp_path / "one.html").read_text()
    assert "Heatmap of sharpe_ratio over n" in sections(text)
    heat = figures(text)[1][0]
    assert {t["type"] for t in heat} == {"scatter"} and list(values(heat[0]["x"])) == [1, 2, 3, 5]


def test_a_2500_combination_sweep_report_is_a_few_mb(tmp_path):
    strategy = VectorizedStrategy(lambda fast, slow: sma_cross(fast, slow, 0.0), fees=0.001)
    big = strategy.sweep(synthetic_bars(2, 500, seed=2), fast=range(2, 52), slow=range(55, 105))
    assert len(big) == 2500
    path = big.report(tmp_path / "big.html")
    assert path.stat().st_size < 8_000_000
    heat = figures(path.read_text())[1][0]
    assert values(heat[0]["z"]).shape == (50, 50)


def test_descending_false_ranks_and_picks_the_lowest(sweep, tmp_path):
    text = sweep.report(tmp_path / "sweep.html", metric="annual_volatility", descending=False, top=2).read_text()
    calm = sweep.metrics.filter(pl.col("scope") == "portfolio").sort("annual_volatility").row(0, named=True)
    label = ", ".join(f"{p}={calm[p]!r}" for p in sweep.params)
    assert f"Best combination by annual_volatility: {label}" in sections(text)
    table = text.split("Top 2 combinations by annual_volatility")[1].split("</section>")[0]
    assert f"{calm['annual_volatility']:.6g}" in table.split("</tr>")[1]  # the first row, after the header
