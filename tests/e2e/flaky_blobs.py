"""A blob server that lies: a proxy in front of a real BlobServer that corrupts what it serves.

Clients must never trust a server's bytes: they check every blob against its sha256 address.
This proxy flips one byte of the next ``n`` responses for a blob (or of every response), so a
test can show that a client rejects the bytes by their hash, retries, and gets on with the
right ones, or gives up with a clear reason when the server never stops lying.
Uploads, HEAD and ``/health`` pass through unchanged, but can be slowed down
(``put_delay_s``) so a test can kill an uploader in the middle of its uploads.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

BLOBS = "/blobs/"
ALWAYS = -1


class _QuietServer(ThreadingHTTPServer):
    """A client killed mid-request (the tests kill -9 workers) is no error worth a traceback."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class FlakyBlobProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.lock = threading.Lock()
        self.corrupt: dict[str, int] = {}     # sha256 -> responses still to corrupt (ALWAYS: all)
        self.gets: Counter[str] = Counter()   # sha256 -> GETs answered
        self.corrupted: Counter[str] = Counter()
        self.puts = 0                         # uploads answered
        self.put_delay_s = 0.0                # held this long before each upload is passed on
        self.put_seen = threading.Event()     # set at the first upload after ``put_delay_s`` was set
        self._httpd = _QuietServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="flaky-blobs", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def corrupt_next(self, sha256: str, times: int = 1) -> None:
        with self.lock:
            self.corrupt[sha256] = times

    def corrupt_always(self, sha256: str) -> None:
        self.corrupt_next(sha256, ALWAYS)

    def _take(self, sha256: str) -> bool:
        """Whether to corrupt this response (and count it)."""
        with self.lock:
            self.gets[sha256] += 1
            left = self.corrupt.get(sha256, 0)
            if left == 0:
                return False
            if left > 0:
                self.corrupt[sha256] = left - 1
            self.corrupted[sha256] += 1
            return True

    def start(self) -> FlakyBlobProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def __enter__(self) -> FlakyBlobProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _forward(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "content-length")}
                up = requests.request(method, proxy.upstream + self.path, data=body, headers=headers, timeout=30)
                data = up.content
                if method == "GET" and up.ok and self.path.startswith(BLOBS):
                    sha = self.path[len(BLOBS):]
                    if data and proxy._take(sha):
                        data = data[:-1] + bytes([data[-1] ^ 0xFF])
                self.send_response(up.status_code)
                for k, v in up.headers.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data) if method != "HEAD"
                                                       else int(up.headers.get("Content-Length", 0))))
                self.end_headers()
                if method != "HEAD":
                    self.wfile.write(data)

            def do_GET(self) -> None:
                self._forward("GET")

            def do_HEAD(self) -> None:
                self._forward("HEAD")

            def do_PUT(self) -> None:
                self._upload("PUT")

            def do_POST(self) -> None:  # the client's uploads: POST /blobs/
                self._upload("POST")

            def _upload(self, method: str) -> None:
                if proxy.put_delay_s:
                    proxy.put_seen.set()
                    time.sleep(proxy.put_delay_s)
                self._forward(method)
                with proxy.lock:
                    proxy.puts += 1

        return Handler
