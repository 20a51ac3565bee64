"""A real HTTP server that misbehaves on cue, to prove the client's retries.

Each GET takes the next behaviour from a script: ``"503"`` answers Service Unavailable,
``"truncate"`` sends half the body and closes, ``"reset"`` aborts the connection (RST) without
answering, ``"wrong"`` sends other bytes, ``"ok"`` sends the blob, ``"ok-then-close"`` sends it
and then closes the keep-alive connection without saying so (what an idle timeout does). When the script runs out it
keeps answering ``"ok"``. Every upload (``POST /blobs/``) is answered as if stored under the
address of other bytes: what a server that got the body damaged on the way would say.
"""

from __future__ import annotations

import hashlib
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from engine.storage.server import UPLOADS_HEADER


class FlakyServer:
    def __init__(self, blob: bytes, script: list[str]) -> None:
        self.blob = blob
        self.script = list(script)
        self.requests = 0
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with outer._lock:
                    outer.requests += 1
                    behaviour = outer.script.pop(0) if outer.script else "ok"
                getattr(self, "_" + behaviour.replace("-", "_"))()

            def do_HEAD(self) -> None:  # /health: the upload methods of today's server
                self.send_response(200)
                self.send_header(UPLOADS_HEADER, "POST, PUT")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                with outer._lock:
                    outer.requests += 1
                body = self.rfile.read(int(self.headers["Content-Length"]))
                self._send(201, hashlib.sha256(body + b"damaged").hexdigest().encode() + b"\n")

            def _503(self) -> None:
                self._send(503, b"overloaded, come back later")

            def _ok(self) -> None:
                self._send(200, outer.blob)

            def _ok_then_close(self) -> None:
                self._send(200, outer.blob)
                self.close_connection = True

            def _wrong(self) -> None:
                self._send(200, b"x" * len(outer.blob))

            def _truncate(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(outer.blob)))
                self.end_headers()
                self.wfile.write(outer.blob[: len(outer.blob) // 2])
                self.close_connection = True

            def _reset(self) -> None:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def __enter__(self) -> FlakyServer:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
