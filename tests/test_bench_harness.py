"""The bench table's ratios: each ml4t row against the fastest peer of its group, each peer row against ml4t."""

from bench.harness import _table


def _row(group, engine, seconds, mb, items=100):
    return {
        "key": f"{group}:{engine}",
        "group": group,
        "engine": engine,
        "best_s": seconds,
        "items": items,
        "unit": "bars",
        "peak_mb": mb,
    }


def test_ratios_compare_with_the_fastest_peer_in_the_same_group():
    rows = [
        _row("sweep", "vectorbt", 6.0, 2000.0),
        _row("sweep", "slowpeer", 9.0, 100.0),
        _row("sweep", "ml4t", 0.12, 100.0),
        _row("single", "vectorbt", 0.3, 600.0),
        _row("single", "ml4t", 0.6, 300.0),
        _row("data", "ml4t", 0.1, 50.0),
    ]
    lines = _table(rows).splitlines()
    sweep = next(line for line in lines if "sweep" in line and "ml4t" in line)
    assert "50.00x vs fastest" in sweep  # 6.0 / 0.12 against the fastest peer, not the slow one
    assert "20.0x" in sweep  # its memory: 2000 / 100
    single = next(line for line in lines if "single" in line and "ml4t" in line)
    assert "0.50x" in single  # slower than the peer shows below 1
    data = next(line for line in lines if "data" in line)
    assert "x" not in data.split("|")[-3]  # no peer, no ratio
    slow = next(line for line in lines if "slowpeer" in line)
    assert "75.00x vs this" in slow  # each peer row: ml4t against that peer (9.0 / 0.12)
    assert "1.0x" in slow  # memory 100 / 100


def test_failed_workloads_are_listed_not_dropped():
    table = _table([{"key": "bench.x:broken", "error": "ImportError: nope"}])
    assert "bench.x:broken" in table
    assert "ImportError: nope" in table
