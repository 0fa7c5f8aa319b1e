"""The session journal: entries on disk as they are appended, read back exactly, a crash's partial last line
detected and cut off, damage refused with the file and the line."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml4t import ConfigError, DataError
from ml4t.live import KINDS, Journal, JournalWarning, read_journal

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
entries = st.lists(
    st.tuples(st.sampled_from(KINDS), st.integers(-(2**62), 2**62), st.dictionaries(st.text(max_size=6), json_values)),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(entries)
def test_what_is_appended_is_read_back_in_order(tmp_path_factory: pytest.TempPathFactory, items: list) -> None:
    path = tmp_path_factory.mktemp("j") / "session.jsonl"
    with Journal(path, fsync=False) as journal:
        written = [journal.append(kind, ts, data) for kind, ts, data in items]
    got = read_journal(path)
    assert got == written
    assert [e.seq for e in got] == list(range(len(items)))
    assert [(e.kind, e.ts, e.data) for e in got] == [(k, t, d) for k, t, d in items]
    for entry in got:  # the same types too, not only equal values (1 == 1.0 == True)
        assert json.dumps(entry.data, sort_keys=True) == json.dumps(items[entry.seq][2], sort_keys=True)


def test_each_entry_is_on_disk_when_append_returns(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    journal = Journal(path)
    journal.append("start", 1, {"strategy": "Cross"})
    # read by another reader while the journal is still open: nothing buffered in the process
    assert [e.kind for e in read_journal(path)] == ["start"]
    journal.append("bar", 2, {"symbol": "AAA", "close": 10.5})
    assert len(read_journal(path)) == 2
    journal.close()
    assert journal.closed
    with pytest.raises(ConfigError, match="closed"):
        journal.append("end", 3)


def test_reopening_continues_the_sequence(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    with Journal(path, fsync=False) as journal:
        journal.append("start", 1)
        journal.append("bar", 2, {"close": 1.0})
    with Journal(path, fsync=False) as journal:
        assert len(journal) == 2
        entry = journal.append("restart", 3)
    assert entry.seq == 2
    assert [e.kind for e in read_journal(path)] == ["start", "bar", "restart"]


def test_a_crash_mid_line_is_detected_and_cut_off(tmp_path: Path) -> None:
    """A child process writes two entries, then half of a third line, and dies without closing the file."""
    path = tmp_path / "j.jsonl"
    script = textwrap.dedent(
        f"""
        import os
        from ml4t.live import Journal
        journal = Journal({str(path)!r})
        journal.append("start", 1, {{"strategy": "Cross"}})
        journal.append("order", 2, {{"client_order_id": "s-0", "symbol": "AAA", "quantity": 10}})
        journal._file.write(b'{{"seq":2,"kind":"fill","ts":3,"wa')
        journal._file.flush()
        os._exit(1)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=False, timeout=60)
    size = path.stat().st_size
    with pytest.warns(JournalWarning, match=r"partial line at byte \d+.*2 complete entries"):
        got = read_journal(path)
    assert [e.kind for e in got] == ["start", "order"]
    assert path.stat().st_size == size  # reading changes nothing
    with pytest.warns(JournalWarning), Journal(path, fsync=False) as journal:
        journal.append("restart", 4, {"after": "crash"})
    lines = path.read_bytes().splitlines()
    assert [json.loads(line)["kind"] for line in lines] == ["start", "order", "restart"]
    assert [json.loads(line)["seq"] for line in lines] == [0, 1, 2]


def _write(path: Path, lines: list[dict]) -> None:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def _line(seq: int, kind: str = "bar") -> dict:
    return {"seq": seq, "kind": kind, "ts": seq, "wall": 0, "data": {}}


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([_line(0), _line(2)], r"seq=2 at line 2 where seq=1 belongs"),
        ([_line(0), _line(0)], r"seq=0 at line 2 where seq=1 belongs"),
        ([_line(1)], r"seq=1 at line 1 where seq=0 belongs"),
        ([_line(0), _line(1, "teleport")], r"unknown kind 'teleport' at line 2"),
        ([_line(0), {"seq": 1, "kind": "bar"}], r"damaged at line 2"),
    ],
)
def test_damage_is_refused_with_the_file_and_the_line(tmp_path: Path, lines: list[dict], message: str) -> None:
    path = tmp_path / "j.jsonl"
    _write(path, lines)
    with pytest.raises(DataError, match=message) as info:
        read_journal(path)
    assert str(path) in str(info.value)
    with pytest.raises(DataError, match=message):
        Journal(path)


def test_a_broken_line_followed_by_others_is_corruption_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_bytes(json.dumps(_line(0)).encode() + b"\n{not json\n" + json.dumps(_line(1)).encode() + b"\n")
    with pytest.raises(DataError, match="damaged at line 2"):
        read_journal(path)


def test_bad_arguments_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no journal at") as info:
        read_journal(tmp_path / "missing.jsonl")
    assert info.value.argument == "path"
    with Journal(tmp_path / "j.jsonl", fsync=False) as journal:
        with pytest.raises(ConfigError, match="kind must be one of") as info:
            journal.append("fills", 1)
        assert info.value.argument == "kind"
        with pytest.raises(ConfigError, match="ts must be an integer"):
            journal.append("bar", 1.5)  # type: ignore[arg-type]
        for data, problem in (
            ({"when": object()}, r"data\['when'\] is of type object"),
            ({"pair": (1, 2)}, r"data\['pair'\] is of type tuple"),
            ({"close": float("nan")}, r"data\['close'\] is nan \(JSON has no NaN"),
            ({"fills": [1.0, float("inf")]}, r"data\['fills'\]\[1\] is inf"),
            ({"by_symbol": {1: 2.0}}, r"data\['by_symbol'\] has the key 1"),
        ):
            with pytest.raises(ConfigError, match=problem) as info:
                journal.append("bar", 7, data)
            assert info.value.argument == "data"
        assert len(journal) == 0  # nothing written by the refused calls
    assert (tmp_path / "j.jsonl").read_bytes() == b""
    assert os.path.getsize(tmp_path / "j.jsonl") == 0


def test_a_batch_syncs_once_at_its_end(tmp_path, monkeypatch):
    synced = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd))
    with Journal(tmp_path / "j.jsonl") as journal:
        journal.append("start", 0, {})
        assert len(synced) == 1
        with journal.batch():
            for k in range(5):
                journal.append("heartbeat", k + 1, {})
            with journal.batch():
                journal.append("heartbeat", 9, {})
            assert len(synced) == 1  # flushed, not yet synced
            assert len(read_journal(tmp_path / "j.jsonl")) == 7  # every line readable already
        assert len(synced) == 2
