"""README examples, the getting-started page and notebooks are executed in the test run, so the docs cannot
drift from the code; the notebooks are kept stripped and every one of them is a page of the docs site.

Code cells run in order in one namespace per document (no Jupyter kernel needed): a notebook cell or a
```python block that raises fails the test with the cell's number. `make docs` executes the notebooks again,
in a kernel, for the site.
"""

import importlib.util
import json
import linecache
import re
import sys
from pathlib import Path

import pytest

import ml4t.cache

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
_PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _run_cells(cells: list[str], name: str) -> None:
    namespace: dict[str, object] = {"__name__": f"docs:{name}"}
    for i, source in enumerate(cells, start=1):
        filename = f"{name}[cell {i}]"
        # as IPython does: the cell's source is in linecache, so tracebacks and the automatic linter read it
        linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
        code = compile(source, filename, "exec")
        exec(code, namespace)


@pytest.mark.filterwarnings("ignore::ml4t.errors.RejectionWarning")  # the all-in promotion example is refused cash
def test_readme_python_blocks_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples write reports and saved runs where a user would: the working folder
    monkeypatch.setenv("ML4T_CACHE_DIR", str(tmp_path / "cache"))  # the cache section configures the cache ...
    blocks = _PYTHON_BLOCK.findall((ROOT / "README.md").read_text())
    assert blocks, "README.md has no ```python examples"
    try:
        _run_cells(blocks, "README.md")
    finally:
        ml4t.cache._config._reset()  # ... and library calls of later tests must not use it


def test_getting_started_python_blocks_run():
    blocks = _PYTHON_BLOCK.findall((ROOT / "docs" / "getting-started.md").read_text())
    assert blocks, "docs/getting-started.md has no ```python examples"
    _run_cells(blocks, "getting-started.md")


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ has no .ipynb files"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path: Path):
    nb = json.loads(path.read_text())
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert cells, f"{path.name} has no code cells"
    # IPython magics and shell escapes cannot run outside a kernel; the notebooks must not use them.
    for i, src in enumerate(cells, start=1):
        assert not re.search(r"^\s*[%!]", src, re.MULTILINE), f"{path.name} cell {i} uses a magic or shell escape"
    _run_cells(cells, path.name)


# The notebooks the issues promised (#14: sweeps, promotion, benchmark), each on a multi-symbol panel.
REQUIRED_NOTEBOOKS = {"quickstart", "sweeps", "promotion", "benchmark", "portfolio", "ml_validation"}
# The public modules `make docs` documents (docs/api/<module>.md, one `::: module` each).
API_MODULES = (
    "ml4t", "ml4t.data", "ml4t.vectorized", "ml4t.event", "ml4t.metrics", "ml4t.audit", "ml4t.validate",
    "ml4t.report", "ml4t.costs", "ml4t.settings", "ml4t.errors", "ml4t.promotion", "ml4t.lint", "ml4t.config",
    "ml4t.cache", "ml4t.live",
)  # fmt: skip


def test_every_public_package_is_listed_for_an_api_page():
    packages = {
        f"ml4t.{p.parent.name}"
        for p in (ROOT / "python" / "ml4t").glob("*/__init__.py")
        if not p.parent.name.startswith("_")
    }
    assert packages <= set(API_MODULES), sorted(packages - set(API_MODULES))


def _code_cells(path: Path) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def test_the_promised_notebooks_exist():
    missing = REQUIRED_NOTEBOOKS - {p.stem for p in NOTEBOOKS}
    assert not missing, f"notebooks/ lacks {sorted(missing)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_outputs_are_stripped(path: Path):
    """Git holds the code, not a stale run: the docs build and the tests execute the notebooks themselves."""
    nb = json.loads(path.read_text())
    for i, cell in enumerate(nb["cells"], start=1):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name} cell {i} has outputs"
            assert cell.get("execution_count") is None, f"{path.name} cell {i} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_figures_are_displayed_not_shown(path: Path):
    """A figure is a cell's last expression: `.show()` would open a browser when run outside a notebook."""
    for i, src in enumerate(_code_cells(path), start=1):
        assert not re.search(r"\.show\(", src), f"{path.name} cell {i} calls .show()"


def _nav_targets() -> list[str]:
    text = (ROOT / "mkdocs.yml").read_text()
    return re.findall(r"^\s*-\s*(?:[^:\n]+:\s*)?(\S+\.(?:md|ipynb))\s*$", text, re.MULTILINE)


def test_every_notebook_is_a_docs_page():
    nav = _nav_targets()
    for path in NOTEBOOKS:
        assert f"notebooks/{path.name}" in nav, f"{path.name} is not in mkdocs.yml's nav"
    assert (ROOT / "docs" / "notebooks").resolve() == (ROOT / "notebooks").resolve()


@pytest.mark.parametrize("module", API_MODULES)
def test_every_public_module_has_an_api_page(module: str):
    page = ROOT / "docs" / "api" / f"{module}.md"
    assert page.exists(), f"no API page for {module}"
    assert re.search(rf"^::: {re.escape(module)}$", page.read_text(), re.MULTILINE)
    assert f"api/{module}.md" in _nav_targets()


def _hooks():
    """docs/_hooks.py, the mkdocs hooks that turn the README into the user guide's pages."""
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "_hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_every_readme_section_is_a_guide_page_titled_by_its_heading():
    hooks = _hooks()
    readme = (ROOT / "README.md").read_text()
    intro, sections = hooks.readme_sections(readme)
    titles = [line[3:].strip() for line in re.sub(r"^```.*?^```", "", readme, flags=re.M | re.S).splitlines()
              if line.startswith("## ")]  # fmt: skip
    assert [s.title for s in sections] == titles
    assert intro.startswith("# ")
    for section in sections:
        assert section.text.startswith(f"# {section.title}\n")
        assert section.uri == f"guide/{section.slug}.md"
    assert intro + "".join("#" + s.text for s in sections) == readme  # nothing lost, nothing added


def test_readme_links_point_at_pages_of_the_site():
    hooks = _hooks()
    _, sections = hooks.readme_sections((ROOT / "README.md").read_text())
    pages = {s.uri for s in sections}
    for section in sections:
        text = hooks._rewrite(section.text, sections, section.uri)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if "://" in target:
                continue
            path = target.partition("#")[0]
            assert path.startswith("../"), (section.title, target)
            uri = path[len("../") :]
            assert uri in pages or (ROOT / "docs" / uri).exists(), (section.title, target)
    portfolios = next(s for s in sections if s.title.startswith("Cross-sectional portfolios"))
    link = f"](#{portfolios.slug})"
    holder = next(s for s in sections if link in s.text)
    assert f"](../{portfolios.uri})" in hooks._rewrite(holder.text, sections, holder.uri)
