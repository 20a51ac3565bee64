"""Fixtures the verifier, v2 verifier and v2 jury tests share (a pytest plugin): the chain
fixtures, one tiny task trained once per session whose segments they replay, and a real blob
store per test. Each folder's conftest calls :func:`load` from ``pytest_configure``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from engine.storage import LocalStore
from tests.integration.verifier.commitments import TrainedJob, train_quick

CHAIN_FIXTURES = "tests.integration.chain.fixtures"


def load(config: pytest.Config) -> None:
    """Register the chain fixtures and these (once, whichever folder's conftest asks first).
    This module is registered as the object the conftest already imported: importing it again
    as a plugin would come too late for pytest's assertion rewriting."""
    manager = config.pluginmanager
    if not manager.has_plugin(CHAIN_FIXTURES):
        manager.import_plugin(CHAIN_FIXTURES)
    if not manager.has_plugin(__name__):
        manager.register(sys.modules[__name__], __name__)


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainedJob:
    return train_quick(tmp_path_factory.mktemp("trained"))


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "blobs")
