"""Risk limits: each rule refuses exactly the orders that break it, against a plain restatement of the rule."""

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ml4t import ConfigError
from ml4t.live import RiskLimits

finite = st.floats(-1e6, 1e6, allow_nan=False)
limit = st.none() | st.floats(1e-3, 1e6)


@given(limit, limit, finite, st.floats(1e-3, 1e4), finite, finite, st.floats(0.5, 100))
def test_an_order_is_refused_exactly_when_it_breaks_a_limit(
    max_value: float | None,
    max_position: float | None,
    quantity: float,
    price: float,
    position: float,
    working: float,
    multiplier: float,
) -> None:
    limits = RiskLimits(max_order_value=max_value, max_position=max_position)
    reason = limits.check("AAA", quantity, price, position=position, working=working, multiplier=multiplier)
    too_big = max_value is not None and abs(quantity) * price * multiplier > max_value
    too_much = max_position is not None and abs(position + working + quantity) > max_position
    assert (reason is not None) == (too_big or too_much)
    if too_big:
        assert reason is not None and "max_order_value" in reason and "AAA" in reason
    elif too_much:
        assert reason is not None and "max_position" in reason


def test_no_limits_let_everything_through() -> None:
    assert RiskLimits().check("AAA", 1e12, 1e6, position=-1e12) is None


def test_an_unknown_price_is_refused_only_under_a_value_limit() -> None:
    assert RiskLimits(max_position=10).check("AAA", 5, math.nan) is None
    reason = RiskLimits(max_order_value=1_000).check("AAA", 5, math.nan)
    assert reason is not None and "no price known for AAA" in reason


def test_the_kill_switch_file_stops_every_order_while_it_exists(tmp_path: Path) -> None:
    switch = tmp_path / "KILL"
    limits = RiskLimits(kill_switch=str(switch))
    assert not limits.killed() and limits.check("AAA", 1, 10.0) is None
    switch.touch()
    assert limits.killed()
    reason = limits.check("AAA", 1, 10.0)
    assert reason is not None and "kill switch on" in reason and str(switch) in reason
    switch.unlink()
    assert limits.check("AAA", 1, 10.0) is None
    reason = limits.check("AAA", 1, 10.0, killed=True)
    assert reason is not None and "session was killed" in reason


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"max_order_value": 0}, "max_order_value"),
        ({"max_order_value": -5.0}, "max_order_value"),
        ({"max_position": math.nan}, "max_position"),
        ({"max_position": math.inf}, "max_position"),
        ({"max_position": True}, "max_position"),
        ({"kill_switch": ""}, "kill_switch"),
    ],
)
def test_bad_limits_are_refused_by_name(kwargs: dict, argument: str) -> None:
    with pytest.raises(ConfigError) as info:
        RiskLimits(**kwargs)
    assert info.value.argument == argument


def test_limits_are_values() -> None:
    a = RiskLimits(max_order_value=5_000, max_position=100, kill_switch="/tmp/kill")
    assert a == RiskLimits(max_order_value=5_000.0, max_position=100.0, kill_switch="/tmp/kill")
    assert a.to_dict() == {"max_order_value": 5_000.0, "max_position": 100.0, "kill_switch": "/tmp/kill"}
    with pytest.raises(TypeError):
        RiskLimits(max_leverage=2)  # type: ignore[call-arg]
