"""One self-contained HTML file: the page every ml4t report is written as.

Contract: the file opens offline and alone. plotly.js is inlined once in the page's head (the copy shipped
with the installed ``plotly`` package, so the figures and the library that draws them always match); no
script, style sheet, font or image is fetched from anywhere. Each figure is a ``<div>`` plus a call to
``Plotly.newPlot`` with its JSON; each table is plain HTML. The file is written atomically (a temporary file
in the same directory, then a rename), so an interrupted write never leaves a half report behind.

A :class:`Page` is built from sections (``page.section(title, *items)``); an item is a plotly figure, a
Polars frame (drawn as a table, at most ``max_rows`` rows with the number left out said), a ``dict`` (a
two-column table of names and values), a ``str`` (a paragraph, escaped) or :class:`Html` (trusted markup).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

__all__ = ["Html", "Page"]

MAX_TABLE_ROWS = 200
"""Rows a table shows unless an item asks otherwise; the rest are counted, never dropped without saying."""

_STYLE = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 0; color: #1f2933;
       background: #f7f9fb; }
header { background: #102a43; color: #f0f4f8; padding: 18px 32px; }
header h1 { margin: 0; font-size: 22px; font-weight: 600; }
header p { margin: 4px 0 0; font-size: 13px; color: #bcccdc; }
main { padding: 8px 32px 40px; max-width: 1400px; }
section { background: #fff; border: 1px solid #d9e2ec; border-radius: 6px; margin: 18px 0; padding: 14px 18px; }
section h2 { font-size: 17px; margin: 0 0 10px; color: #243b53; }
p.note { font-size: 13px; color: #486581; margin: 6px 0; }
table.ml4t { border-collapse: collapse; font-size: 12.5px; margin: 6px 0; }
table.ml4t th, table.ml4t td { border-bottom: 1px solid #e4e7eb; padding: 3px 10px; text-align: right;
       white-space: nowrap; }
table.ml4t th { background: #f0f4f8; position: sticky; top: 0; }
table.ml4t td.text, table.ml4t th.text { text-align: left; }
div.scroll { max-height: 480px; overflow: auto; }
div.plot { width: 100%; }
.verdict-pass { color: #0e7c3a; font-weight: 600; }
.verdict-fail { color: #b42318; font-weight: 600; }
"""


@dataclass(frozen=True)
class Html:
    """Markup the caller vouches for (already escaped), placed in the page as is."""

    markup: str


@dataclass
class _Section:
    title: str
    items: tuple[Any, ...]
    note: str | None = None


@dataclass
class Page:
    """A report page: a title, a subtitle line, and sections in order; :meth:`write` makes the file."""

    title: str
    subtitle: str | None = None
    sections: list[_Section] = field(default_factory=list)

    def section(self, title: str, *items: Any, note: str | None = None) -> Page:
        """Append a section of ``items`` (see the module docstring) under ``title``; ``note`` is a line of
        small text under it. Returns the page, so calls chain."""
        self.sections.append(_Section(title, items, note))
        return self

    @property
    def n_figures(self) -> int:
        """How many figures the page draws (what a browser test expects to find rendered)."""
        return sum(1 for s in self.sections for item in s.items if _is_figure(item))

    def html(self) -> str:
        """The whole page as one string."""
        from plotly.offline import get_plotlyjs

        body: list[str] = []
        n_plot = 0
        for s in self.sections:
            parts = [f"<h2>{html.escape(s.title)}</h2>"]
            if s.note:
                parts.append(f'<p class="note">{html.escape(s.note)}</p>')
            for item in s.items:
                if _is_figure(item):
                    parts.append(_figure(item, f"ml4t-plot-{n_plot}"))
                    n_plot += 1
                else:
                    parts.append(_block(item))
            body.append("<section>" + "\n".join(parts) + "</section>")
        subtitle = f"<p>{html.escape(self.subtitle)}</p>" if self.subtitle else ""
        made = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        return (
            "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<meta name='generator' content='ml4t'><title>{html.escape(self.title)}</title>"
            f"<style>{_STYLE}</style><script type='text/javascript'>{get_plotlyjs()}</script></head>"
            f"<body><header><h1>{html.escape(self.title)}</h1>{subtitle}"
            f"<p>written by ml4t on {made}; opens offline (plotly.js inlined)</p></header>"
            f"<main data-figures='{n_plot}'>" + "\n".join(body) + "</main></body></html>"
        )

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the page to ``path`` atomically (a temporary file beside it, then a rename) and return the
        path. The directory must exist."""
        target = Path(path)
        text = self.html()
        # a fresh name opened exclusively, so the file gets open()'s usual permissions (mkstemp's are 0o600)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        try:
            with open(tmp, "x", encoding="utf-8") as out:
                out.write(text)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target


def _is_figure(item: Any) -> bool:
    return hasattr(item, "to_plotly_json") and hasattr(item, "layout")


def _figure(fig: Any, div_id: str) -> str:
    """A figure as a div and the script that draws it (responsive, no plotly logo, no external links)."""
    import plotly.io as pio

    spec = json.loads(pio.to_json(fig, validate=False))
    config = {"responsive": True, "displaylogo": False, "showLink": False, "showSendToCloud": False}
    height = spec.get("layout", {}).get("height") or 450
    # "</" inside a script would end it early (a tag or reason reading "</script>"): "<\/" is the same JSON
    payload = tuple(
        json.dumps(part).replace("</", "<\\/") for part in (spec.get("data", []), spec.get("layout", {}), config)
    )
    return (
        f"<div class='plot' id='{div_id}' style='height:{int(height)}px'></div>"
        f"<script type='text/javascript'>Plotly.newPlot('{div_id}', {payload[0]}, {payload[1]}, {payload[2]});"
        "</script>"
    )


def _block(item: Any) -> str:
    if isinstance(item, Html):
        return item.markup
    if isinstance(item, str):
        return f"<p>{html.escape(item)}</p>"
    if isinstance(item, pl.DataFrame):
        return table(item)
    if isinstance(item, Mapping):
        return table(pl.DataFrame({"name": list(map(str, item)), "value": [_text(v) for v in item.values()]}))
    raise TypeError(f"a report section cannot show a {type(item).__name__}")


def table(frame: pl.DataFrame, max_rows: int = MAX_TABLE_ROWS) -> str:
    """``frame`` as an HTML table (numbers right-aligned, 6 significant digits), the first ``max_rows`` rows
    with a line saying how many more there are."""
    shown = frame.head(max_rows)
    text_cols = {c for c, t in frame.schema.items() if not t.is_numeric()}
    head = "".join(f"<th class='{'text' if c in text_cols else ''}'>{html.escape(c)}</th>" for c in frame.columns)
    rows = []
    for row in shown.iter_rows():
        cells = "".join(
            f"<td class='{'text' if c in text_cols else ''}'>{html.escape(_text(v))}</td>"
            for c, v in zip(frame.columns, row, strict=True)
        )
        rows.append(f"<tr>{cells}</tr>")
    more = frame.height - shown.height
    tail = f"<p class='note'>{more:,} more rows not shown (of {frame.height:,}).</p>" if more > 0 else ""
    return f"<div class='scroll'><table class='ml4t'><tr>{head}</tr>{''.join(rows)}</table></div>{tail}"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return f"{value:.6g}"
    return str(value)
