"""A real HTTP price feed on 127.0.0.1 for the tests: it answers whatever the test sets
(status, content type, body, extra headers), counts the requests, and can hold an answer
back until released (to prove a timeout without racing a clock).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Answer:
    body: bytes = b'{"ethereum": {"usd": 3412.5}}'
    status: int = 200
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    hold: bool = False


class PriceServer:
    def __init__(self) -> None:
        self.answer = Answer()
        self.requests = 0
        self.release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/price"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                answer = server.answer
                if answer.hold:
                    server.release.wait(30)
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def price_server() -> Iterator[PriceServer]:
    server = PriceServer()
    server._thread.start()
    try:
        yield server
    finally:
        server.close()
