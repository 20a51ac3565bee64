"""Requester tests: the shared chain fixtures, a real blob server, a real history database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

from engine.chain.market import TaskMarket
from engine.history import History
from engine.requester import Requester
from engine.storage import BlobServer, HttpStore, LocalStore

PLUGIN = "tests.integration.chain.fixtures"


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin(PLUGIN):
        config.pluginmanager.import_plugin(PLUGIN)


@pytest.fixture
def blob_server(tmp_path: Path) -> Iterator[BlobServer]:
    with BlobServer(tmp_path / "served-blobs") as server:
        yield server


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    h = History.open(tmp_path / "history.sqlite3")
    yield h
    h.close()


@pytest.fixture
def requester(market_for: Callable[[LocalAccount], TaskMarket], accounts: list[LocalAccount],
              blob_server: BlobServer, history: History, tmp_path: Path) -> Requester:
    """Dev account 1 posting through the blob server; its local store is the requester's own folder."""
    return Requester(market_for(accounts[1]), HttpStore(blob_server.url), history,
                     local=LocalStore(tmp_path / "local-blobs"))
