"""HttpStore keeps its connections open between requests, and survives a server that closed one."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import psutil
import pytest

from engine.storage import BlobServer, HttpStore
from tests.integration.storage.flaky import FlakyServer

DATA = b"a checkpoint" * 5000
SHA = hashlib.sha256(DATA).hexdigest()


def sockets_to(port: int) -> list[str]:
    """The states of this machine's TCP sockets connected to ``port`` (TIME_WAIT included)."""
    return [c.status for c in psutil.net_connections(kind="tcp") if c.raddr and c.raddr.port == port]


def test_many_requests_share_one_connection(client: HttpStore, server: BlobServer, tmp_path: Path) -> None:
    source = tmp_path / "ckpt.bin"
    source.write_bytes(DATA * 3)
    for _ in range(5):
        sha = client.put_bytes(DATA)
        assert client.has(sha)
        assert client.get_bytes(sha) == DATA
        client.get_file(client.put_file(source), tmp_path / "out.bin")
    # one open connection, and no closed ones: a connection per request leaves one TIME_WAIT each
    assert sockets_to(server.port) == [psutil.CONN_ESTABLISHED]
    client.close()


def test_a_connection_the_server_closed_is_replaced_without_a_retry(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="engine.storage.http")
    with FlakyServer(DATA, ["ok-then-close", "ok-then-close", "ok"]) as flaky:
        client = HttpStore(flaky.url, retries=0)  # a stale connection must not cost an attempt
        for _ in range(3):
            assert client.get_bytes(SHA) == DATA
        assert flaky.requests == 3
    assert not [r for r in caplog.records if "retry" in r.getMessage()]


def test_parallel_uploads_store_every_file_in_order(client: HttpStore, server: BlobServer, tmp_path: Path) -> None:
    paths = []
    for i in range(6):
        paths.append(tmp_path / f"ckpt-{i}.bin")
        paths[-1].write_bytes(DATA + bytes([i]) * (i * 1000))
    shas = client.put_files(paths)
    assert shas == [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
    assert all((server.root / sha).read_bytes() == p.read_bytes() for sha, p in zip(shas, paths))
