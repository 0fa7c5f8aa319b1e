"""The package's architecture, read from its source: every import (at the top, inside functions, under
``TYPE_CHECKING``) of every module of ``ml4t``.

- no import cycle anywhere in the package;
- the modes do not know each other: ``ml4t.vectorized`` never imports ``ml4t.event``, nor the reverse;
  promotion (``ml4t.promotion``) sits above both and imports ``event``, never ``vectorized``;
- nobody outside ``ml4t.data`` reads a private attribute of ``Bars`` or ``Signals``.
"""

import ast
from pathlib import Path

import pytest

import ml4t
from ml4t.data import Bars, Signals

ROOT = Path(ml4t.__file__).parent


def _module_name(path: Path) -> str:
    parts = ("ml4t", *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _trees() -> dict[str, ast.Module]:
    return {_module_name(p): ast.parse(p.read_text(), str(p)) for p in sorted(ROOT.rglob("*.py"))}


TREES = _trees()
EXTENSIONS = {"ml4t." + p.name.split(".")[0] for p in ROOT.glob("*.so")} | {"ml4t._core"}


def _imports(name: str, tree: ast.Module) -> set[str]:
    """The ml4t modules ``name`` imports anywhere in its source (a ``from X import y`` counts ``X.y`` when
    that is a module, else ``X``)."""
    package = name if (ROOT / Path(*name.split(".")[1:]) / "__init__.py").exists() else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
            for alias in node.names:
                full = f"{base}.{alias.name}"
                out.add(full if full in TREES or full in EXTENSIONS else base)
    return {m for m in out if m.startswith("ml4t")} - {name}


GRAPH = {name: _imports(name, tree) for name, tree in TREES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_import_reader_sees_imports_inside_functions():
    # Sweep.promote imports ml4t.promotion lazily, inside the method: the reader must count it
    assert any(_in(m, "ml4t.promotion") for m in GRAPH["ml4t.vectorized._strategy"])


def test_the_modes_and_promotion_have_no_import_cycle():
    rooms = ("ml4t.vectorized", "ml4t.event", "ml4t.promotion", "ml4t._kernel", "ml4t.settings")
    assert [c for c in _cycles(GRAPH) if any(_in(m, r) for m in c for r in rooms)] == []


def test_the_package_has_no_import_cycle():
    assert _cycles(GRAPH) == []


@pytest.mark.parametrize(
    ("room", "forbidden"),
    [("ml4t.vectorized", "ml4t.event"), ("ml4t.event", "ml4t.vectorized"), ("ml4t.promotion", "ml4t.vectorized")],
)
def test_a_room_does_not_import_another(room, forbidden):
    found = sorted(
        (name, m) for name, imports in GRAPH.items() if _in(name, room) for m in imports if _in(m, forbidden)
    )
    assert found == []


def _private_names(*classes: type) -> set[str]:
    """The private (single underscore) attributes of the classes: methods, class attributes and the
    ``self._x`` their modules' sources assign."""
    names = {n for cls in classes for n in vars(cls) if n.startswith("_") and not n.startswith("__")}
    for name, tree in TREES.items():
        if name in {cls.__module__ for cls in classes}:
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.ctx, ast.Store)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "self"
                    and node.attr.startswith("_")
                    and not node.attr.startswith("__")
                ):
                    names.add(node.attr)
    return names


def test_the_private_reader_finds_the_data_layers_own_privates():
    assert "_frame" in _private_names(Bars, Signals)


def test_nobody_outside_the_data_layer_reads_a_private_attribute_of_bars_or_signals():
    private = _private_names(Bars, Signals)
    found = sorted(
        (name, node.lineno, node.attr)
        for name, tree in TREES.items()
        if not _in(name, "ml4t.data")
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in private
        and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
    )
    assert found == []


def test_the_cache_is_a_leaf_layer_that_imports_nothing_above_the_data_layer():
    allowed = ("ml4t.cache", "ml4t.errors", "ml4t._validate", "ml4t._version", "ml4t._ns", "ml4t.data")
    found = sorted(
        (name, m)
        for name, imports in GRAPH.items()
        if _in(name, "ml4t.cache")
        for m in imports
        if not any(_in(m, a) for a in allowed)
    )
    assert found == []
    assert any(_in(name, "ml4t.cache") for name in GRAPH)
