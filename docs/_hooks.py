"""mkdocs hooks of ml4t's docs site (`make docs`): the README as pages, plotly.js served locally.

The README is the project's front page and stays the one copy of its text: each of its `## ` sections becomes
a page under `guide/` at build time (nothing is copied into `docs/`), its links rewritten for the new place
(an anchor of another section points to that section's page; `docs/x.md` to `x.md`; `notebooks/` stays
`notebooks/`, the symlink `docs/notebooks` that also lets mkdocs-jupyter render them). The section list is
also the "User guide" part of the navigation, so a new README section is a new page with no edit here.

The docstrings' Sphinx roles (``:func:`x` ``) show as the code they name (`on_page_content`).

The site opens offline and asks no CDN, and the build checks it (`on_post_page`): a page that would load a
script or a stylesheet from another host is an error. The notebooks' plotly figures are the HTML fragments of
plotly's `sphinx_gallery` renderer (`PLOTLY_RENDERER`, inherited by the kernel that mkdocs-jupyter starts);
the script they need is the installed plotly's own `plotly.min.js`, served from `assets/plotly.min.js` and
loaded in the head of notebook pages (`_overrides/main.html`). The script tags that point elsewhere on a
notebook page (plotly's CDN copy before each figure, and the MathJax that nbconvert's template and plotly add
for LaTeX, which these notebooks do not use) are dropped.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
GUIDE = "guide"
PLOTLY_JS = "assets/plotly.min.js"
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_REMOTE_SCRIPT = re.compile(r"<script\b[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>\s*</script>")
_REMOTE_RESOURCE = re.compile(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=\"(https?://[^\"]*)\"")
# a Sphinx role in a docstring (:func:`ml4t.metrics.summary`, :meth:`~Bars.until`), as rendered: just the code
_SPHINX_ROLE = re.compile(r":(?:attr|class|data|exc|func|meth|mod|obj):(<code>)~?")
log = logging.getLogger("mkdocs.hooks.ml4t")


@dataclass(frozen=True)
class Section:
    title: str
    slug: str
    text: str

    @property
    def uri(self) -> str:
        return f"{GUIDE}/{self.slug}.md"


def slugify(title: str) -> str:
    """The anchor GitHub and mkdocs' toc give a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return text.replace(" ", "-")


def readme_sections(text: str) -> tuple[str, list[Section]]:
    """The README's introduction (before the first `## `) and its `## ` sections, fenced code respected."""
    parts: list[tuple[str, list[str]]] = [("", [])]
    fenced = False
    for line in text.splitlines(keepends=True):
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            parts.append((line[3:].strip(), []))
        parts[-1][1].append(line)
    intro = "".join(parts[0][1])
    # each section is a page: its heading is the page's title (h1), the rest keeps its levels
    sections = [Section(title, slugify(title), "#" + "".join(lines)[2:]) for title, lines in parts[1:]]
    return intro, sections


def _rewrite(text: str, sections: list[Section], here: str) -> str:
    """Links of README text placed at `here` (a docs URI), pointed at their new places."""
    page_of = {s.slug: s.uri for s in sections}
    up = "../" * here.count("/")

    def fix(match: re.Match[str]) -> str:
        target = match.group(1)
        if "://" in target or target.startswith("mailto:"):
            return match.group(0)
        if target.startswith("#"):
            anchor = target[1:]
            if anchor in page_of:  # a section's own heading: its page
                return f"]({up}{page_of[anchor]})"
            holder = next((s for s in sections if _holds(s, anchor)), None)  # a heading inside a section
            return f"]({up}{holder.uri if holder else here}{target})"
        if target.startswith("docs/"):
            target = target[len("docs/") :]
        return f"]({up}{target})"

    return _LINK.sub(fix, text)


def _holds(section: Section, anchor: str) -> bool:
    return any(slugify(h) == anchor for h in re.findall(r"^#+ (.*)$", section.text, re.M))


def on_config(config: Any) -> Any:
    os.environ["PLOTLY_RENDERER"] = "sphinx_gallery"  # never a user's "browser": the build opens nothing
    os.environ["ML4T_PROGRESS"] = "0"  # a progress bar is transient: no widget output in a page
    _, sections = readme_sections(README.read_text())
    guide = [{"Overview": f"{GUIDE}/index.md"}] + [{s.title: s.uri} for s in sections]
    config["nav"] = [{"User guide": guide} if entry == "User guide" else entry for entry in config["nav"]]
    return config


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    intro, sections = readme_sections(README.read_text())
    overview = f"{GUIDE}/index.md"
    files.append(File.generated(config, overview, content=_rewrite(intro, sections, overview)))
    for section in sections:
        files.append(File.generated(config, section.uri, content=_rewrite(section.text, sections, section.uri)))
    import plotly

    bundled = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    files.append(File.generated(config, PLOTLY_JS, abs_src_path=str(bundled)))
    return files


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    return _SPHINX_ROLE.sub(r"\1", html) if page.file.src_uri.startswith("api/") else html


def on_post_page(output: str, page: Any, config: Any) -> str:
    if page.file.src_uri.endswith(".ipynb"):
        output = _REMOTE_SCRIPT.sub("", output)
    for url in _REMOTE_RESOURCE.findall(output):
        log.warning("%s loads %s: the site must open offline", page.file.src_uri, url)
    return output
