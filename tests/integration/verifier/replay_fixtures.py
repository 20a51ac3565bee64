"""Fixtures the verifier, v2 verifier and v2 jury tests share (a pytest plugin): the chain
fixtures, one tiny task trained once per session whose segments they replay, and a real blob
store per test. Each folder's conftest calls :func:`load` from ``pytest_configure``."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.storage import LocalStore
from tests.integration.verifier.commitments import TrainedJob, train_quick

PLUGINS = ("tests.integration.chain.fixtures", "tests.integration.verifier.replay_fixtures")


def load(config: pytest.Config) -> None:
    """Register the chain fixtures and these (once, whichever folder's conftest asks first)."""
    for plugin in PLUGINS:
        if not config.pluginmanager.has_plugin(plugin):
            config.pluginmanager.import_plugin(plugin)


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainedJob:
    return train_quick(tmp_path_factory.mktemp("trained"))


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "blobs")
