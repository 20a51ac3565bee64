"""The engine service as a real process: its control API, one instance per data folder, recovery
after kill -9, and hostile clients. The service runs with ``--network`` and no network set, so
its worker cannot start: it reports why (an ERROR state) and keeps serving the API."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.service import client
from engine.service.address import address
from engine.service.errors import NotRunning, ProtocolError
from engine.service.lock import holder
from engine.service.server import MAX_CLIENTS
from engine.service.transport import PipeListener, connect_pipe
from tests.conftest import REPO

START_S = 60.0
pytestmark = pytest.mark.slow  # real service processes, several seconds each


def idlegrid(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=REPO,
                          capture_output=True, text=True, check=False, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


def start_daemon(log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "engine", "daemon", "run", "--network"], cwd=REPO,
                                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(REPO)})
    wait(lambda: client.is_running() or proc.poll() is not None, START_S)
    assert proc.poll() is None, log.read_text()
    return proc


def wait(condition, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    done = threading.Event()
    deadline = timeout
    while deadline > 0:
        if condition():
            return True
        done.wait(0.1)
        deadline -= 0.1
    return bool(condition())


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    proc = start_daemon(tmp_path / "daemon.log")
    yield proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)


def raw(payload: bytes, *, read: int = 4096) -> list[dict[str, object]]:
    """Send raw bytes on the service's socket; its answers, one dict per line."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(30)
        s.connect(address().endpoint)
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := s.recv(read):
            data += chunk
    return [json.loads(line) for line in data.splitlines() if line]


def test_the_cli_says_plainly_when_no_service_runs() -> None:
    done = idlegrid("status")
    assert done.returncode == 3
    assert done.stderr.startswith("error: the idlegrid engine service is not running")
    assert "hint: start it with `idlegrid daemon run`" in done.stderr and "Traceback" not in done.stderr


def test_the_service_answers_status_and_says_why_its_worker_cannot_start(daemon) -> None:  # type: ignore[no-untyped-def]
    assert wait(lambda: client.request("status")["state"] == "error", 30)
    status = client.request("status")
    assert status["pid"] == daemon.pid and status["running"] is False and "no wallet is set up" in status["reason"]
    done = idlegrid("status")
    assert done.returncode == 0 and done.stdout.startswith(f"engine service: running (pid {daemon.pid}")
    assert "state: error: " in done.stdout
    assert idlegrid("snooze", "30m").stderr.startswith("error: the engine is not working yet")
    assert "state: paused" not in idlegrid("resume").stdout


def test_every_hostile_message_gets_one_clear_error_and_the_service_goes_on(daemon) -> None:  # type: ignore[no-untyped-def]
    payloads = [b'{"cmd": "rm -rf"}', b"[" * 60_000, b"\xff\xfe", b'{"cmd": "snooze", "seconds": "soon"}',
                b"null", b'{"cmd": "status", "x": {"y": {"z": {"w": {}}}}}', b"{}", b'{"cmd":"pause","reason":7}']
    answers = raw(b"\n".join(payloads) + b"\n" + b'{"cmd": "status"}\n')
    assert [a["ok"] for a in answers] == [False] * len(payloads) + [True]
    assert all(a["error"] and isinstance(a["error"], str) for a in answers[:-1])
    [too_long] = raw(b"x" * 200_000)                 # no newline at all: one answer, then it hangs up
    assert too_long["ok"] is False and "too long" in str(too_long["error"])
    assert client.request("status")["pid"] == daemon.pid


def test_connections_beyond_the_limit_are_refused_with_a_reason(daemon) -> None:  # type: ignore[no-untyped-def]
    held = [client.connect() for _ in range(MAX_CLIENTS)]
    try:
        assert wait(lambda: True, 0.5)
        [answer] = raw(b'{"cmd": "status"}\n')
        assert answer["ok"] is False and "too many connections" in str(answer["error"])
    finally:
        for stream in held:
            stream.close()
    assert wait(lambda: client.is_running(), 30)


def test_a_subscriber_first_gets_the_current_state_then_the_stream(daemon) -> None:  # type: ignore[no-untyped-def]
    assert wait(lambda: client.request("status")["state"] == "error", 30)
    stream = client.subscribe()
    error, state = next(stream)["event"], next(stream)["event"]   # the error that put it there, then the state
    assert error["kind"] == "error" and error["data"]["hint"]
    assert state["kind"] == "state" and state["data"]["state"] == "error"
    assert next(stream)["status"]["pid"] == daemon.pid
    client.request("reload")                      # the service tries to build its worker again, live
    for message in stream:
        event = message.get("event")
        if isinstance(event, dict) and event["kind"] == "state" and event["data"]["state"] == "starting":
            break
    stream.close()


def test_a_second_service_for_the_same_folder_is_refused_and_names_the_first(daemon) -> None:  # type: ignore[no-untyped-def]
    done = idlegrid("daemon", "run", "--network")
    assert done.returncode == 1
    assert f"an idlegrid engine service already runs for this data folder (process {daemon.pid})" in done.stderr
    assert client.request("status")["pid"] == daemon.pid


def test_after_kill_9_a_new_service_takes_over_the_stale_socket_and_lock(tmp_path: Path) -> None:
    first = start_daemon(tmp_path / "first.log")
    endpoint = Path(address().endpoint)
    first.kill()                                   # SIGKILL: no cleanup at all
    first.wait()
    assert endpoint.exists()                       # the dead service's socket file is still there
    assert holder(address().lock) == first.pid     # ... and so is its pid in the lock file
    with pytest.raises(NotRunning):
        client.request("status")
    second = start_daemon(tmp_path / "second.log")
    try:
        assert client.request("status")["pid"] == second.pid
    finally:
        assert idlegrid("daemon", "stop").stdout.startswith("idlegrid daemon: stopped")
        second.wait(60)
    assert second.returncode == 0 and not endpoint.exists()
    assert idlegrid("daemon", "stop").stdout == "idlegrid daemon: was not running\n"


def test_the_named_pipe_transport_frames_messages_and_caps_their_size(tmp_path: Path) -> None:
    """The Windows transport (multiprocessing.connection), run here over AF_UNIX."""
    where = str(tmp_path / "pipe")
    listener = PipeListener(where, family="AF_UNIX")
    got: list[object] = []

    def serve() -> None:
        stream = listener.accept()
        got.append(stream.read_line())
        stream.write(b'{"ok":true}\n')
        try:
            stream.read_line()
        except ProtocolError as e:
            got.append(e.message)
        stream.close()

    server = threading.Thread(target=serve)
    server.start()
    stream = connect_pipe(where, family="AF_UNIX")
    stream.write(b'{"cmd":"status"}\n')
    assert stream.read_line() == b'{"ok":true}'
    with contextlib.suppress(OSError):  # the server may hang up before the whole message is written
        stream.write(b"x" * 100_000)
    server.join(30)
    stream.close()
    listener.close()
    assert got == [b'{"cmd":"status"}', "message too long: over 65536 bytes"]
