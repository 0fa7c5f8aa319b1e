"""The config loader (ml4t.config.load / loads): every problem at once with its file, line, key path and close
match, in TOML, YAML and JSON; overrides from ``--set`` and ``ML4T__...`` variables and their precedence;
nothing in a config ever runs; and two properties over generated valid configs: the resolved dict loads back
to itself, and one unknown key anywhere is exactly one problem naming it."""

from __future__ import annotations

import json
import sys
import textwrap
import tomllib
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.config.strategies import configs, toml_document

from ml4t.config import ConfigFileError, load, loads
from ml4t.config._load import key_lines, line_of, parse_assignment
from ml4t.config._locate import json_lines, toml_lines
from ml4t.errors import ConfigError
from ml4t.settings import EngineSettings, VectorizedSettings

BASE = """\
[data]
synthetic = { n_assets = 3, n_bars = 200 }
[strategy]
rules.entries = "sma(close, fast) > sma(close, slow)"
rules.exits = "sma(close, fast) < sma(close, slow)"
params = { fast = 5, slow = 20 }
"""


def problems(text: str, **kwargs: Any) -> list[tuple[int | None, str, str]]:
    """``(line, key path, message)`` of every problem ``loads`` reports (fails if it loads)."""
    with pytest.raises(ConfigFileError) as caught:
        loads(text, **kwargs)
    return [(p.line, p.path, p.message) for p in caught.value.problems]


def where(text: str, **kwargs: Any) -> set[tuple[int | None, str]]:
    return {(line, path) for line, path, _ in problems(text, **kwargs)}


# ----------------------------------------------------------------------------------- every problem at once
BAD_TOML = """\
nmae = "x"                                            # 1
[data]
synthetic = { n_assets = 0, n_bars = 200, sed = 1 }   # 3
label = "rigth"
[strategy]
rules.entries = "shift(-1)"                           # 6
rules.exits = "lag(close, -1)"
rules.size = '__import__("os")'
rules.weights = "close.shift(-1)"
rules.sl_stop = "foo(close)"                          # 10
rules.entires = "close > 1"
params = { fast = 5, slow = [20] }
[settings]
fess = 0.001                                          # 14
execution = "tomorrow"
commission = { model = "Percnt", rate = 0.001 }
[sweep]
grid.fast = []                                        # 18
metric = 3
"""

EXPECTED = {
    (1, "nmae", "did you mean 'name'?"),
    (3, "data.synthetic.n_assets", ">= 1, got 0"),
    (3, "data.synthetic.sed", "did you mean 'seed'?"),
    (4, "data.label", "did you mean 'right'?"),
    (6, "strategy.rules.entries", "unknown function 'shift'"),
    (7, "strategy.rules.exits", "a negative lag reads the future"),
    (8, "strategy.rules.size", "names starting with '_' are refused"),
    (9, "strategy.rules.weights", "lag(x, k) with k >= 0 reads earlier ones"),
    (10, "strategy.rules.sl_stop", "unknown function 'foo'"),
    (11, "strategy.rules.entires", "did you mean 'entries'?"),
    (12, "strategy.params.slow", "got [20]"),
    (14, "settings.fess", "did you mean 'fees'?"),
    (15, "settings.execution", "'tomorrow'"),
    (16, "settings.commission", "did you mean 'Percent'?"),
    (18, "sweep.grid.fast", "at least one value"),
    (19, "sweep.metric", "expected `str`, got 3"),
}


def assert_expected(found: list[tuple[int | None, str, str]]) -> None:
    assert {(line, path) for line, path, _ in found} == {(line, path) for line, path, _ in EXPECTED}
    for line, path, fragment in EXPECTED:
        (message,) = [m for n, p, m in found if (n, p) == (line, path)]
        assert fragment in message, (path, message)


def test_every_bad_key_at_once_with_its_line_path_and_close_match():
    found = problems(BAD_TOML)
    assert len(found) == len(EXPECTED)
    assert_expected(found)


def test_the_error_names_the_file_and_lists_every_problem(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(BAD_TOML)
    with pytest.raises(ConfigFileError) as caught:
        load(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: {len(EXPECTED)} problems")
    assert f"{path}:14: settings.fess: unknown setting 'fess'; did you mean 'fees'?" in text
    assert isinstance(caught.value, ConfigError)


def test_the_same_problems_in_yaml_on_their_yaml_lines():
    text = textwrap.dedent(
        """\
        nmae: x
        data:
          synthetic: {n_assets: 0, n_bars: 200,
                      sed: 1}
          label: rigth
        strategy:
          rules:
            entries: shift(-1)
            exits: lag(close, -1)
            size: __import__("os")
            weights: close.shift(-1)
            sl_stop: foo(close)
            entires: close > 1
          params: {fast: 5, slow: [20]}
        settings:
          fess: 0.001
          execution: tomorrow
          commission: {model: Percnt, rate: 0.001}
        sweep:
          grid:
            fast: []
          metric: 3
        """
    )
    found = problems(text, format="yaml")
    lines = {path: line for line, path, _ in found}
    assert lines == {
        "nmae": 1,
        "data.synthetic.n_assets": 3,
        "data.synthetic.sed": 4,
        "data.label": 5,
        "strategy.rules.entries": 8,
        "strategy.rules.exits": 9,
        "strategy.rules.size": 10,
        "strategy.rules.weights": 11,
        "strategy.rules.sl_stop": 12,
        "strategy.rules.entires": 13,
        "strategy.params.slow": 14,
        "settings.fess": 16,
        "settings.execution": 17,
        "settings.commission": 18,
        "sweep.grid.fast": 21,
        "sweep.metric": 22,
    }


@pytest.mark.parametrize(
    ("section", "typo", "meant"),
    [
        ("[[signals]]\npath = 'p.csv'", "ts_arival", "ts_arrival"),
        ("[sweep]\ngrid.fast = [5]", "metrc", "metric"),
        ("[validation]", "walkforward", "walk_forward"),
        ("[sweep]\ngrid.fast = [5]\n[validation.walk_forward]\ntrain = 100\ntest = 20", "purg", "purge"),
        ("[audit]", "cut", "cuts"),
        ("[report]", "titel", "title"),
        ("[executor]", "chunksize", "chunk_size"),
        ("[promote]", "acount", "account"),
        ("[settings]", "init_cahs", "init_cash"),
        ("[strategy.params]", "", ""),  # params are free: no key is unknown there
        ("", "rules.exit", "exits"),  # still in [strategy]
        ("[data.synthetic]", "n_asset", "n_assets"),
    ],
)
def test_an_unknown_key_in_each_section_gets_its_close_match(section, typo, meant):
    base = '[data]\nsynthetic = {}\n[strategy]\nrules.entries = "close > fast"\n'  # the rule reads `fast`
    if "synthetic" in section:
        base = base.replace("synthetic = {}\n", "")
    text = base + section + f"\n{typo or 'fast'} = 1\n"
    if not typo:
        assert loads(text).config.strategy.params == {"fast": 1}
        return
    (found,) = problems(text)
    assert found[0] == text.splitlines().index(f"{typo} = 1") + 1
    assert found[2].endswith(f"did you mean {meant!r}?"), found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # comments holding "=", brackets and quotes never move the locator
        ('# fees = 1 [ "\n[data] # ]]\nsynthetic = {}\nbad = 1\n', {(4, "data.bad")}),
        # "#" and brackets inside strings
        ('[data]\nsynthetic = {}\ntz = "a # [ {"\nbad = 1 # [\n', {(4, "data.bad")}),
        ("[data]\nsynthetic = {}\ntz = 'x [[ y'\nbad = 1\n", {(4, "data.bad")}),
        ('[data]\nsynthetic = {}\ntz = "esc \\" ["\nbad = 1\n', {(4, "data.bad")}),
        # a multi-line string whose lines look like headers and keys
        ('[data]\nsynthetic = {}\ntz = """\n[strategy]\nbad = 1\n"""\nbad = 2\n', {(7, "data.bad")}),
        ("[data]\nsynthetic = {}\ntz = '''\n[x]\n'''\nbad = 2\n", {(6, "data.bad")}),
        # multi-line arrays, with comments and nested brackets
        ('[data]\nsynthetic = {}\nuniverse = [\n  "A", # ]\n  "B",\n]\nbad = 1\n', {(7, "data.bad")}),
        ('[data]\nsynthetic = {}\nuniverse = [\n  "A",\n  2,\n]\n', {(5, "data.universe.1")}),
        # quoted and dotted keys, inline tables, nested inline tables
        ('[data]\n"synthetic" = {}\n"b a d" = 1\n', {(3, "data.b a d")}),
        ('[data]\nsynthetic.n_assets = 2\nsynthetic . "sed" = 1\n', {(3, "data.synthetic.sed")}),
        ("[data]\nsynthetic = { n_assets = 2,\tseed = 1, bad = 0 }\n", {(2, "data.synthetic.bad")}),
        ('data = { synthetic = { bad = 1 } }\n[strategy]\nrules.entries = "close > 1"\n', {(1, "data.synthetic.bad")}),
        # arrays of tables count their items
        (
            '[data]\nsynthetic = {}\n[[signals]]\npath = "a"\n\n[[signals]]\npath = "b"\nbad = 1\n',
            {(8, "signals.1.bad")},
        ),
    ],
)
def test_the_line_locator_on_awkward_toml(text, expected):
    if "rules.entries" not in text:
        text += '[strategy]\nrules.entries = "close > 1"\n'
    assert where(text) == expected


def test_the_locator_reads_the_structure_tomllib_reads():
    """Every key path of a document with every kind of string, table and array is located, on its own line."""
    text = textwrap.dedent(
        """\
        a = 1 # b = 2
        'c.d' = "#[{"
        [e]
        f = '''
        g = 3
        '''
        h = [ [1, 2],
          { i = 4 },
        ]
        [[j]]
        k = 5
        [j.l]
        m = 6
        [[j]]
        """
    )
    assert toml_lines(text) == {
        ("a",): 1,
        ("c.d",): 2,
        ("e",): 3,
        ("e", "f"): 4,
        ("e", "h"): 7,
        ("e", "h", "0"): 7,
        ("e", "h", "0", "0"): 7,
        ("e", "h", "0", "1"): 7,
        ("e", "h", "1"): 8,
        ("e", "h", "1", "i"): 8,
        ("j",): 10,
        ("j", "0"): 10,
        ("j", "0", "k"): 11,
        ("j", "0", "l"): 12,
        ("j", "0", "l", "m"): 13,
        ("j", "1"): 14,
    }


AWKWARD = "ab #[]{}=,.'\"\\\n\t"
toml_keys = st.text(alphabet=AWKWARD.replace("\n", "").replace("\t", ""), min_size=1, max_size=4)
toml_scalars = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.booleans(),
    st.floats(allow_nan=False),
    st.text(alphabet=AWKWARD, max_size=6),
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(toml_keys, inner, max_size=3),
    max_leaves=8,
)


def key_paths(node: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in [(*path, k), *key_paths(v, (*path, k))]]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in [(*path, str(i)), *key_paths(v, (*path, str(i)))]]
    return []


@settings(max_examples=150, deadline=None)
@given(document=st.dictionaries(toml_keys, toml_values, max_size=4), sections=st.booleans())
def test_the_locator_finds_every_key_on_its_line(document, sections):
    """Whatever the keys and strings hold (quotes, escapes, #, brackets, =), every key path tomllib reads is
    located, each key on a line that writes it; the same for the document as indented JSON."""
    text = toml_document(document, sections=sections)
    parsed = tomllib.loads(text)
    located = toml_lines(text)
    lines = text.splitlines()
    for path in key_paths(parsed):
        assert path in located, (path, text)
        if not path[-1].isdigit() or not isinstance(at_path(parsed, path[:-1]), list):
            assert json.dumps(path[-1]) in lines[located[path] - 1], (path, text)
    as_json = json.dumps(document, indent=1)
    in_json = json_lines(as_json)
    for path in key_paths(document):
        assert path in in_json
        if not isinstance(at_path(document, path[:-1]), list):
            assert as_json.splitlines()[in_json[path] - 1].lstrip().startswith(json.dumps(path[-1]) + ":")


def at_path(node: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def test_key_lines_of_a_file_for_problems_found_after_loading(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(BASE)
    lines = key_lines(path)
    assert line_of(lines, ("strategy", "rules", "exits")) == 5
    assert line_of(lines, ("strategy", "rules", "weights")) == 4  # not written: its table's line
    assert line_of(lines, ("nowhere",)) is None
    assert key_lines(None) == {} and key_lines(tmp_path / "missing.toml") == {}


def test_parse_errors_name_their_line():
    assert problems(BASE + "x = = 1\n")[0][0] == 7
    assert problems('{\n "data": {}\n,}', format="json")[0][0] == 3


# -------------------------------------------------------------------------------------- sections and rules
def test_missing_sections_and_version():
    assert where("") == {(None, "data"), (None, "strategy")}
    assert where("[data]\nsynthetic = {}\n") == {(None, "strategy")}
    (found,) = problems("version = 2\n" + BASE)
    assert found[:2] == (1, "version") and "must be 1, got 2" in found[2]
    assert loads("version = 1\n" + BASE).config.version == 1


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("data", 1),
        ("strategy", "x"),
        ("settings", [1]),
        ("sweep", 1),
        ("signals", 1),
        ("signals", {"path": "a.csv"}),
        ("validation", 1),
        ("promote", "x"),
        ("audit", 1),
        ("data.synthetic", 1),
        ("data.features", 1),
        ("data.path", 1),
        ("data.path", [1]),
        ("strategy.rules", 1),
        ("strategy.rules.q", 1),
        ("strategy.params", 1),
        ("sweep.grid", 1),
        ("sweep.grid.fast", []),
        ("sweep.grid.fast", {"start": 5}),
    ],
)
def test_one_mistake_is_one_problem(path, value):
    """A wrong value is reported once, at its key, never again as a consequence in a rule between sections."""
    config: dict[str, Any] = {
        "data": {"synthetic": {}},
        "strategy": {"rules": {"entries": "sma(close, fast) > 1"}, "params": {"fast": 5}},
        "sweep": {"grid": {"fast": [5, 10]}},
    }
    *parents, last = path.split(".")
    node = config
    for part in parents:
        node = node[part]
    node[last] = value
    found = problems(json.dumps(config), format="json")
    inside = {("data.path", "[1]"): ".0", ("sweep.grid.fast", "{'start': 5}"): ".stop"}
    assert [p for _, p, _ in found] == [path + inside.get((path, repr(value)), "")]


def test_data_needs_exactly_one_source_and_rules_or_ref():
    text = '[data]\npath = "x.csv"\nsynthetic = {}\n[strategy]\nref = "pkg.mod:fn"\nrules.entries = "close > 1"\n'
    assert where(text) == {(1, "data"), (4, "strategy")}
    found = problems('name = "a b"\n[data]\nsynthetic = {}\n[strategy]\nref = "os.system"\n')
    assert found == [
        (
            1,
            "name",
            "must be a run folder's name: letters, digits, '_', '.' and '-', first a letter or digit, got 'a b'",
        ),
        (5, "strategy.ref", "must be an import path 'package.module:name', got 'os.system'"),
    ]


def test_settings_are_checked_field_by_field_then_together():
    # Fields that are only valid together are valid together (each alone would break a rule between fields).
    loaded = loads(
        BASE + '[settings]\nsize_type = "percent"\nsize = 0.5\n[promote]\naccount = "margin"\nleverage = 3\n'
    )
    assert loaded.settings == VectorizedSettings(size_type="percent", size=0.5)
    assert loaded.promote == EngineSettings(account="margin", leverage=3.0)
    assert where(BASE + "[promote]\nleverage = 3\n") == {(8, "promote.leverage")}
    assert where(BASE + '[settings]\nsize_type = "percent"\nsize = 2.0\n') == {(9, "settings.size")}
    assert where(BASE + "[settings]\nfees = 2.0\ninit_cash = -1\n") == {(8, "settings.fees"), (9, "settings.init_cash")}


def test_cost_models_from_tables_with_close_matches():
    loaded = loads(BASE + '[settings]\ncommission = { model = "PerShare", per_share = 0.01, minimum = 1 }\n')
    from ml4t.costs import PerShare

    assert loaded.settings == VectorizedSettings(commission=PerShare(per_share=0.01, minimum=1))
    found = problems(BASE + '[settings]\ncommission = { model = "Percent", rtae = 0.001 }\nslippage = "Bps"\n')
    assert [(n, p) for n, p, _ in found] == [(8, "settings.commission.rtae"), (9, "settings.slippage")]
    assert "did you mean 'rate'?" in found[0][2]
    assert "model" in found[1][2]
    (found_model,) = problems(BASE + '[promote]\nslippage = { model = "Bsp", bps = 5 }\n')
    assert found_model[1] == "promote.slippage" and "did you mean 'Bps'?" in found_model[2]


def test_a_range_axis_keeps_integers_like_python_range():
    base = BASE.replace("< sma(close, slow)", "< sma(close, slow) * x")  # a rule reads x
    loaded = loads(
        base + "[sweep]\ngrid.fast = { start = 5, stop = 20, step = 5 }\ngrid.x = { start = 0.5, stop = 1 }\n"
    )
    assert loaded.resolved["sweep"]["grid"] == {
        "fast": {"start": 5, "stop": 20, "step": 5},
        "x": {"start": 0.5, "stop": 1, "step": 1},
    }
    assert isinstance(loaded.config.sweep.grid["fast"].start, int)  # type: ignore[union-attr]
    assert where(BASE + "[sweep]\ngrid.fast = { start = 5, stop = 5 }\n") == {(8, "sweep.grid.fast")}


def test_dates_are_kept_as_their_iso_text():
    text = BASE.replace("[strategy]", "start = 2020-01-02\nend = 2021-06-30T00:00:00Z\n[strategy]")
    data = loads(text).resolved["data"]
    assert (data["start"], data["end"]) == ("2020-01-02", "2021-06-30T00:00:00+00:00")


def test_relative_data_paths_start_from_the_config_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "study.toml"
    path.write_text(
        '[data]\npath = ["a.csv", "/abs/b.csv"]\n[[signals]]\npath = "../p.parquet"\n'
        '[strategy]\nrules.entries = "close > 1"\n'
    )
    resolved = load(path).resolved
    assert resolved["data"]["path"] == [str(tmp_path.resolve() / "sub" / "a.csv"), "/abs/b.csv"]
    assert resolved["signals"][0]["path"] == str(tmp_path.resolve() / "sub" / ".." / "p.parquet")


def test_bad_files_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load(tmp_path / "nope.toml")
    (tmp_path / "study.txt").write_text(BASE)
    with pytest.raises(ConfigError, match=r"\.toml, \.yaml, \.yml or \.json"):
        load(tmp_path / "study.txt")
    with pytest.raises(ConfigError, match="format must be"):
        loads(BASE, format="ini")


# ------------------------------------------------------------------------------------------------ overrides
@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("settings.fees=0.002", ["settings", "fees"], 0.002),
        ("audit.cuts = 7", ["audit", "cuts"], 7),
        ("settings.cash_sharing=true", ["settings", "cash_sharing"], True),
        ("sweep.grid.fast=[5, 10]", ["sweep", "grid", "fast"], [5, 10]),
        ("settings.execution=next_open", ["settings", "execution"], "next_open"),
        ('report.title="a = b"', ["report", "title"], "a = b"),
        ("strategy.rules.entries=close > sma(close, 5)", ["strategy", "rules", "entries"], "close > sma(close, 5)"),
        ("data.start=2020-01-02", ["data", "start"], "2020-01-02"),
        ("signals.1.path=p.csv", ["signals", "1", "path"], "p.csv"),
        ("data.universe=[AAPL, MSFT]", ["data", "universe"], ["AAPL", "MSFT"]),
        ('data.universe=["AAPL"]', ["data", "universe"], ["AAPL"]),
        ("sweep.grid.x=[1, 2.5, a]", ["sweep", "grid", "x"], [1, 2.5, "a"]),
        ("data.universe=[]", ["data", "universe"], []),
    ],
)
def test_an_assignment_is_a_toml_value_or_else_text(text, key, value):
    assert parse_assignment(text) == (key, value)


@pytest.mark.parametrize("text", ["settings.fees", "=1", "settings..fees=1", ".fees=1"])
def test_a_malformed_assignment_is_refused(text):
    with pytest.raises(ConfigError, match=r"section\.key=value"):
        parse_assignment(text)


def test_precedence_file_then_environment_then_set():
    text = BASE + "[settings]\nfees = 0.001\n"
    env = {"ML4T__SETTINGS__FEES": "0.002", "ML4T__AUDIT__CUTS": "3", "OTHER": "1"}
    assert loads(text, environ={}).settings.fees == 0.001
    loaded = loads(text, environ=env)
    assert (loaded.settings.fees, loaded.config.audit.cuts) == (0.002, 3)  # type: ignore[union-attr]
    loaded = loads(text, environ=env, overrides=["settings.fees=0.003", "settings.fees=0.004"])
    assert loaded.settings.fees == 0.004
    assert loaded.resolved["settings"]["fees"] == 0.004
    assert loaded.overrides == ("audit.cuts=3", "settings.fees=0.002", "settings.fees=0.003", "settings.fees=0.004")


def test_environment_variables_are_read_from_os_environ_by_default(monkeypatch):
    monkeypatch.setenv("ML4T__SETTINGS__INIT_CASH", "5000")
    assert loads(BASE).settings.init_cash == 5000


def test_list_items_are_set_by_index():
    text = BASE + '[[signals]]\npath = "a.csv"\n[[signals]]\npath = "b.csv"\n'
    loaded = loads(text, overrides=["signals.1.path=/data/c.csv", 'data.universe=["A", "B"]'])
    assert [s["path"] for s in loaded.resolved["signals"]][1] == "/data/c.csv"
    assert loaded.resolved["data"]["universe"] == ["A", "B"]


def test_a_bad_override_names_where_it_came_from():
    text = BASE + '[[signals]]\npath = "a.csv"\n'
    found = problems(
        text,
        environ={"ML4T__SETTINGS__FEES": "lots"},
        overrides=["signals.3.path=x", "settings.fess=1", "data.synthetic.n_assets.x=1", "strategy.mode=evnt"],
    )
    origins = {p: m for _, p, m in found}
    assert set(origins) == {
        "settings.fees",
        "signals.3.path",
        "settings.fess",
        "data.synthetic.n_assets.x",
        "strategy.mode",
    }
    with pytest.raises(ConfigFileError) as caught:
        loads(text, environ={"ML4T__SETTINGS__FEES": "lots"}, overrides=["settings.fess=1"])
    by_path = {p.path: p for p in caught.value.problems}
    assert by_path["settings.fees"].origin == "ML4T__SETTINGS__FEES=lots"
    assert by_path["settings.fees"].line is None
    assert by_path["settings.fess"].origin == "--set settings.fess=1"
    assert "(--set settings.fess=1): settings.fess: unknown setting 'fess'; did you mean 'fees'?" in str(caught.value)
    assert "no list item '3'" in origins["signals.3.path"]
    assert "did you mean 'event'?" in origins["strategy.mode"]


def test_a_table_an_override_creates_is_blamed_on_it():
    (found,) = problem_objects(BASE, environ={"ML4T__SWEEP__METRIC": "total_return"})
    assert (found.path, found.origin, found.line) == ("sweep.grid", "ML4T__SWEEP__METRIC=total_return", None)


def problem_objects(text: str, **kwargs: Any) -> list[Any]:
    with pytest.raises(ConfigFileError) as caught:
        loads(text, **kwargs)
    return caught.value.problems


def test_an_override_into_a_missing_list_is_refused():
    (found,) = problems(BASE, overrides=["signals.0.path=x.csv"])
    assert found[1] == "signals.0.path" and "no list item" in found[2]


# ---------------------------------------------------------------------------------------- nothing executes
def test_no_config_text_ever_executes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    payloads = [
        '__import__("pathlib").Path("pwned").write_text("x")',
        'open("pwned", "w").write("x")',
        "[c for c in ().__class__.__base__.__subclasses__()][0]",
        "lambda: open('pwned', 'w')",
    ]
    for payload in payloads:
        for key in ("entries", "exits"):
            quoted = json.dumps(payload)
            text = f"[data]\nsynthetic = {{}}\nfeatures.f = {quoted}\n[strategy]\nrules.{key} = {quoted}\n"
            assert {path for _, path in where(text)} == {"data.features.f", f"strategy.rules.{key}"}
            with pytest.raises(ConfigFileError):
                loads(BASE, overrides=[f"strategy.rules.{key}={payload}"])
    # a ref is only text here: its form is checked, nothing is imported
    loaded = loads('[data]\nsynthetic = {}\n[strategy]\nref = "pwned_module_that_does_not_exist:run"\n')
    assert loaded.config.strategy.ref == "pwned_module_that_does_not_exist:run"
    assert "pwned_module_that_does_not_exist" not in sys.modules
    text = 'data: !!python/object/apply:pathlib.Path.touch [!!python/object/apply:pathlib.Path ["pwned"]]\n'
    (found,) = problems(text, format="yaml")
    assert "not valid YAML" in found[2]
    assert not (tmp_path / "pwned").exists()
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------- YAML, JSON
def test_yaml_without_pyyaml_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "yaml", None)  # import yaml now raises ImportError
    path = tmp_path / "study.yaml"
    path.write_text("data: {}\n")
    with pytest.raises(ConfigError, match=r"pip install 'ml4t\[yaml\]'") as caught:
        load(path)
    assert str(path) in str(caught.value)


YAML_STUDY = """\
name: sma-cross
data:
  synthetic: {n_assets: 3, n_bars: 300, seed: 4}
  start: 2015-03-02
  features:
    ret: pct_change(close)
signals:
  - path: preds.parquet
    ts_arrival: 2h
    train_end: 2015-06-30
    embargo: 1d
strategy:
  rules:
    entries: sma(close, fast) > sma(close, slow)
    exits: sma(close, fast) < sma(close, slow)
  params: {fast: 5, slow: 20}
settings:
  commission: {model: Percent, rate: 0.001}
  execution: next_open
sweep:
  grid:
    fast: [5, 10]
    slow: {start: 20, stop: 60, step: 20}
validation:
  walk_forward: {train: 1y, test: 3mo}
audit: {cuts: 3}
"""

TOML_STUDY = """\
name = "sma-cross"
[data]
synthetic = { n_assets = 3, n_bars = 300, seed = 4 }
start = 2015-03-02
features.ret = "pct_change(close)"
[[signals]]
path = "preds.parquet"
ts_arrival = "2h"
train_end = "2015-06-30"
embargo = "1d"
[strategy]
rules.entries = "sma(close, fast) > sma(close, slow)"
rules.exits = "sma(close, fast) < sma(close, slow)"
params = { fast = 5, slow = 20 }
[settings]
commission = { model = "Percent", rate = 0.001 }
execution = "next_open"
[sweep]
grid.fast = [5, 10]
grid.slow = { start = 20, stop = 60, step = 20 }
[validation.walk_forward]
train = "1y"
test = "3mo"
[audit]
cuts = 3
"""


def test_the_same_study_in_yaml_toml_and_json_resolves_the_same(tmp_path):
    (tmp_path / "s.yaml").write_text(YAML_STUDY)
    (tmp_path / "s.toml").write_text(TOML_STUDY)
    from_yaml, from_toml = load(tmp_path / "s.yaml"), load(tmp_path / "s.toml")
    assert from_yaml.resolved == from_toml.resolved
    assert from_yaml.settings == from_toml.settings
    (tmp_path / "s.json").write_text(json.dumps(from_toml.resolved, indent=2))
    assert load(tmp_path / "s.json").resolved == from_toml.resolved


def test_yaml_keys_written_twice_are_refused():
    text = "data:\n  synthetic: {}\nstrategy:\n  rules: {entries: close > 1}\ndata:\n  path: x.csv\n"
    assert where(text, format="yaml") == {(5, "data")}


def test_json_problems_have_lines():
    text = json.dumps({"data": {"synthetic": {"sed": 1}}, "strategy": {"rules": {"entries": "close > 1"}}}, indent=1)
    assert where(text, format="json") == {(4, "data.synthetic.sed")}
    assert where("[1, 2]", format="json") == {(None, "")}


# ------------------------------------------------------------------------------------------------- properties
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(config=configs(), sections=st.booleans())
def test_the_resolved_config_loads_back_to_itself(config, sections):
    loaded = loads(toml_document(config, sections=sections))
    as_json = loads(json.dumps(loaded.resolved), format="json")
    as_toml = loads(toml_document(loaded.resolved, sections=not sections))
    as_yaml = loads(yaml.safe_dump(loaded.resolved), format="yaml")
    assert as_json.resolved == loaded.resolved
    assert as_toml.resolved == loaded.resolved
    assert as_yaml.resolved == loaded.resolved
    assert as_json.settings == as_toml.settings == loaded.settings
    assert as_json.canonical_json() == loaded.canonical_json()


FREE_FORM = {("strategy", "params"), ("data", "features"), ("sweep", "grid")}
"""Tables whose keys are the user's names (parameters, features, grid axes): any key is valid there."""


def tables(node: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if isinstance(node, list):
        return [t for i, item in enumerate(node) for t in tables(item, (*path, str(i)))]
    if not isinstance(node, dict) or path in FREE_FORM:
        return []
    return [path, *(t for key, value in node.items() for t in tables(value, (*path, key)))]


@PROPERTY
@given(config=configs(), data=st.data())
def test_one_unknown_key_anywhere_is_exactly_one_problem_naming_it(config, data):
    loads(toml_document(config, sections=True))
    table = data.draw(st.sampled_from(tables(config)))
    node: Any = config
    for part in table:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node["zz_unknown"] = "x"
    found = problems(toml_document(config, sections=data.draw(st.booleans())))
    assert [path for _, path, _ in found] == [".".join((*table, "zz_unknown"))]
    assert found[0][0] is not None


def test_a_parameter_or_axis_no_rule_reads_is_refused_with_the_name_the_rules_read() -> None:
    """In Python, sweeping an argument the signal function does not take is a TypeError; in a config a misspelt
    axis would otherwise sweep nothing (every combination identical), so it is refused."""
    text = BASE.replace("slow = 20 }", "slow = 20, slwo = 3 }") + "[sweep]\ngrid.fsat = [5, 10]\n"
    assert {(path, message) for _, path, message in problems(text)} == {
        ("strategy.params.slwo", "no rule reads the parameter 'slwo'"),
        ("sweep.grid.fsat", "no rule reads the parameter 'fsat'"),
    }
    # a rule that reads a name no parameter gives, where a window must be a number: the close parameter
    windows = problems(BASE.replace("slow = 20 }", "slwo = 20 }"))
    assert [path for _, path, _ in windows] == ["strategy.rules.entries", "strategy.rules.exits"]
    assert all("'slow' is not a parameter (a column?); did you mean 'slwo'?" in m for _, _, m in windows)
    assert loads(BASE + "[sweep]\ngrid.fast = [5, 10]\n").config.sweep is not None  # an axis may override a param


def test_costs_is_another_name_of_the_cost_settings_in_overrides() -> None:
    """The issue's `--set costs.fees=0.002` (and ML4T__COSTS__FEES) set settings.fees; other keys under costs
    are still unknown, with the close match."""
    assert loads(BASE, overrides=["costs.fees=0.002"]).resolved["settings"]["fees"] == 0.002
    assert loads(BASE, environ={"ML4T__COSTS__FIXED_FEES": "1.5"}).resolved["settings"]["fixed_fees"] == 1.5
    both = loads(BASE, overrides=["costs.commission={ model = 'Percent', rate = 0.001 }"])
    assert both.resolved["settings"]["commission"] == {"model": "Percent", "rate": 0.001}
    (found,) = problems(BASE, overrides=["costs.init_cash=5"])
    assert found[1] == "costs" and "unknown key 'costs'" in found[2]
