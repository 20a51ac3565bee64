"""The blob server's HTTP API spoken by hand: statuses, path validation, hash and size checks, safety."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import struct
import threading
import time
from pathlib import Path

import pytest

from engine.storage import BlobServer
from engine.storage.errors import StorageError, StorageRootError
from tests.integration.storage.conftest import requests_seen

DATA = b"spec bytes" * 100
SHA = hashlib.sha256(DATA).hexdigest()


def call(server: BlobServer, method: str, path: str, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def raw(server: BlobServer, request: bytes, *, shut: bool = False) -> bytes:
    """Send bytes as they are and read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(request)
        if shut:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_health_answers_json(server: BlobServer) -> None:
    status, headers, body = call(server, "GET", "/health")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"service": "idlegrid-blobs", "status": "ok", "max_size": 512 << 20}


def test_put_creates_then_reports_already_there(server: BlobServer) -> None:
    status, headers, body = call(server, "PUT", f"/blobs/{SHA}", DATA)
    assert (status, body, headers["Location"]) == (201, f"{SHA}\n".encode(), f"/blobs/{SHA}")
    assert call(server, "PUT", f"/blobs/{SHA}", DATA)[0] == 200
    assert (server.root / SHA).read_bytes() == DATA


def test_get_and_head_serve_the_blob_with_its_length_and_etag(server: BlobServer) -> None:
    call(server, "PUT", f"/blobs/{SHA}", DATA)
    status, headers, body = call(server, "GET", f"/blobs/{SHA}")
    assert (status, body) == (200, DATA)
    assert headers["Content-Length"] == str(len(DATA)) and headers["ETag"] == f'"{SHA}"'
    assert headers["X-Max-Size"] == str(512 << 20) and "Python" not in headers["Server"]
    status, headers, body = call(server, "HEAD", f"/blobs/{SHA}")
    assert (status, body, headers["Content-Length"]) == (200, b"", str(len(DATA)))


def test_an_unknown_blob_is_404_and_an_unknown_route_too(server: BlobServer) -> None:
    assert call(server, "GET", f"/blobs/{SHA}")[0] == 404
    assert call(server, "HEAD", f"/blobs/{SHA}")[0] == 404
    status, _, body = call(server, "GET", "/etc/passwd")
    assert status == 404 and b"use /blobs/<sha256> or /health" in body


@pytest.mark.parametrize("name", [SHA.upper(), SHA[:63], SHA + "0", "..%2F..%2Fetc%2Fpasswd",
                                  f"{SHA}/extra", f"../{SHA[3:]}", ""])
def test_only_64_lowercase_hex_digits_are_a_blob_path(server: BlobServer, name: str) -> None:
    for method, body in (("GET", None), ("PUT", DATA)):
        status, _, text = call(server, method, f"/blobs/{name}", body)
        assert status == 400 and b"is not a blob address (64 lowercase hex digits" in text
    assert sorted(os.listdir(server.root)) == []


def test_a_body_that_does_not_match_its_address_is_refused(server: BlobServer) -> None:
    status, _, text = call(server, "PUT", f"/blobs/{SHA}", b"something else")
    assert status == 400
    assert text.decode() == f"the body hashes to {hashlib.sha256(b'something else').hexdigest()}, not {SHA}\n"
    assert os.listdir(server.root) == []


def test_post_stores_the_body_under_its_own_address(server: BlobServer) -> None:
    status, headers, text = call(server, "POST", "/blobs/", DATA)
    assert (status, text, headers["Location"]) == (201, f"{SHA}\n".encode(), f"/blobs/{SHA}")
    assert call(server, "POST", "/blobs/", DATA)[:3:2] == (200, f"{SHA}\n".encode())  # already there
    assert call(server, "GET", f"/blobs/{SHA}")[2] == DATA and os.listdir(server.root) == [SHA]


@pytest.mark.parametrize("request_line, status, says", [
    (f"POST /blobs/{SHA}", 404, b"upload to /blobs/"),
    ("PUT /blobs/not-an-address", 400, b"is not a blob address"),
    ("PUT /elsewhere", 404, b"no route"),
])
def test_a_refused_uploads_body_is_never_taken_for_a_request(server: BlobServer, request_line: str, status: int,
                                                             says: bytes) -> None:
    smuggled = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    answer = raw(server, f"{request_line} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(smuggled)}\r\n\r\n".encode()
                 + smuggled)
    assert answer.startswith(f"HTTP/1.1 {status} ".encode()) and says in answer
    assert answer.count(b"HTTP/1.1 ") == 1 and b"Connection: close" in answer


@pytest.mark.parametrize("method, path", [("PUT", f"/blobs/{SHA}"), ("POST", "/blobs/")])
def test_a_body_over_the_limit_is_413_and_nothing_is_stored(tmp_path: Path, method: str, path: str) -> None:
    with BlobServer(tmp_path / "root", max_size=100) as small:
        status, headers, text = call(small, method, path, DATA)
        assert status == 413 and headers["X-Max-Size"] == "100"
        assert text.decode() == "a blob of 1,000 bytes is above this server's limit of 100 bytes\n"
        assert os.listdir(small.root) == []
        assert call(small, "GET", "/health")[0] == 200


@pytest.mark.parametrize("request_line", [f"PUT /blobs/{SHA}", "POST /blobs/"])
def test_expect_100_continue_is_refused_before_the_body_is_sent(tmp_path: Path, request_line: str) -> None:
    with BlobServer(tmp_path / "root", max_size=100) as small:
        answer = raw(small, (f"{request_line} HTTP/1.1\r\nHost: x\r\nContent-Length: {10**9}\r\n"
                             "Expect: 100-continue\r\n\r\n").encode())
    assert answer.startswith(b"HTTP/1.1 413 ") and b"100 Continue" not in answer


def test_expect_100_continue_within_the_limit_continues(server: BlobServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall((f"PUT /blobs/{SHA} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(DATA)}\r\n"
                   "Expect: 100-continue\r\nConnection: close\r\n\r\n").encode())
        assert s.recv(100).startswith(b"HTTP/1.1 100 Continue")
        s.sendall(DATA)
        assert b" 201 Created" in s.recv(1000)


def test_an_upload_without_a_length_is_411(server: BlobServer) -> None:
    answer = raw(server, f"PUT /blobs/{SHA} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "5\r\nhello\r\n0\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 411 ") and b"chunked uploads are not supported" in answer


@pytest.mark.parametrize("method, path", [("PUT", f"/blobs/{SHA}"), ("POST", "/blobs/")])
def test_an_upload_cut_short_leaves_nothing_behind(server: BlobServer, request_log, method: str, path: str) -> None:
    raw(server, f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(DATA)}\r\n\r\n".encode()
        + DATA[:10], shut=True)
    deadline = time.monotonic() + 5
    while not any("upload stopped" in r.getMessage() for r in request_log.records) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert os.listdir(server.root) == []
    assert any("upload stopped after 10 of 1000 bytes" in r.getMessage() for r in request_log.records)
    assert call(server, method, path, DATA)[0] == 201


@pytest.mark.parametrize("junk", [b"GARBAGE\r\n\r\n", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n",
                                  b"GET /health HTTP/1.1\r\nContent-Length: x\r\n" + b"H: v\r\n" * 200 + b"\r\n"])
def test_junk_gets_an_error_and_the_server_stays_quiet_and_up(server: BlobServer, junk: bytes,
                                                              capfd: pytest.CaptureFixture[str]) -> None:
    answer = raw(server, junk, shut=True)  # HTTP/0.9-style junk gets the error page without a status line
    assert b"400" in answer or b"431" in answer
    assert call(server, "GET", "/health")[0] == 200
    assert capfd.readouterr().err == ""


def test_a_client_leaving_mid_download_is_a_log_line_not_a_traceback(server: BlobServer, request_log,
                                                                    capfd: pytest.CaptureFixture[str]) -> None:
    data = os.urandom(16 << 20)
    sha = hashlib.sha256(data).hexdigest()
    (server.root / sha).write_bytes(data)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(f"GET /blobs/{sha} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert s.recv(100).startswith(b"HTTP/1.1 200 OK")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
    requests_seen(request_log, "GET", at_least=1)
    assert call(server, "GET", "/health")[0] == 200
    assert capfd.readouterr().err == ""
    assert any("stopped" in r.getMessage() for r in request_log.records)


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_concurrent_uploads_of_one_blob_are_safe(server: BlobServer, method: str) -> None:
    data = os.urandom(2 << 20)
    sha = hashlib.sha256(data).hexdigest()
    statuses: list[int] = []
    barrier = threading.Barrier(8)

    def put() -> None:
        barrier.wait()
        statuses.append(call(server, method, f"/blobs/{sha}" if method == "PUT" else "/blobs/", data)[0])

    threads = [threading.Thread(target=put) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(set(statuses)) <= [200, 201] and len(statuses) == 8 and 201 in statuses
    assert os.listdir(server.root) == [sha]
    assert hashlib.sha256((server.root / sha).read_bytes()).hexdigest() == sha


def test_each_request_is_one_log_line(server: BlobServer, request_log) -> None:
    call(server, "PUT", f"/blobs/{SHA}", DATA)
    call(server, "GET", f"/blobs/{SHA}")
    call(server, "GET", "/blobs/nope")
    requests_seen(request_log, "GET", at_least=2)
    requests_seen(request_log, "PUT", at_least=1)
    lines = [r.getMessage() for r in request_log.records if r.name == "engine.storage.server"
             and '"' in r.getMessage()]
    assert len(lines) == 3
    # each connection's thread logs after answering, so two requests' lines may swap places
    for expected in (
        f'"PUT /blobs/{SHA}" 201 1000 bytes',
        f'"GET /blobs/{SHA}" 200 1000 bytes',
        '"GET /blobs/nope" 400',
    ):
        assert sum(expected in line for line in lines) == 1, (expected, lines)


def test_stale_partial_uploads_are_cleaned_at_start(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    stale, fresh = root / ".partial-old", root / ".partial-new"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"y")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    with BlobServer(root):
        assert not stale.exists() and fresh.exists()


def test_a_root_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(StorageRootError, match="is a file, not a folder"):
        BlobServer(tmp_path / "f")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "ro"
    root.mkdir(mode=0o555)
    with pytest.raises(StorageRootError, match="is not writable") as e:
        BlobServer(root)
    assert "--root" in e.value.hint


def test_a_port_in_use_names_another(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(StorageError, match=f"port {port} on 127.0.0.1 is already in use") as e:
            BlobServer(tmp_path, port=port).start()
    assert f"--port {port + 1}" in e.value.hint


def test_stop_then_start_serves_again_on_the_same_port(tmp_path: Path) -> None:
    server = BlobServer(tmp_path).start()
    port = server.port
    server.stop()
    server.start()
    try:
        assert server.port == port and call(server, "GET", "/health")[0] == 200
    finally:
        server.stop()
