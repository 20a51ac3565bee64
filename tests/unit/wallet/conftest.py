from __future__ import annotations

import keyring
import pytest

from tests.unit.wallet.backends import MemoryKeyring

LIGHT_SCRYPT_N = 1024  # geth's standard is 262144; the tests that check it say so


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> MemoryKeyring:
    """keyring's chosen backend is an in-memory one for this test."""
    backend = MemoryKeyring()
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.setattr(keyring.core, "_keyring_backend", backend)
    return backend


@pytest.fixture
def chosen_backend(monkeypatch: pytest.MonkeyPatch):
    """Select a backend by name through PYTHON_KEYRING_BACKEND, as a user would."""

    def choose(name: str) -> None:
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", name)
        monkeypatch.setattr(keyring.core, "_keyring_backend", None)

    return choose
