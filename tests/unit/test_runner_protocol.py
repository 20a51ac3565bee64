"""The runner's events are parsed and checked in one place (engine.runner.protocol.decode_event)."""

from __future__ import annotations

import pytest

from engine.errors import RunnerError
from engine.runner.protocol import decode_event, encode


def test_a_well_formed_event_comes_back_typed() -> None:
    line = encode({"event": "progress", "step": 3, "steps": 10, "loss": float("nan"), "samples_per_s": 1.5,
                   "eta_s": 2.0})
    event = decode_event(line)
    assert event["event"] == "progress" and event["step"] == 3 and event["steps"] == 10


def test_stopped_before_training_carries_no_step() -> None:
    assert decode_event(encode({"event": "stopped", "step": None}))["step"] is None


@pytest.mark.parametrize("message, complaint", [
    ({"event": "checkpoint", "index": 0, "step": 5, "leaf": "ab"}, "checkpoint event lacks path"),
    ({"event": "progress", "step": "3", "steps": 10, "loss": 1.0, "samples_per_s": 1.0, "eta_s": 1.0},
     "progress event's step is str '3', not int"),
    ({"event": "progress", "step": True, "steps": 10, "loss": 1.0, "samples_per_s": 1.0, "eta_s": 1.0},
     "progress event's step is bool True, not int"),
    ({"event": "error", "kind": "X", "message": 7, "hint": None}, "error event's message is int 7, not str"),
    ({"event": "launch"}, "expected a event in"),
])
def test_a_malformed_event_is_one_runner_error_naming_the_field(message: dict, complaint: str) -> None:
    with pytest.raises(RunnerError, match="runner protocol") as e:
        decode_event(encode(message))
    assert complaint in e.value.message
