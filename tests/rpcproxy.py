"""A JSON-RPC proxy in front of a node that behaves like a public provider: it caps how many
blocks one ``eth_getLogs`` may span (answering as Alchemy does), can rate-limit (HTTP 429
every Nth request), and can be killed, so the client sees an endpoint die as it would.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests


class RpcProxy:
    def __init__(self, upstream: str, *, max_log_range: int | None = None, rate_limit_every: int = 0,
                 late_receipts: int = 0) -> None:
        self.upstream = upstream
        self.late_receipts = late_receipts  # this many receipt requests answered "not yet" (null) first
        self.max_log_range = max_log_range
        self.rate_limit_every = rate_limit_every
        self.requests = 0
        self.refused_ranges = 0
        self.rate_limited = 0
        self.methods: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> RpcProxy:
        self._thread.start()
        return self

    def kill(self) -> None:
        """The endpoint is gone: the port stops accepting connections."""
        self._server.shutdown()
        self._server.server_close()

    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        with self._lock:
            self.requests += 1
            self.methods.append(str(body.get("method")))
            limited = self.rate_limit_every and self.requests % self.rate_limit_every == 0
            if limited:
                self.rate_limited += 1
        if limited:
            return 429, None
        if body.get("method") == "eth_getTransactionReceipt":
            with self._lock:
                late = self.late_receipts > 0
                self.late_receipts -= late
            if late:   # a node that counts a mined transaction before it serves its receipt
                return 200, {"jsonrpc": "2.0", "id": body.get("id"), "result": None}
        if body.get("method") == "eth_getLogs" and self.max_log_range is not None:
            query = (body.get("params") or [{}])[0]
            start, end = int(query.get("fromBlock", "0x0"), 16), int(query.get("toBlock", "0x0"), 16)
            if end - start + 1 > self.max_log_range:
                with self._lock:
                    self.refused_ranges += 1
                return 200, {"jsonrpc": "2.0", "id": body.get("id"), "error": {
                    "code": -32600, "message": f"eth_getLogs is limited to a {self.max_log_range} block range"}}
        return 200, requests.post(self.upstream, json=body, timeout=30).json()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                status, answer = proxy.answer(body)
                data = json.dumps(answer).encode() if answer is not None else b"Too Many Requests"
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        return Handler
