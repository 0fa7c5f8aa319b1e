"""ml4t.cache.configure / settings / store: the directory's precedence, the size's grammar, the library default."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ml4t.cache
from ml4t.cache import _config
from ml4t.errors import ConfigError


@pytest.fixture(autouse=True)
def _fresh(monkeypatch, tmp_path):
    """Every test starts from a fresh process's settings, with a home of its own and no cache variables."""
    for name in ("ML4T_CACHE_DIR", "XDG_CACHE_HOME", "LOCALAPPDATA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    _config._reset()
    yield
    _config._reset()


def test_the_defaults_are_the_users_cache_directory_5gb_and_off(tmp_path):
    current = ml4t.cache.settings()
    assert current == ml4t.cache.CacheSettings(tmp_path / "home" / ".cache" / "ml4t", 5 * 10**9, False)
    assert ml4t.cache.store() == ml4t.cache.Store(tmp_path / "home" / ".cache" / "ml4t", max_bytes=5 * 10**9)
    assert not (tmp_path / "home").exists()  # nothing is created before the first put


def test_the_environment_variable_beats_the_default_and_configure_beats_both(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert ml4t.cache.settings().dir == tmp_path / "xdg" / "ml4t"
    monkeypatch.setenv("ML4T_CACHE_DIR", str(tmp_path / "env"))
    assert ml4t.cache.settings().dir == tmp_path / "env"
    ml4t.cache.configure(dir=tmp_path / "mine")
    assert ml4t.cache.settings().dir == tmp_path / "mine"
    ml4t.cache.configure()  # back to the environment, read when used
    monkeypatch.setenv("ML4T_CACHE_DIR", str(tmp_path / "later"))
    assert ml4t.cache.settings().dir == tmp_path / "later"


def test_a_relative_dir_is_made_absolute_when_configured(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert ml4t.cache.configure(dir="rel").dir == tmp_path / "rel"
    monkeypatch.setenv("ML4T_CACHE_DIR", "envrel")
    ml4t.cache.configure()
    assert ml4t.cache.settings().dir == tmp_path / "envrel"


@pytest.mark.parametrize(
    ("platform", "environ", "expected"),
    [
        ("linux", {"HOME": "/h"}, "/h/.cache/ml4t"),
        ("linux", {"HOME": "/h", "XDG_CACHE_HOME": "/x"}, "/x/ml4t"),
        ("linux", {"HOME": "/h", "XDG_CACHE_HOME": "relative"}, "/h/.cache/ml4t"),  # the XDG spec: ignored
        ("linux", {"HOME": "/h", "XDG_CACHE_HOME": ""}, "/h/.cache/ml4t"),
        ("freebsd14", {"HOME": "/h"}, "/h/.cache/ml4t"),
        ("darwin", {"HOME": "/Users/u", "XDG_CACHE_HOME": "/x"}, "/Users/u/Library/Caches/ml4t"),
        (
            "win32",
            {"USERPROFILE": "C:/Users/u", "LOCALAPPDATA": "C:/Users/u/AppData/Local"},
            "C:/Users/u/AppData/Local/ml4t/Cache",
        ),
        ("win32", {"USERPROFILE": "C:/Users/u"}, "C:/Users/u/AppData/Local/ml4t/Cache"),
    ],
)
def test_the_users_cache_directory_per_platform(platform, environ, expected):
    assert _config.default_dir(platform, environ) == Path(expected)


def test_configure_is_the_opt_in_for_library_calls(tmp_path):
    assert ml4t.cache.settings().enabled is False
    assert ml4t.cache.configure(dir=tmp_path).enabled is True
    assert ml4t.cache.configure(dir=tmp_path, enabled=False).enabled is False
    assert ml4t.cache.configure(enabled=True).enabled is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (123, 123),
        ("123", 123),
        ("500MB", 500 * 10**6),
        ("5GB", 5 * 10**9),
        ("5 gb", 5 * 10**9),
        ("1.5GB", 1_500_000_000),
        ("2KiB", 2048),
        ("1GiB", 2**30),
        ("3TB", 3 * 10**12),
        ("10B", 10),
    ],
)
def test_sizes_are_bytes_or_text(text, expected):
    assert _config.parse_size(text) == expected
    assert ml4t.cache.configure(max_size=text).max_bytes == expected
    assert ml4t.cache.store().max_bytes == expected


@settings(max_examples=50, deadline=None)
@given(number=st.integers(1, 10**6), unit=st.sampled_from(["B", "KB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB"]))
def test_a_size_is_the_number_times_its_unit(number, unit):
    scale = {"B": 1, "K": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4}[unit[0]]
    if unit.endswith("iB"):
        scale = 1024 ** ("KMGT".index(unit[0]) + 1)
    assert _config.parse_size(f"{number}{unit}") == number * scale
    assert _config.parse_size(f"{number} {unit.lower()}") == number * scale


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"max_size": "5 parsecs"}, "max_size"),
        ({"max_size": "GB"}, "max_size"),
        ({"max_size": "-5GB"}, "max_size"),
        ({"max_size": 0}, "max_size"),
        ({"max_size": -1}, "max_size"),
        ({"max_size": "0MB"}, "max_size"),
        ({"max_size": True}, "max_size"),
        ({"max_size": 1.5e9}, "max_size"),
        ({"max_size": None}, "max_size"),
        ({"enabled": "yes"}, "enabled"),
        ({"enabled": 1}, "enabled"),
        ({"dir": ""}, "dir"),
        ({"dir": 42}, "dir"),
    ],
)
def test_bad_values_are_config_errors_naming_the_argument_and_change_nothing(kwargs, argument, tmp_path):
    before = ml4t.cache.configure(dir=tmp_path, max_size="1GB", enabled=False)
    with pytest.raises(ConfigError) as error:
        ml4t.cache.configure(**kwargs)
    assert error.value.argument == argument
    assert ml4t.cache.settings() == before


def test_a_dir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="not a directory") as error:
        ml4t.cache.configure(dir=tmp_path / "file")
    assert error.value.argument == "dir"


def test_the_configured_store_stores(tmp_path, monkeypatch):
    import polars as pl

    monkeypatch.setenv("ML4T_CACHE_DIR", str(tmp_path / "env"))
    ml4t.cache.configure(max_size="1MB")
    store = ml4t.cache.store()
    store.put("indicators", "ab" * 16, pl.DataFrame({"a": [1]}), describe={})
    assert (tmp_path / "env" / "indicators" / "ab" / f"{'ab' * 16}.parquet").is_file()


def test_resolve_turns_a_cache_argument_into_a_store_or_none(tmp_path, monkeypatch):
    monkeypatch.setenv("ML4T_CACHE_DIR", str(tmp_path / "env"))
    env = ml4t.cache.Store(tmp_path / "env", max_bytes=5 * 10**9)
    given = ml4t.cache.Store(tmp_path / "given", max_bytes=10)
    assert ml4t.cache.resolve(None) is None  # the library default: off until configured
    assert ml4t.cache.resolve(False) is None
    assert ml4t.cache.resolve(True) == env
    assert ml4t.cache.resolve(given) is given
    ml4t.cache.configure()
    assert ml4t.cache.resolve(None) == env
    assert ml4t.cache.resolve(False) is None
    for bad in (1, "yes", tmp_path):
        with pytest.raises(ConfigError, match=r"True, False, None or an ml4t\.cache\.Store") as error:
            ml4t.cache.resolve(bad, argument="run.cache")
        assert error.value.argument == "run.cache"
    assert not (tmp_path / "env").exists()  # resolving creates nothing
