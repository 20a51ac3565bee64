"""JSON-RPC over kept-alive connections: one connection serves many requests, a connection the
node closed while idle costs nothing, and HTTP failures reach the retrying provider as before."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine.chain.errors import RpcError, RpcUnreachable
from engine.chain.rpc import RetryPolicy, connect
from engine.chain.transport import proxied

FAST = RetryPolicy(attempts=2, first_delay=0.05, factor=2.0)


class FakeNode:
    """A JSON-RPC server over HTTP/1.1 that counts connections; ``close_after`` requests it shuts a
    connection without a word (as a node does with an idle keep-alive connection), ``status``
    answers every request with that HTTP status."""

    def __init__(self, *, close_after: int = 0, status: int = 200) -> None:
        self.connections = 0
        self.requests = 0
        self.close_after = close_after
        self.status = status
        node = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                node.connections += 1
                self.served = 0

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                node.requests += 1
                self.served += 1
                answer = json.dumps({"jsonrpc": "2.0", "id": body["id"], "result": "0x7a69"}).encode()
                self.send_response(node.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
                self.wfile.flush()
                if node.close_after and self.served >= node.close_after:
                    self.connection.shutdown(socket.SHUT_RDWR)  # no "Connection: close": the client finds out
                    self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def node() -> Iterator[FakeNode]:
    n = FakeNode()
    yield n
    n.stop()


def test_one_connection_serves_every_request_of_a_thread(node: FakeNode) -> None:
    w3 = connect(node.url, policy=FAST)
    for _ in range(20):
        assert w3.eth.chain_id == 31337
    assert node.requests == 21 and node.connections == 1


def test_each_thread_has_its_own_connection(node: FakeNode) -> None:
    w3 = connect(node.url, policy=FAST)
    answers: list[int] = []
    threads = [threading.Thread(target=lambda: answers.extend(w3.eth.chain_id for _ in range(5))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert answers == [31337] * 15 and node.connections == 4  # connect's thread and three more


def test_a_connection_the_node_closed_while_idle_is_replaced_without_an_error() -> None:
    node = FakeNode(close_after=1)
    try:
        w3 = connect(node.url, policy=RetryPolicy(attempts=1))  # no retries: the transport must cope itself
        for _ in range(5):
            assert w3.eth.chain_id == 31337
        assert node.requests == 6 and node.connections == 6
    finally:
        node.stop()


@pytest.mark.parametrize(("status", "error"), [(403, RpcError), (503, RpcUnreachable)])
def test_an_http_error_status_is_one_clear_error(status: int, error: type[Exception]) -> None:
    node = FakeNode(status=status)
    try:
        with pytest.raises(error) as raised:
            connect(node.url, policy=FAST)
        assert (f"HTTP {status}" in str(raised.value)) if error is RpcError else raised.value.attempts == 2
    finally:
        node.stop()


def test_an_endpoint_behind_a_configured_proxy_goes_through_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "localhost")
    assert proxied("http://node.example:8545")
    assert not proxied("http://localhost:8545")
    monkeypatch.delenv("HTTP_PROXY")
    assert not proxied("http://node.example:8545")
