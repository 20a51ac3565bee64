"""The runner's JSON lines and the blob server's raw socket input, fuzzed."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import RunnerError
from engine.runner.protocol import decode, encode
from engine.storage.server import BlobServer
from tests.fuzz.strategies import FUZZ, json_values, mutated, text_mutated

PROGRESS = {"event": "progress", "step": 3, "steps": 40, "loss": 0.5, "samples_per_s": 100.0, "eta_s": 2.0}


@FUZZ
@given(st.one_of(mutated(PROGRESS).map(lambda m: encode(m) if isinstance(m, dict) else str(m)),
                 text_mutated(encode(PROGRESS).encode()).map(lambda b: b.decode("utf-8", "replace")),
                 json_values.map(str), st.text(max_size=100)))
def test_runner_lines_decode_or_fail_with_a_runner_error(line: str) -> None:
    try:
        msg = decode(line, "event")
    except RunnerError as e:
        assert e.message.startswith("runner protocol:")
        return
    assert isinstance(msg, dict) and isinstance(msg["event"], str)


SHA = "ab" * 32
REQUESTS = [
    b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
    f"PUT /blobs/{SHA} HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc".encode(),
    f"HEAD /blobs/{SHA} HTTP/1.1\r\n\r\n".encode(),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BlobServer]:
    with BlobServer(tmp_path_factory.mktemp("fuzz-blobs")) as s:
        yield s


def exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        try:
            c.sendall(request)
            c.shutdown(socket.SHUT_WR)
        except OSError:  # the server answered and closed before reading it all
            pass
        out = b""
        while True:
            try:
                chunk = c.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                return out
            out += chunk
    return out


@FUZZ
@given(st.one_of(st.sampled_from(REQUESTS).flatmap(text_mutated), st.binary(max_size=300)))
def test_the_blob_server_answers_raw_garbage_in_plain_text_and_stores_nothing(server: BlobServer,
                                                                               request: bytes) -> None:
    answer = exchange(server.port, request)
    if answer:  # silence is allowed only for a request that never finished (no blank line)
        assert answer.startswith(b"HTTP/1."), answer[:200]
        _, _, body = answer.partition(b"\r\n\r\n")
        assert b"<html" not in body.lower() and b"Traceback" not in body
    assert list(Path(server.root).iterdir()) == [] or all(p.name == SHA or p.name.startswith(".")
                                                          for p in Path(server.root).iterdir())
    assert exchange(server.port, REQUESTS[0]).startswith(b"HTTP/1.1 200")
