"""The runner's control protocol: one JSON object per line, both ways.

Commands (engine -> runner, stdin)::

    {"cmd": "start", "spec": PATH, "out": DIR, "device": "auto|cpu|cuda", "blobs": DIR|null}
    {"cmd": "pause"}     hold at the next step boundary (memory kept)
    {"cmd": "resume"}
    {"cmd": "stop"}      save where it is, then exit 0 (also on SIGINT/SIGTERM or stdin EOF)

A runner started with ``--max-jobs N`` (N > 1) serves up to N jobs, one at a time: after a job
ends with ``done`` (or is refused before training starts: an ``error`` with no ``started``),
it puts the process back as it was at ``ready`` and says ``free``; the next ``start`` is the
next job. Otherwise (the cap reached, the job stopped or failed mid-training, CUDA used,
memory grown) it exits as a single-use runner does. See ``engine/runner/server.py``.

Events (runner -> engine, stdout)::

    ready {pid}                started {spec_sha256, out, device, resumed_from}
    progress {step, steps, loss, samples_per_s, eta_s}
    checkpoint {index, step, leaf, path}
    paused {step}  resumed {step}
    done {merkle_root, leaves, steps, final_loss, metrics}
    stopped {step}             error {kind, message, hint}
    free {jobs}                ready for another start (jobs: how many it has served)
"""

from __future__ import annotations

import json
from typing import Any, Literal, TypedDict

from engine.errors import RunnerError
from engine.safejson import JsonLimits, UntrustedJsonError, loads

COMMANDS = ("start", "pause", "resume", "stop")
EVENTS = ("ready", "started", "progress", "checkpoint", "paused", "resumed", "done", "stopped", "error", "free")
# A line is a small flat object; limits are checked before parsing (NaN stays legal: a loss can be).
LINE_LIMITS = JsonLimits(max_bytes=1 << 20, max_depth=8, max_items=10_000, max_string=1 << 16, finite_only=False)


class ReadyEvent(TypedDict):
    event: Literal["ready"]
    pid: int


class StartedEvent(TypedDict):
    event: Literal["started"]
    spec_sha256: str
    out: str
    device: str
    arithmetic: str


class ProgressEvent(TypedDict):
    event: Literal["progress"]
    step: int
    steps: int
    loss: float | None
    samples_per_s: float
    eta_s: float


class CheckpointEvent(TypedDict):
    event: Literal["checkpoint"]
    index: int
    step: int
    leaf: str
    path: str


class StepEvent(TypedDict):
    """``paused``, ``resumed`` and ``stopped`` (whose step is None when it stopped before training)."""

    event: Literal["paused", "resumed", "stopped"]
    step: int | None


class DoneEvent(TypedDict):
    event: Literal["done"]
    resumed_from: int | None
    merkle_root: str
    leaves: int
    steps: int
    final_loss: float | None
    metrics: dict[str, Any]


class ErrorEvent(TypedDict):
    event: Literal["error"]
    kind: str
    message: str
    hint: str | None


class FreeEvent(TypedDict):
    """A reusable runner's job has ended and its process state is reset: it takes another ``start``."""

    event: Literal["free"]
    jobs: int


RunnerEvent = (ReadyEvent | StartedEvent | ProgressEvent | CheckpointEvent | StepEvent | DoneEvent | ErrorEvent
               | FreeEvent)

_INT, _NUM, _STR = (int,), (int, float), (str,)
_OPT_INT, _OPT_NUM, _OPT_STR = (int, type(None)), (int, float, type(None)), (str, type(None))
# what each event must carry, and of which types: checked once, here, for every line the runner writes
_SHAPES: dict[str, dict[str, tuple[type, ...]]] = {
    "ready": {"pid": _INT},
    "started": {"spec_sha256": _STR, "out": _STR, "device": _STR, "arithmetic": _STR},
    "progress": {"step": _INT, "steps": _INT, "loss": _OPT_NUM, "samples_per_s": _NUM, "eta_s": _NUM},
    "checkpoint": {"index": _INT, "step": _INT, "leaf": _STR, "path": _STR},
    "paused": {"step": _OPT_INT},
    "resumed": {"step": _OPT_INT},
    "stopped": {"step": _OPT_INT},
    "done": {"resumed_from": _OPT_INT, "merkle_root": _STR, "leaves": _INT, "steps": _INT,
             "final_loss": _OPT_NUM, "metrics": (dict,)},
    "error": {"kind": _STR, "message": _STR, "hint": _OPT_STR},
    "free": {"jobs": _INT},
}
# what each command may carry: a start's paths are strings, so a hostile line is one error event
# naming the field, never a TypeError that kills a runner (and with it a job it could have served)
_COMMAND_SHAPES: dict[str, dict[str, tuple[type, ...]]] = {
    "start": {"spec": _STR, "out": _STR},
    "pause": {}, "resume": {}, "stop": {},
}
_START_OPTIONAL: dict[str, tuple[type, ...]] = {"device": _OPT_STR, "blobs": _OPT_STR, "progress_every_s": _NUM}


def encode(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), allow_nan=True) + "\n"


def decode(line: str, field: str) -> dict[str, Any]:
    """Parse one line; ``field`` is "cmd" or "event", whose value must be a known name."""
    try:
        msg = loads(line, limits=LINE_LIMITS, what="the line")
    except UntrustedJsonError as e:
        raise RunnerError(f"runner protocol: not JSON: {line[:80]!r} ({e.message})") from None
    names = COMMANDS if field == "cmd" else EVENTS
    if not isinstance(msg, dict) or msg.get(field) not in names:
        raise RunnerError(f"runner protocol: expected a {field} in {names}, got {line[:80]!r}")
    return msg


def _check_fields(msg: dict[str, Any], field: str, required: dict[str, tuple[type, ...]],
                  optional: dict[str, tuple[type, ...]], line: str) -> None:
    for name, types in (*required.items(), *optional.items()):
        if name not in msg:
            if name in required:
                raise RunnerError(f"runner protocol: {msg[field]} {field} lacks {name}: {line[:80]!r}")
            continue
        value = msg[name]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise RunnerError(f"runner protocol: {msg[field]} {field}'s {name} is {type(value).__name__} "
                              f"{value!r}, not {' or '.join(t.__name__ for t in types)}")


def decode_command(line: str) -> dict[str, Any]:
    """One line of the runner's stdin as a command whose fields have the types it needs."""
    msg = decode(line, "cmd")
    _check_fields(msg, "cmd", _COMMAND_SHAPES[msg["cmd"]], _START_OPTIONAL if msg["cmd"] == "start" else {}, line)
    return msg


def decode_event(line: str) -> RunnerEvent:
    """One line of the runner's stdout as a typed event: the one place its JSON is parsed.

    The runner is a separate process, so its output is checked like any input: a line that
    is not a known event with the fields (and field types) that event carries is a
    :class:`RunnerError` naming the field, never a KeyError in whoever reads it later."""
    msg = decode(line, "event")
    _check_fields(msg, "event", _SHAPES[msg["event"]], {}, line)
    return msg  # type: ignore[return-value]  # checked against _SHAPES above
