"""Hooks: a method named like a hook that is not one warns when the class is defined, naming the closest hook;
an exception raised in a hook carries the strategy's clock time and the hook's name, and keeps its type and
traceback."""

from __future__ import annotations

import datetime as dt
import traceback
import warnings

import pytest
from tests.event.scenario import FLAT, HOUR, day, make_bars

import ml4t
from ml4t.event import Engine, HookWarning, Strategy


# ------------------------------------------------------------------------------------------ misnamed hooks
@pytest.mark.parametrize(
    ("name", "closest"),
    [
        ("onbar", "on_bar"),
        ("On_bar", "on_bar"),
        ("ON_BAR", "on_bar"),
        ("on_bars", "on_bar"),
        ("on_Bar", "on_bar"),
        ("onBar", "on_bar"),
        ("on_signals", "on_signal"),
        ("on_fills", "on_fill"),
        ("on_timers", "on_timer"),
        ("on_events", "on_event"),
        ("onstart", "on_start"),
        ("on_finish", "on_end"),
        ("on_tick", "on_bar"),
        ("on_data", "on_bar"),
        ("next", "on_bar"),
        ("handle_data", "on_bar"),
        ("notify_order", "on_fill"),
        ("initialize", "on_start"),
    ],
)
def test_a_method_named_like_a_hook_warns_naming_the_closest_hook(name, closest):
    with pytest.warns(HookWarning) as caught:
        type("Typo", (Strategy,), {name: lambda self, ctx, bars: None})
    assert len(caught) == 1
    message = str(caught[0].message)
    assert f"Typo.{name}" in message
    assert "never calls" in message
    assert f"did you mean {closest}?" in message


def test_the_warning_points_at_the_class_statement():
    with pytest.warns(HookWarning) as caught:

        class Typo(Strategy):
            def on_bars(self, ctx, bars):
                pass

    assert caught[0].filename == __file__
    assert issubclass(HookWarning, UserWarning)
    assert ml4t.event.HookWarning is HookWarning


def test_real_hooks_and_ordinary_helpers_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")

        class Fine(Strategy):
            threshold = 3
            onward = "a class attribute, not a method"

            def on_start(self, ctx):
                pass

            def on_event(self, ctx, event):
                super().on_event(ctx, event)

            def on_bar(self, ctx, bars):
                pass

            def on_signal(self, ctx, signals):
                pass

            def on_fill(self, ctx, fills):
                pass

            def on_timer(self, ctx, timers):
                pass

            def on_end(self, ctx):
                pass

            def _on_bars(self):
                pass

            def _private(self):
                pass

            def rebalance(self, ctx):
                pass

            def on_rebalance(self, ctx):
                pass

            def on_month_end(self, ctx):
                pass

            def bar_signal(self, bar):
                pass

            def once(self):
                pass

            def onto(self):
                pass

            def indicators(self):
                return {}

        class Child(Fine):  # inherits the hooks: nothing new to check
            def helper(self):
                pass


def test_a_misnamed_hook_from_a_mixin_warns_too():
    class Mixin:
        def on_fills(self, ctx, fills):
            pass

    with pytest.warns(HookWarning, match=r"Mixin\.on_fills .*did you mean on_fill\?"):

        class Mixed(Mixin, Strategy):
            pass


# ---------------------------------------------------------------------------------- exceptions in hooks
def iso(t: dt.datetime) -> str:
    return t.isoformat()


class Fails(Strategy):
    """Raises a KeyError in ``hook`` at the ``at``-th call of it."""

    def __init__(self, hook: str, at: int = 0) -> None:
        self.hook = hook
        self.at = at
        self.calls = 0

    def _maybe_fail(self, hook: str) -> None:
        if hook == self.hook:
            if self.calls == self.at:
                {}["missing"]
            self.calls += 1

    def on_start(self, ctx):
        self._maybe_fail("on_start")
        ctx.schedule(at=day(1) + HOUR, name="t")

    def on_bar(self, ctx, bars):
        self._maybe_fail("on_bar")
        if not ctx.positions and not ctx.open_orders():
            ctx.order("X", 1)

    def on_fill(self, ctx, fills):
        self._maybe_fail("on_fill")

    def on_timer(self, ctx, timers):
        self._maybe_fail("on_timer")

    def on_end(self, ctx):
        self._maybe_fail("on_end")


@pytest.mark.parametrize(
    ("hook", "at", "when"),
    [
        ("on_bar", 0, day(0)),
        ("on_bar", 2, day(2)),
        ("on_fill", 0, day(1)),
        ("on_timer", 0, day(1) + HOUR),
        ("on_end", 0, day(3)),
    ],
)
def test_an_exception_in_a_hook_names_the_hook_and_the_clock_time(hook, at, when):
    with pytest.raises(KeyError) as info:
        Engine(make_bars([FLAT] * 4), Fails(hook, at)).run()
    assert info.value.__notes__ == [f"raised in Fails.{hook} at {iso(when)}"]
    # the type and the traceback are the user's own: the innermost frame is the line that raised
    assert traceback.extract_tb(info.value.__traceback__)[-1].name == "_maybe_fail"


def test_an_exception_in_on_start_names_it():
    with pytest.raises(KeyError) as info:
        Engine(make_bars([FLAT] * 2), Fails("on_start")).run()
    assert len(info.value.__notes__) == 1
    assert info.value.__notes__[0].startswith("raised in Fails.on_start at ")


def test_an_exception_in_on_signal_and_in_an_overridden_on_event():
    sig = ml4t.data.signals(make_bars([FLAT] * 3).frame.select("ts_event", "symbol", "close"), ts_arrival="1h")

    class OnSignal(Strategy):
        def on_signal(self, ctx, signals):
            raise ValueError("bad signal")

    with pytest.raises(ValueError, match="bad signal") as info:
        Engine(make_bars([FLAT] * 3), OnSignal(), signals=sig).run()
    assert info.value.__notes__ == [f"raised in OnSignal.on_signal at {iso(day(0) + HOUR)}"]

    class OnEvent(Strategy):
        def on_event(self, ctx, event):
            if event.bars:
                raise RuntimeError("boom")

    with pytest.raises(RuntimeError) as info:
        Engine(make_bars([FLAT] * 3), OnEvent()).run()
    assert info.value.__notes__ == [f"raised in OnEvent.on_event at {iso(day(0))}"]


def test_a_hook_called_from_a_custom_on_event_is_the_one_named():
    class Custom(Strategy):
        def on_event(self, ctx, event):
            if event.bars:
                self.on_bar(ctx, event.bars)

        def on_bar(self, ctx, bars):
            raise ZeroDivisionError("in on_bar")

    with pytest.raises(ZeroDivisionError) as info:
        Engine(make_bars([FLAT] * 2), Custom()).run()
    assert info.value.__notes__ == [f"raised in Custom.on_bar at {iso(day(0))}"]


def test_an_order_error_raised_in_a_hook_gets_the_note_too():
    class Bad(Strategy):
        def on_bar(self, ctx, bars):
            ctx.order("X", "ten")

    with pytest.raises(ml4t.OrderError, match="quantity") as info:
        Engine(make_bars([FLAT] * 2), Bad()).run()
    assert info.value.__notes__ == [f"raised in Bad.on_bar at {iso(day(0))}"]


def test_an_exception_a_hook_catches_itself_is_left_alone():
    class Careful(Strategy):
        def on_bar(self, ctx, bars):
            try:
                {}["x"]
            except KeyError as error:
                self.notes = getattr(error, "__notes__", None)

    strategy = Careful()
    Engine(make_bars([FLAT]), strategy).run()
    assert strategy.notes is None
