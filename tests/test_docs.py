"""README examples and notebooks are executed in the test run, so the docs cannot drift from the code.

Code cells run in order in one namespace per document (no Jupyter kernel needed): a notebook cell or a
README ```python block that raises fails the test with the cell's number.
"""

import json
import linecache
import re
from pathlib import Path

import pytest

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
def test_readme_python_blocks_run():
    blocks = _PYTHON_BLOCK.findall((ROOT / "README.md").read_text())
    assert blocks, "README.md has no ```python examples"
    _run_cells(blocks, "README.md")


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
