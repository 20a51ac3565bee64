"""Numbers as the app shows them."""

from __future__ import annotations

from app.format import duration, eth, state_line
from engine.events import EngineState


def test_ether_amounts_drop_trailing_zeros_and_never_show_dust_as_zero() -> None:
    assert [eth(0), eth(10**18), eth(15 * 10**17), eth(1234 * 10**18), eth(1), eth(-5 * 10**17), eth(None)] == [
        "0 ETH", "1 ETH", "1.5 ETH", "1,234 ETH", "<0.000001 ETH", "-0.5 ETH", "–"]


def test_durations_are_short_and_unknown_is_a_dash() -> None:
    assert [duration(5), duration(125), duration(3 * 3600 + 300), duration(2 * 86400 + 4 * 3600), duration(None),
            duration(float("nan"))] == ["5 s", "2 min", "3 h 05 min", "2 d 4 h", "–", "–"]


def test_the_state_line_gives_the_reason() -> None:
    assert state_line(EngineState.PAUSED, "snoozed until 08:00") == "Paused: snoozed until 08:00"
    assert state_line(EngineState.WORKING, "") == "Working"
