"""A blob server from before ``POST /blobs/`` (PUT only, no X-Upload-Methods on /health) still
takes this client's uploads: strangers run servers of other versions."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from engine.storage import HttpStore


class PutOnlyServer:
    """The old routes: HEAD/GET /health, PUT /blobs/<sha256> checked against its body; POST is 405."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.methods: list[str] = []
        store = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self, status: int, body: bytes = b"") -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("X-Max-Size", str(1 << 30))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_HEAD(self) -> None:
                store.methods.append(f"HEAD {self.path}")
                self._answer(200 if self.path == "/health" else 404)

            def do_PUT(self) -> None:
                store.methods.append("PUT")
                body = self.rfile.read(int(self.headers["Content-Length"]))
                sha = self.path.removeprefix("/blobs/")
                if hashlib.sha256(body).hexdigest() != sha:
                    self._answer(400, b"body does not match its address\n")
                    return
                store.blobs[sha] = body
                self._answer(201)

            def do_POST(self) -> None:
                store.methods.append("POST")
                self.close_connection = True
                self._answer(405, b"method 'POST' is not supported\n")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def old_server() -> Iterator[PutOnlyServer]:
    server = PutOnlyServer()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_uploads_to_a_server_without_post_go_by_put(old_server: PutOnlyServer, tmp_path: Path) -> None:
    client = HttpStore(old_server.url)
    file = tmp_path / "checkpoint.bin"
    file.write_bytes(bytes(range(256)) * 4000)
    sha_file, sha_bytes = client.put_file(file), client.put_bytes(b"a spec")
    assert old_server.blobs[sha_file] == file.read_bytes() and old_server.blobs[sha_bytes] == b"a spec"
    assert old_server.methods == ["HEAD /health", "PUT", "PUT"]  # asked once, never a POST
