"""Real-keyring tests: a private Secret Service (dbus + gnome-keyring) for the session.

It is started by pytest itself, so `pytest` alone runs these tests. When it cannot start
they fail with the reason, unless IDLEGRID_ALLOW_NO_KEYRING=1 says to skip them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

from tests.integration.wallet import secret_service


@pytest.fixture(scope="session")
def secret_service_bus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    try:
        with secret_service.running(tmp_path_factory.mktemp("secret-service")) as address:
            yield address
            return
    except secret_service.SecretServiceUnavailable as e:
        problem = str(e)
    message = f"cannot start a Secret Service for the keyring tests: {problem}\n{secret_service.INSTALL_HINT}"
    if os.environ.get("IDLEGRID_ALLOW_NO_KEYRING") == "1":
        pytest.skip(message)
    pytest.fail(message, pytrace=False)


@pytest.fixture(autouse=True)
def real_keyring(secret_service_bus: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """keyring picks its backend itself, free of the user's env and keyringrc.cfg."""
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service_bus)
    _redetect_backends()
    yield
    monkeypatch.undo()
    _redetect_backends()


def _redetect_backends() -> None:
    """keyring lists the usable backends once per process; a test that ran before the
    Secret Service was up would otherwise leave it out for good."""
    vars(keyring.backend.get_all_keyring).pop("saved_result", None)
    keyring.core.init_backend()
