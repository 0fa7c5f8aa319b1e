"""Slow, obvious references for ml4t.validate's splitters, written from the documented definitions.

Plain Python over plain lists of int nanoseconds, one row at a time; nothing here calls ml4t's splitting code.
A split is ``(train, test, purged, embargoed)`` (row lists and counts); a configuration the definitions refuse
(no complete split, a training set emptied by purging) is ``None``.
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass


@dataclass
class Rows:
    event: list[int]
    arrival: list[int]

    @property
    def times(self) -> list[int]:
        return sorted(set(self.event))

    def step(self) -> int:
        t = self.times
        return int(statistics.median([b - a for a, b in itertools.pairwise(t)])) if len(t) > 1 else 0


def label_end(rows: Rows, purge: tuple[str, object] | None) -> list[int]:
    """``ts_event + horizon`` per row: None -> 0; ("bars", k) -> the k-th distinct timestamp after (past the
    end: the last timestamp plus the median step per missing timestamp); ("time", ns); ("column", ends)."""
    if purge is None:
        return list(rows.event)
    kind, value = purge
    if kind == "column":
        return list(value)
    if kind == "time":
        return [e + value for e in rows.event]
    times, out = rows.times, []
    for e in rows.event:
        later = [t for t in times if t > e]
        if value == 0:
            out.append(e)
        elif len(later) >= value:
            out.append(later[value - 1])
        else:
            out.append(times[-1] + (value - len(later)) * rows.step())
    return out


def _count_between(times: list[int], lo: int, hi: int) -> int:
    """Distinct timestamps t with lo <= t < hi."""
    return sum(1 for t in times if lo <= t < hi)


def one_split(rows: Rows, ends: list[int], block_sets: list[list[int]], candidates: set[int], embargo, side: str):
    """Train/test of one split from the definition: ``block_sets`` are the contiguous test blocks (lists of
    timestamps), ``candidates`` the rows training may come from, ``side`` where the embargo acts."""
    times = rows.times
    test = [i for i, e in enumerate(rows.event) if any(e in block for block in block_sets)]
    train, purged, embargoed = [], 0, 0
    for i, e in enumerate(rows.event):
        if i not in candidates:
            continue
        label_arrival = ends[i] + (rows.arrival[i] - e)
        is_purged = is_embargoed = False
        for block in block_sets:
            inside = [j for j, x in enumerate(rows.event) if x in block]
            first_arrival = min(rows.arrival[j] for j in inside)
            span_end = max(ends[j] for j in inside)
            start, end = min(block), max(block)
            if e < start and label_arrival > first_arrival:
                is_purged = True
            if e > end and e <= span_end:
                is_purged = True
            if embargo is None:
                continue
            kind, size = embargo
            if side == "before" and e < start:
                near = _count_between(times, e, start) <= size if kind == "bars" else e >= start - size
                is_embargoed |= near
            if side == "after" and e > end:
                near = _count_between(times, end + 1, e + 1) <= size if kind == "bars" else e <= end + size
                is_embargoed |= near
        if is_purged:
            purged += 1
        elif is_embargoed:
            embargoed += 1
        else:
            train.append(i)
    if not train:
        return None
    return train, test, purged, embargoed


def walk_forward(rows: Rows, ends, *, train, test, step, mode, embargo, min_train=None):
    """Every walk-forward split, or None when the definitions refuse the configuration."""
    times = rows.times
    step = step or test
    min_train = min_train or train
    last_covered = times[-1] + rows.step()
    blocks = []
    if train[0] == "bars":
        anchor = times[train[1]] if train[1] < len(times) else times[-1] + 1
    else:
        anchor = times[0] + train[1]
    while True:
        block_times = [t for t in times if t >= anchor]
        if not block_times:
            break
        first = block_times[0]
        if test[0] == "bars":
            block = block_times[: test[1]]
            if len(block) < test[1]:
                break
        else:
            block_end = (first if step[0] == "bars" else anchor) + test[1]
            if last_covered < block_end:
                break
            block = [t for t in block_times if t < block_end]
        if block:
            blocks.append(block)
        if step[0] == "bars":
            later = [t for t in times if t >= first]
            if len(later) <= step[1]:
                break
            anchor = later[step[1]]
        else:
            anchor += step[1]
    out = []
    for block in blocks:
        start = block[0]
        before = [t for t in times if t < start]
        if mode == "expanding":
            window = before
        elif train[0] == "bars":
            window = before[-train[1] :] if train[1] else []
        else:
            window = [t for t in before if t >= start - train[1]]
        if min_train[0] == "bars" and len(window) < min_train[1]:
            continue
        if min_train[0] == "time" and times[0] > start - min_train[1]:
            continue
        if not window:  # no timestamp in the window: no split
            continue
        candidates = {i for i, e in enumerate(rows.event) if e in window}
        split = one_split(rows, ends, [block], candidates, embargo, "before")
        if split is None:
            return None
        out.append(split)
    return out or None


def cpcv(rows: Rows, ends, *, n_groups, n_test_groups, embargo):
    """Every cpcv split (with its test groups), or None when a training set ends up empty."""
    times = rows.times
    size, extra = divmod(len(times), n_groups)
    groups, at = [], 0
    for g in range(n_groups):
        n = size + (1 if g < extra else 0)
        groups.append(times[at : at + n])
        at += n
    out = []
    for tested in itertools.combinations(range(n_groups), n_test_groups):
        block_sets: list[list[int]] = []
        for g in tested:
            if block_sets and g - 1 in tested:
                block_sets[-1] = block_sets[-1] + groups[g]
            else:
                block_sets.append(list(groups[g]))
        test_times = {t for g in tested for t in groups[g]}
        candidates = {i for i, e in enumerate(rows.event) if e not in test_times}
        split = one_split(rows, ends, block_sets, candidates, embargo, "after")
        if split is None:
            return None
        out.append((*split, tested))
    return out
