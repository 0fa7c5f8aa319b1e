"""Progress bars for long work, and Ctrl-C for work running in the compiled kernel.

Contract:

- Whether a bar is shown: ``progress=True`` / ``False`` decides; ``progress=None`` (every public default)
  reads the environment variable ``ML4T_PROGRESS``: unset or empty means on, ``0`` / ``false`` / ``no`` /
  ``off`` off, ``1`` / ``true`` / ``yes`` / ``on`` on (any case); any other value is a ConfigError naming it.
- A bar (:func:`bar`) is ``tqdm.auto.tqdm`` (a text bar in a terminal, a widget in a notebook), written to
  stderr, drawn only once the work has lasted :data:`DELAY` seconds (tqdm's ``delay``: short work writes
  nothing), and closed on every exit path. With progress off nothing is drawn and tqdm is not imported.
- Work in the kernel (:func:`run_counted`) runs on a worker thread (the kernel releases the GIL) while the
  calling thread polls its counter (``ml4t._core.Progress``) every :data:`POLL` seconds to move the bar. A
  ``KeyboardInterrupt`` (Ctrl-C) while waiting cancels the counter, waits for the kernel to stop (it checks
  the counter once per combination) and is re-raised: the caller's state is whatever it was before the call.
- A Python loop (:func:`watch`) is never slowed per step: a helper thread reads its position every
  :data:`POLL` seconds instead.

This module is a leaf: tqdm is imported on first use only (``import ml4t`` does not import it).
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from ml4t import _core
from ml4t.errors import ConfigError

__all__ = ["DELAY", "ENV", "POLL", "Bar", "bar", "enabled", "run_counted", "watch"]

ENV = "ML4T_PROGRESS"
"""The environment variable that turns bars off (``0``) when no ``progress=`` argument is given."""
DELAY = 1.0
"""Seconds of work before a bar is drawn (tests set 0 to see every bar)."""
POLL = 0.1
"""Seconds between two reads of a running job's position (about 10 Hz)."""

_OFF = ("0", "false", "no", "off")
_ON = ("", "1", "true", "yes", "on")

T = TypeVar("T")


def enabled(progress: bool | None) -> bool:
    """Whether to show progress: ``progress`` when given, else :data:`ENV` (default on)."""
    if progress is not None:
        if not isinstance(progress, bool):
            raise ConfigError(f"progress must be True, False or None, got {progress!r}", argument="progress")
        return progress
    value = os.environ.get(ENV, "").strip().lower()
    if value in _OFF:
        return False
    if value in _ON:
        return True
    raise ConfigError(
        f"{ENV}={os.environ[ENV]!r} is not a switch: use 0, false, no or off to hide progress bars "
        "(1, true, yes, on or unset to show them)",
        argument=ENV,
    )


class Bar:
    """A progress bar, or nothing when progress is off: a position (``to``) and a short note (``note``)."""

    def __init__(self, inner: Any | None) -> None:
        self._inner = inner
        self.offset = 0
        """Units done before the counts given to :meth:`to` (a sweep's blocks read from the cache)."""

    @property
    def shown(self) -> bool:
        """Whether progress is on (the bar may still be waiting for :data:`DELAY`)."""
        return self._inner is not None

    def to(self, n: int) -> None:
        """Move the bar forward to ``offset + n`` units done (never backward)."""
        inner = self._inner
        n += self.offset
        if inner is not None and n > inner.n:
            inner.update(n - inner.n)

    def note(self, text: str) -> None:
        """Show ``text`` after the counts (tqdm's postfix), from the next redraw on."""
        if self._inner is not None:
            self._inner.set_postfix_str(text, refresh=False)


@contextmanager
def bar(progress: bool | None, *, total: int, unit: str, desc: str) -> Iterator[Bar]:
    """A bar of ``total`` units named ``unit`` (plural; the rate reads ``unit/s``), labelled ``desc``, shown
    as the module docstring says; closed when the block ends, however it ends."""
    if not enabled(progress):
        yield Bar(None)
        return
    with warnings.catch_warnings():
        # a notebook without ipywidgets: tqdm.auto falls back to the text bar, which is all we need
        warnings.filterwarnings("ignore", message="IProgress not found")
        from tqdm.auto import tqdm

    inner = tqdm(total=total, unit=f" {unit}", desc=desc, delay=DELAY, file=sys.stderr, dynamic_ncols=True)
    try:
        yield Bar(inner)
    finally:
        inner.close()


def run_counted(call: Callable[..., T], counter: _core.Progress, shown: Bar) -> T:
    """``call(progress=counter)``, a kernel call that releases the GIL and counts into ``counter``, run on a worker
    thread while this one moves ``shown`` to ``counter.done`` every :data:`POLL` seconds. Returns the call's
    value or raises its exception; Ctrl-C cancels the counter, waits for the kernel to stop and re-raises."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = call(progress=counter)
        except BaseException as error:  # handed to the calling thread, which raises it
            box["error"] = error

    worker = threading.Thread(target=work, name="ml4t-kernel", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(POLL)  # interruptible: Ctrl-C raises here
            shown.to(counter.done)
    except KeyboardInterrupt:
        counter.cancel()
        worker.join()
        raise
    shown.to(counter.done)  # a call that ended before the first poll (a small chunk) still moves the bar
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


@contextmanager
def watch(shown: Bar, read: Callable[[], tuple[int, str | None]]) -> Iterator[None]:
    """While the block runs, a helper thread reads ``(done, note) = read()`` every :data:`POLL` seconds and
    moves ``shown`` to ``done`` with ``note`` (when not None) as its postfix; a ``read`` that raises is
    skipped that time. Stopped and joined when the block ends, however it ends; nothing runs when the bar
    is off."""
    if not shown.shown:
        yield
        return
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(POLL):
            try:
                done, note = read()
            except Exception:  # the loop is mid-step (the engine borrowed): read it next time
                continue
            if note is not None:
                shown.note(note)
            shown.to(done)

    helper = threading.Thread(target=poll, name="ml4t-progress", daemon=True)
    helper.start()
    try:
        yield
    finally:
        stop.set()
        helper.join()
