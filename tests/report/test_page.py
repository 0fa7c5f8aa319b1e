"""The one-file report page (ml4t.report.Page): offline, escaped, tables that say what they leave out,
written atomically."""

import re

import plotly.graph_objects as go
import polars as pl
import pytest

from ml4t.report import Html, Page
from ml4t.report._page import table


def _page() -> Page:
    fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2], name="line"))
    return (
        Page("Run <1>", "sub & title")
        .section("Figures", fig, fig, note="two of them")
        .section("Tables", pl.DataFrame({"metric": ["a", "b"], "value": [1.0, float("nan")]}), {"k": 0.5}, "x < y")
    )


def test_the_page_inlines_plotly_and_fetches_nothing():
    text = _page().html()
    # no script, style sheet or image is loaded from anywhere: every <script> is inline
    assert not re.search(r"<script[^>]*\bsrc=", text)
    assert not re.search(r"<link[^>]*\bhref=", text)
    assert not re.search(r"<img[^>]*\bsrc=['\"]?https?:", text)
    assert "Plotly.newPlot('ml4t-plot-0'" in text
    assert "Plotly.newPlot('ml4t-plot-1'" in text
    assert "data-figures='2'" in text
    assert _page().n_figures == 2


def test_text_is_escaped_and_numbers_are_formatted():
    text = _page().html()
    assert "Run &lt;1&gt;" in text
    assert "sub &amp; title" in text
    assert "x &lt; y" in text
    assert ">NaN<" in text
    assert ">0.5<" in text


def test_a_long_table_says_how_many_rows_it_leaves_out():
    html = table(pl.DataFrame({"i": range(250)}), max_rows=200)
    assert html.count("<tr>") == 201  # the header and 200 rows
    assert "50 more rows not shown (of 250)" in html
    assert "more rows" not in table(pl.DataFrame({"i": range(5)}))


def test_unknown_items_are_refused():
    with pytest.raises(TypeError, match="cannot show a set"):
        Page("x").section("s", {1, 2}).html()


def test_write_is_atomic(tmp_path, monkeypatch):
    path = _page().write(tmp_path / "r.html")
    assert path.read_text().startswith("<!DOCTYPE html>")
    plain = tmp_path / "plain"
    plain.write_text("")  # the permissions open() gives a new file: the report gets the same, not 0o600
    assert path.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777
    plain.unlink()
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]

    def interrupted(src, dst):  # the file is written, then Ctrl-C arrives before the rename
        raise KeyboardInterrupt

    monkeypatch.setattr("ml4t.report._page.os.replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        Page("y").write(tmp_path / "other.html")
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_trusted_markup_is_kept_as_is():
    assert "<b>bold</b>" in Page("x").section("s", Html("<b>bold</b>")).html()
