"""``Sweep.heatmap`` / ``Sweep.heatmap_data``: every cell against a plain-Python aggregation of
``sweep.metrics`` rows, every neighbourhood against a plain loop over the grid, the marked cells against the
reference's argmax, and the figure's z values against the reference (issue #14)."""

from __future__ import annotations

import math
import statistics
from types import SimpleNamespace
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml4t._kernel.signals import Grid
from ml4t.datasets import synthetic_bars
from ml4t.errors import ConfigError
from ml4t.report._sweep import heatmap_data
from ml4t.vectorized import VectorizedStrategy


def gated_cross(fast: int, slow: int, gate: str) -> dict[str, pl.Expr]:
    """An SMA crossover; ``gate="off"`` never enters, so its rows have no trade and a NaN Sharpe ratio."""
    f, s = pl.col("close").rolling_mean(fast), pl.col("close").rolling_mean(slow)
    on = pl.lit(gate == "on")
    return {"entries": (f > s) & on, "exits": f < s}


@pytest.fixture(scope="module")
def sweep():
    strategy = VectorizedStrategy(gated_cross, fees=0.001, init_cash=100_000)
    # slow given unsorted, gate as categories in a chosen order: the axes must show 5, 10, 20 and on, off
    return strategy.sweep(synthetic_bars(3, 300, seed=3), fast=[2, 4, 6, 8], slow=[20, 5, 10], gate=["on", "off"])


def _agg(values: list[float], agg: str) -> float:
    numbers = [v for v in values if not math.isnan(v)]
    if not numbers:
        return math.nan
    return {"median": statistics.median, "mean": statistics.fmean, "max": max, "min": min}[agg](numbers)


def reference(rows: list[dict[str, Any]], x: str, y: str, metric: str, agg: str, xs: list, ys: list) -> dict:
    """Cell values, counts and 3x3 neighbourhood stats, from the rows' dicts, by plain loops."""
    cells = {}
    for i, xv in enumerate(xs):
        for j, yv in enumerate(ys):
            values = [
                float("nan") if r[metric] is None else float(r[metric]) for r in rows if r[x] == xv and r[y] == yv
            ]
            cells[i, j] = (_agg(values, agg), sum(not math.isnan(v) for v in values), sum(map(math.isnan, values)))
    out = {}
    for (i, j), (value, n, n_nan) in cells.items():
        near = [
            cells[a, b][0]
            for a in range(i - 1, i + 2)
            for b in range(j - 1, j + 2)
            if (a, b) in cells and not math.isnan(cells[a, b][0])
        ]
        if math.isnan(value):
            stats = (math.nan, math.nan, math.nan, math.nan, 0)
        else:
            mean = sum(near) / len(near)
            std = math.sqrt(sum((v - mean) ** 2 for v in near) / len(near))
            stats = (mean, min(near), max(near), std, len(near))
        out[xs[i], ys[j]] = (value, n, n_nan, *stats)
    return out


COLUMNS = (
    "n_rows",
    "n_nan",
    "neighbourhood_mean",
    "neighbourhood_min",
    "neighbourhood_max",
    "neighbourhood_std",
    "neighbourhood_n",
)


def _check(data: pl.DataFrame, ref: dict, x: str, y: str, metric: str) -> None:
    assert data.height == len(ref)
    for row in data.iter_rows(named=True):
        expected = ref[row[x], row[y]]
        got = (row[metric], *(row[c] for c in COLUMNS))
        np.testing.assert_allclose(
            np.array(got, dtype=float), np.array(expected, dtype=float), rtol=1e-12, atol=1e-12, equal_nan=True
        )


@pytest.mark.parametrize("agg", ["median", "mean", "max", "min"])
@pytest.mark.parametrize(("x", "y"), [("fast", "slow"), ("slow", "gate")])
def test_cells_and_neighbourhoods_match_a_plain_aggregation_of_the_metrics_rows(sweep, agg, x, y):
    rows = sweep.metrics.filter(pl.col("scope") == "portfolio").to_dicts()
    xs = {"fast": [2, 4, 6, 8], "slow": [5, 10, 20], "gate": ["on", "off"]}
    data = sweep.heatmap_data(x, y, agg=agg)
    assert data[x].unique(maintain_order=True).to_list() == xs[x]
    assert data[y].head(len(xs[y])).to_list() == xs[y]
    _check(data, reference(rows, x, y, "sharpe_ratio", agg, xs[x], xs[y]), x, y, "sharpe_ratio")


def test_symbol_scope_aggregates_over_symbols_too(sweep):
    rows = sweep.metrics.filter(pl.col("scope") == "symbol").to_dicts()
    data = sweep.heatmap_data("fast", "slow", "total_return", agg="mean", scope="symbol")
    ref = reference(rows, "fast", "slow", "total_return", "mean", [2, 4, 6, 8], [5, 10, 20])
    _check(data, ref, "fast", "slow", "total_return")
    assert set(data["n_rows"]) == {2 * 3}  # 2 gates x 3 symbols per cell


def test_rows_without_a_number_stay_nan_cells_never_zero(sweep):
    data = sweep.heatmap_data("gate", "fast")
    off = data.filter(pl.col("gate") == "off")
    assert off["sharpe_ratio"].is_nan().all()
    assert (off["n_rows"] == 0).all() and (off["n_nan"] == 3).all()
    assert off["neighbourhood_min"].is_nan().all() and (off["neighbourhood_n"] == 0).all()
    on = data.filter(pl.col("gate") == "on")
    assert not on["sharpe_ratio"].is_nan().any()
    assert (on["neighbourhood_n"] <= 3).all()  # the NaN neighbours of the "off" column are left out


def test_the_figure_draws_the_reference_and_marks_the_best_and_the_most_robust_cell(sweep):
    rows = sweep.metrics.filter(pl.col("scope") == "portfolio").to_dicts()
    xs, ys = [2, 4, 6, 8], [5, 10, 20]
    ref = reference(rows, "fast", "slow", "sharpe_ratio", "median", xs, ys)
    fig = sweep.heatmap("fast", "slow")
    heat = [t for t in fig.data if t.type == "heatmap"]
    assert len(heat) == 2
    assert list(heat[0].x) == xs and list(heat[0].y) == ys
    z = np.array([[ref[xv, yv][0] for xv in xs] for yv in ys])
    worst = np.array([[ref[xv, yv][4] for xv in xs] for yv in ys])
    np.testing.assert_allclose(np.array(heat[0].z, dtype=float), z, rtol=1e-12)
    np.testing.assert_allclose(np.array(heat[1].z, dtype=float), worst, rtol=1e-12)
    assert "neighbourhood" in fig.layout.annotations[1].text and "plateau" in fig.layout.annotations[1].text
    cells = [(xv, yv) for xv in xs for yv in ys]  # grid order: ties go to the first
    best = max(cells, key=lambda c: (ref[c][0], -cells.index(c)))
    robust = max(cells, key=lambda c: (ref[c][4], -cells.index(c)))
    marks = {t.name: (t.x[0], t.y[0]) for t in fig.data if t.type == "scatter" and t.showlegend}
    assert marks == {"best cell": best, "most robust cell": robust}
    assert all("neighbourhood" in t.hovertemplate for t in fig.data)
    assert [a.type for a in (fig.layout.xaxis, fig.layout.yaxis)] == ["category", "category"]


def test_descending_false_marks_the_lowest_and_uses_the_neighbourhood_max(sweep):
    data = sweep.heatmap_data("fast", "slow", "annual_volatility")
    fig = sweep.heatmap("fast", "slow", "annual_volatility", descending=False)
    marks = {t.name: (t.x[0], t.y[0]) for t in fig.data if t.type == "scatter" and t.showlegend}
    low = data.row(int(np.argmin(data["annual_volatility"].to_numpy())), named=True)
    calm = data.row(int(np.argmin(data["neighbourhood_max"].to_numpy())), named=True)
    assert marks == {"best cell": (low["fast"], low["slow"]), "most robust cell": (calm["fast"], calm["slow"])}


def test_deflated_sharpe_can_be_the_metric(sweep):
    data = sweep.heatmap_data("fast", "slow", "deflated_sharpe", agg="max")
    rows = sweep.metrics.filter(pl.col("scope") == "portfolio")
    dsr = rows.with_columns(pl.Series("deflated_sharpe", sweep.overfitting().dsr)).to_dicts()
    _check(
        data,
        reference(dsr, "fast", "slow", "deflated_sharpe", "max", [2, 4, 6, 8], [5, 10, 20]),
        "fast",
        "slow",
        "deflated_sharpe",
    )


def test_without_y_the_metric_is_a_line_over_x(sweep):
    data = sweep.heatmap_data("slow")
    rows = sweep.metrics.filter(pl.col("scope") == "portfolio").to_dicts()
    for r in rows:
        r["_"] = 0
    ref = reference(rows, "slow", "_", "sharpe_ratio", "median", [5, 10, 20], [0])
    assert data["slow"].to_list() == [5, 10, 20]
    for row in data.iter_rows(named=True):
        assert row["neighbourhood_n"] == ref[row["slow"], 0][7]
        np.testing.assert_allclose(row["neighbourhood_min"], ref[row["slow"], 0][4], rtol=1e-12)
    fig = sweep.heatmap("slow")
    lines = [t for t in fig.data if t.type == "scatter" and t.mode == "lines+markers"]
    assert [list(t.x) for t in lines] == [[5, 10, 20]] * 2
    np.testing.assert_allclose(np.array(lines[0].y, dtype=float), data["sharpe_ratio"].to_numpy(), rtol=1e-12)


def test_a_sweep_of_one_parameter_draws_a_line():
    strategy = VectorizedStrategy(
        lambda n: {
            "entries": pl.col("close") > pl.col("close").shift(n),
            "exits": pl.col("close") < pl.col("close").shift(n),
        }
    )
    one = strategy.sweep(synthetic_bars(1, 200, seed=5), n=[3, 1, 2])
    fig = one.heatmap("n")
    assert not [t for t in fig.data if t.type == "heatmap"]
    assert list(fig.data[0].x) == [1, 2, 3]
    assert one.heatmap_data("n")["n_rows"].to_list() == [1, 1, 1]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda s: s.heatmap("fats", "slow"),
            r"x='fats' is not a parameter.*\['fast', 'slow', 'gate'\].*did you mean 'fast'",
        ),
        (lambda s: s.heatmap("fast", "solw"), r"y='solw'.*did you mean 'slow'"),
        (lambda s: s.heatmap("fast", "fast"), r"x and y are both 'fast'"),
        (lambda s: s.heatmap("fast", "slow", "sharpe"), r"unknown metric 'sharpe'.*did you mean 'sharpe_ratio'"),
        (lambda s: s.heatmap("fast", "slow", agg="average"), r"agg must be one of"),
        (lambda s: s.heatmap_data("fast", "slow", scope="all"), r"scope must be one of"),
    ],
)
def test_bad_arguments_are_config_errors_naming_them(sweep, call, match):
    with pytest.raises(ConfigError, match=match):
        call(sweep)


def test_symbol_scope_without_symbol_rows_says_why():
    strategy = VectorizedStrategy(gated_cross, cash_sharing=True)
    shared = strategy.sweep(synthetic_bars(2, 120, seed=1), fast=[2, 3], slow=[5, 8], gate="on")
    with pytest.raises(ConfigError, match="no 'symbol' rows") as info:
        shared.heatmap("fast", "slow", scope="symbol")
    assert info.value.argument == "scope"


@settings(max_examples=60)
@given(
    nx=st.integers(1, 5),
    ny=st.integers(1, 5),
    nz=st.integers(1, 3),
    agg=st.sampled_from(["median", "mean", "max", "min"]),
    data=st.data(),
)
def test_property_any_grid_matches_the_plain_reference(nx, ny, nz, agg, data):
    values = st.one_of(st.just(math.nan), st.floats(-5, 5, allow_nan=False))
    grid = Grid(("a", "b", "c"), [(i, j, k) for i in range(nx) for j in range(ny) for k in range(nz)])
    metric = data.draw(st.lists(values, min_size=len(grid.combos), max_size=len(grid.combos)))
    frame = pl.DataFrame(
        {
            "a": [c[0] for c in grid.combos],
            "b": [c[1] for c in grid.combos],
            "c": [c[2] for c in grid.combos],
            "scope": ["portfolio"] * len(metric),
            "symbol": pl.Series([None] * len(metric), dtype=pl.String),
            "sharpe_ratio": metric,
        }
    )
    fake = SimpleNamespace(grid=grid, metrics=frame)
    out = heatmap_data(fake, "b", "a", agg=agg)
    _check(
        out,
        reference(frame.to_dicts(), "b", "a", "sharpe_ratio", agg, list(range(ny)), list(range(nx))),
        "b",
        "a",
        "sharpe_ratio",
    )
