"""The control protocol: one JSON object per line, both ways, UTF-8.

Why lines of JSON: the messages are a handful of small commands; a line is trivially framed
on a socket or a pipe, readable with ``socat`` when debugging, and parsed by one call that
cannot execute anything. Every request is hostile input (any local process of this user may
connect): its size is capped *before* it is read in full (:data:`MAX_LINE`), its nesting
depth is checked before ``json.loads`` (:data:`MAX_DEPTH`), its fields are checked against
the command's schema, and every violation becomes one :class:`ProtocolError` answered as
``{"ok": false, "error": ..., "hint": ...}``; the connection's thread never crashes.

Requests:  ``{"cmd": "status"}``, ``{"cmd": "snooze", "seconds": 3600}``, ... (:class:`Command`).
Answers:   ``{"ok": true, "result": {...}}`` or ``{"ok": false, "error": "...", "hint": "..."}``.
Stream:    after ``{"cmd": "subscribe"}`` is answered, the service writes ``{"event": {...}}``
           (an :meth:`EngineEvent.to_json`) and ``{"status": {...}}`` lines until either side closes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from enum import Enum
from typing import Any

from engine.events import EngineEvent, Kind
from engine.service.errors import ProtocolError

MAX_LINE = 64 * 1024        # bytes of one message, newline included (a passphrase fits easily)
MAX_DEPTH = 4               # nesting of objects/arrays in a request
MAX_SNOOZE_S = 7 * 24 * 3600.0
MAX_TEXT = 1024             # characters of a string field (a pause reason, a passphrase)


class Command(str, Enum):
    """What a client may ask of the service."""

    STATUS = "status"
    PAUSE = "pause"
    RESUME = "resume"
    SNOOZE = "snooze"
    END_SNOOZE = "end_snooze"
    WITHDRAW = "withdraw"
    GAS_ESTIMATE = "gas_estimate"
    UNLOCK = "unlock"          # the keystore passphrase, sent by the app after asking the user
    RELOAD = "reload"          # settings or wallet changed: rebuild the worker (the job resumes)
    STOP = "stop"              # checkpoint, stop the worker and the service
    SUBSCRIBE = "subscribe"    # keep the connection open and stream events


@dataclass(frozen=True)
class Request:
    """A checked request: the command and its (checked) arguments."""

    command: Command
    seconds: float | None = None
    reason: str | None = None
    passphrase: str | None = None


_ALLOWED = {
    Command.SNOOZE: {"seconds"},
    Command.PAUSE: {"reason"},
    Command.UNLOCK: {"passphrase"},
}


def depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` in a JSON text (strings skipped), without parsing it."""
    deepest = level = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            level += 1
            deepest = max(deepest, level)
        elif ch in "]}":
            level -= 1
    return deepest


def decode_line(line: bytes) -> dict[str, Any]:
    """One message as a JSON object; a ProtocolError for anything else."""
    if len(line) > MAX_LINE:
        raise ProtocolError(f"message too long: over {MAX_LINE} bytes", hint="send one small JSON object per line")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("message is not UTF-8 text", hint="send one JSON object per line, UTF-8") from None
    if depth(text) > MAX_DEPTH:
        raise ProtocolError(f"message nested deeper than {MAX_DEPTH} levels", hint="send a flat JSON object")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise ProtocolError(f"message is not JSON: {e}", hint='send e.g. {"cmd": "status"}') from None
    if not isinstance(value, dict):
        raise ProtocolError(f"message is a JSON {type(value).__name__}, not an object",
                            hint='send e.g. {"cmd": "status"}')
    return value


def parse_request(message: dict[str, Any]) -> Request:
    """A decoded message checked against its command's fields."""
    name = message.get("cmd")
    try:
        command = Command(name)
    except ValueError:
        known = ", ".join(c.value for c in Command)
        shown = name if isinstance(name, str) and len(name) <= 40 else type(name).__name__
        raise ProtocolError(f"unknown command {shown!r}", hint=f"known commands: {known}") from None
    extra = set(message) - {"cmd"} - _ALLOWED.get(command, set())
    if extra:
        names = ", ".join(sorted(str(k)[:40] for k in extra)[:5])
        raise ProtocolError(f"{command.value}: unexpected field(s) {names}",
                            hint=f"{command.value} takes {sorted(_ALLOWED.get(command, set())) or 'no fields'}")
    if command is Command.SNOOZE:
        seconds = message.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds) \
                or not 0 < seconds <= MAX_SNOOZE_S:
            raise ProtocolError("snooze: seconds must be a number above 0 and at most a week",
                                hint='send e.g. {"cmd": "snooze", "seconds": 3600}')
        return Request(command, seconds=float(seconds))
    if command is Command.PAUSE:
        return Request(command, reason=_text(message, "reason", required=False))
    if command is Command.UNLOCK:
        return Request(command, passphrase=_text(message, "passphrase", required=True))
    return Request(command)


def _text(message: dict[str, Any], field: str, *, required: bool) -> str | None:
    value = message.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ProtocolError(f"{message.get('cmd')}: {field} must be text of at most {MAX_TEXT} characters")
    return value


def encode(message: dict[str, Any]) -> bytes:
    """One message as a line (compact JSON, UTF-8, newline-terminated)."""
    return json.dumps(message, separators=(",", ":"), default=str).encode() + b"\n"


def ok(result: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"ok": True, "result": result or {}}


def failure(message: str, hint: str | None) -> dict[str, Any]:
    return {"ok": False, "error": message, "hint": hint or ""}


def event_from_json(data: Any) -> EngineEvent:
    """An EngineEvent from the service's stream (the app's side); ProtocolError when malformed."""
    if not isinstance(data, dict):
        raise ProtocolError("event is not an object")
    try:
        task = data.get("task_id")
        payload = data.get("data") or {}
        if not isinstance(payload, dict) or not (task is None or isinstance(task, int)):
            raise ValueError("bad task_id or data")
        return EngineEvent(Kind(data["kind"]), str(data["message"]), task, payload, float(data["at"]))
    except (KeyError, ValueError, TypeError) as e:
        raise ProtocolError(f"malformed event from the service: {e}") from None
