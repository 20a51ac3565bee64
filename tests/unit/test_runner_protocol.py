"""The runner's events are parsed and checked in one place (engine.runner.protocol.decode_event)."""

from __future__ import annotations

import pytest

from engine.errors import RunnerError
from engine.runner.protocol import decode_command, decode_event, encode


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


def test_free_says_how_many_jobs_the_runner_served() -> None:
    assert decode_event(encode({"event": "free", "jobs": 2}))["jobs"] == 2
    with pytest.raises(RunnerError, match="free event lacks jobs"):
        decode_event(encode({"event": "free"}))


@pytest.mark.parametrize("message, complaint", [
    ({"cmd": "start", "out": "job"}, "start cmd lacks spec"),
    ({"cmd": "start", "spec": ["s.json"], "out": "job"}, "start cmd's spec is list"),
    ({"cmd": "start", "spec": "s.json", "out": "job", "device": 0}, "start cmd's device is int"),
    ({"cmd": "start", "spec": "s.json", "out": "job", "progress_every_s": "fast"}, "progress_every_s is str"),
    ({"cmd": "start", "spec": "s.json", "out": "job", "progress_every_s": True}, "progress_every_s is bool"),
])
def test_a_start_with_a_missing_or_mistyped_field_is_one_runner_error(message: dict, complaint: str) -> None:
    with pytest.raises(RunnerError, match="runner protocol") as e:
        decode_command(encode(message))
    assert complaint in e.value.message


def test_a_well_formed_start_and_the_bare_commands_pass() -> None:
    start = {"cmd": "start", "spec": "s.json", "out": "job", "device": None, "blobs": None, "progress_every_s": 0.5}
    assert decode_command(encode(start)) == start
    for cmd in ("pause", "resume", "stop"):
        assert decode_command(encode({"cmd": cmd}))["cmd"] == cmd
