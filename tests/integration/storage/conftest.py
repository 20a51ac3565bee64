"""A real blob server on a free port per test, and a client with fast retries."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.storage import BlobServer, HttpStore

SERVER_LOG = "engine.storage.server"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[BlobServer]:
    with BlobServer(tmp_path / "server-root") as running:
        yield running


@pytest.fixture
def client(server: BlobServer) -> HttpStore:
    return HttpStore(server.url, timeout=5.0, retries=2, backoff=0.01)


@pytest.fixture
def request_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """The server's request lines (one per request), captured."""
    caplog.set_level(logging.INFO, logger=SERVER_LOG)
    return caplog


def requests_seen(caplog: pytest.LogCaptureFixture, method: str, *, at_least: int = 0) -> list[str]:
    """The request lines for ``method``, once there are ``at_least`` of them: the server logs a
    request just after answering it, so the line may trail the client's return by a moment."""
    deadline = time.monotonic() + 5
    while True:
        lines = [r.getMessage() for r in list(caplog.records)
                 if r.name == SERVER_LOG and f'"{method} /' in r.getMessage()]
        if len(lines) >= at_least or time.monotonic() > deadline:
            return lines
        time.sleep(0.01)
