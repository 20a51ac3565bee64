"""Worker tests: the shared chain fixtures (one anvil per session, a snapshot per test) plus
a real blob server, a real SQLite history and a worker factory on CPU."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from engine.chain.market import TaskMarket
from engine.history import History
from engine.storage import BlobServer, HttpStore
from engine.worker import Worker
from engine.worker.config import WorkerConfig
from tests.integration.worker.helpers import CPU, Poster, quiet_policy

PLUGIN = "tests.integration.chain.fixtures"


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin(PLUGIN):
        config.pluginmanager.import_plugin(PLUGIN)


@pytest.fixture
def blob_server(tmp_path: Path) -> Iterator[BlobServer]:
    with BlobServer(tmp_path / "server-blobs") as server:
        yield server


@pytest.fixture
def store(blob_server: BlobServer) -> HttpStore:
    return HttpStore(blob_server.url)


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    h = History.open(tmp_path / "history.sqlite3")
    yield h
    h.close()


@pytest.fixture
def poster(market_for: Callable[[LocalAccount], TaskMarket], accounts: list[LocalAccount], store: HttpStore) -> Poster:
    return Poster(market_for(accounts[0]), store)


@pytest.fixture
def make_worker(market_for: Callable[[LocalAccount], TaskMarket], accounts: list[LocalAccount], store: HttpStore,
                history: History, tmp_path: Path) -> Callable[..., Worker]:
    """``make_worker(**config)``: a worker signing as dev account 1; a new call is a restart
    (new chain client, same history, same job folders)."""

    def make(*, cls: type[Worker] = Worker, listener: Any = None, account: int = 1, **config: Any) -> Worker:
        settings = {"ignore_idle": True, "device": "cpu", "poll_s": 0.05, "controller_poll_s": 0.05,
                        "progress_every_s": 0.1, "jobs_dir": tmp_path / "jobs", "blob_cache_dir": tmp_path / "cache"}
        settings.update(config)
        kwargs = {"listener": listener} if listener is not None else {}
        return cls(market_for(accounts[account]), store, history, config=WorkerConfig(**settings),
                   gpu_backend=CPU(), policy=quiet_policy(), user_idle=lambda: None, on_battery=lambda: None,
                   **kwargs)

    return make
