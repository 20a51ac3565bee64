"""Talking to the engine service: one request, or the event stream; and starting the service.

Used by the CLI (``idlegrid status`` and friends) and by the app (through a thread of its own,
see ``app.engine_host``). No Qt and no heavy imports here: the GUI process imports this module.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any

from engine.config import paths
from engine.service.address import Address, address
from engine.service.errors import CommandFailed, NotRunning, ProtocolError, ServiceError
from engine.service.protocol import decode_line, encode
from engine.service.transport import Stream, connect_pipe, connect_socket
from engine.spawn import idlegrid_command

CONNECT_TIMEOUT_S = 2.0
ANSWER_TIMEOUT_S = 120.0    # a withdrawal waits for its transaction to be mined


def connect(where: Address | None = None, timeout: float = CONNECT_TIMEOUT_S) -> Stream:
    """A connection to the service; NotRunning when nothing answers."""
    where = where or address()
    try:
        if where.pipe:
            return connect_pipe(where.endpoint)
        return connect_socket(where.endpoint, timeout)
    except OSError:
        raise NotRunning(where.endpoint) from None


def request(command: str, *, where: Address | None = None, timeout: float = ANSWER_TIMEOUT_S,
            **fields: Any) -> dict[str, Any]:
    """Send one command and return its result; CommandFailed with the service's own message."""
    stream = connect(where)
    try:
        stream.settimeout(timeout)
        stream.write(encode({"cmd": command, **fields}))
        answer = _read(stream)
    except OSError as e:
        raise ServiceError(f"the engine service did not answer {command!r}: {e}",
                           hint="see `idlegrid status`; the service's log is in the data folder's logs/") from None
    finally:
        stream.close()
    if answer is None:
        raise ServiceError(f"the engine service closed the connection before answering {command!r}",
                           hint="it may be stopping; see `idlegrid status`")
    return _result(answer)


def is_running(where: Address | None = None) -> bool:
    try:
        request("status", where=where, timeout=CONNECT_TIMEOUT_S)
        return True
    except ServiceError:
        return False


def subscribe(where: Address | None = None) -> Generator[dict[str, Any], None, None]:
    """The event stream: ``{"event": ...}``, ``{"status": ...}`` and ``{"ping": true}`` messages,
    until the service closes the connection (the iterator ends) or the caller stops iterating."""
    stream = connect(where)
    try:
        stream.write(encode({"cmd": "subscribe"}))
        stream.settimeout(None)
        first = _read(stream)
        if first is None:
            raise ServiceError("the engine service closed the connection at once", hint="it may be stopping")
        _result(first)
        while (message := _read(stream)) is not None:
            if message.get("ok") is False:
                return
            yield message
    except OSError:
        return
    finally:
        stream.close()


def _read(stream: Stream) -> dict[str, Any] | None:
    line = stream.read_line()
    return None if line is None else decode_line(line)


def _result(answer: dict[str, Any]) -> dict[str, Any]:
    result = answer.get("result")
    if answer.get("ok") is True and isinstance(result, dict):
        return result
    if answer.get("ok") is False:
        raise CommandFailed(str(answer.get("error")), hint=str(answer.get("hint") or "") or None)
    raise ProtocolError(f"unexpected answer from the engine service: {str(answer)[:200]}")


def log_path() -> Path:
    return paths().log_dir / "daemon.log"


def spawn(args: Sequence[str] = (), *, wait_s: float = 30.0, where: Address | None = None) -> subprocess.Popen[bytes]:
    """Start ``idlegrid daemon run ARGS`` detached (its own session: it outlives the caller),
    logging to ``logs/daemon.log``; return once it answers, or raise with its log's tail."""
    log = log_path()
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        child = subprocess.Popen(idlegrid_command("daemon", "run", *args), stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if is_running(where):
            return child
        if child.poll() is not None:
            if is_running(where):  # another client started one first: ours saw its lock and left
                return child
            tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
            raise ServiceError(f"the engine service stopped at start (exit code {child.returncode}): "
                               + " / ".join(tail), hint=f"its full log is {log}")
        time.sleep(0.1)
    raise ServiceError(f"the engine service did not answer within {wait_s:.0f} s", hint=f"see its log {log}")


def stop(where: Address | None = None, wait_s: float = 90.0) -> bool:
    """Ask the service to stop and wait until it no longer answers; False when none ran."""
    try:
        request("stop", where=where)
    except NotRunning:
        return False
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and is_running(where):
        time.sleep(0.2)
    return True
