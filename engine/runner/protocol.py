"""The runner's control protocol: one JSON object per line, both ways.

Commands (engine -> runner, stdin)::

    {"cmd": "start", "spec": PATH, "out": DIR, "device": "auto|cpu|cuda", "blobs": DIR|null}
    {"cmd": "pause"}     hold at the next step boundary (memory kept)
    {"cmd": "resume"}
    {"cmd": "stop"}      save where it is, then exit 0 (also on SIGINT/SIGTERM or stdin EOF)

Events (runner -> engine, stdout)::

    ready {pid}                started {spec_sha256, out, device, resumed_from}
    progress {step, steps, loss, samples_per_s, eta_s}
    checkpoint {index, step, leaf, path}
    paused {step}  resumed {step}
    done {merkle_root, leaves, steps, final_loss, metrics}
    stopped {step}             error {kind, message, hint}
"""

from __future__ import annotations

import json
from typing import Any

from engine.errors import RunnerError
from engine.safejson import JsonLimits, UntrustedJsonError, loads

COMMANDS = ("start", "pause", "resume", "stop")
EVENTS = ("ready", "started", "progress", "checkpoint", "paused", "resumed", "done", "stopped", "error")
# A line is a small flat object; limits are checked before parsing (NaN stays legal: a loss can be).
LINE_LIMITS = JsonLimits(max_bytes=1 << 20, max_depth=8, max_items=10_000, max_string=1 << 16, finite_only=False)


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
