"""Fixtures of the settings, wallet and wizard tests (a pytest plugin).

Test modules that need them say ``pytest_plugins = ["tests.gui.settings_fixtures"]``; this
plugin brings the shared chain fixtures (one anvil + TaskMarket per session) with it.

- ``blob_server``: a real idlegrid blob server on a free port.
- ``custom_network``: [network] settings naming that anvil, its market and the blob server.
- ``os_keyring``: a private Secret Service (dbus + gnome-keyring) for the session, selected for
  this test only (the wallet tests' helper, started once per session).
- ``keystore_wallet``: a wallet kept in a keystore file (cheap scrypt), and its passphrase.
- ``autostart_entry``: the Linux autostart writer pointed at a scratch XDG config folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import keyring
import pytest

from app.autostart import FileAutostart, linux_autostart
from engine.chain.anvil import Anvil
from engine.chain.devnet import Deployment
from engine.chain.settings import NetworkSettings
from engine.storage import BlobServer
from engine.wallet import identity
from engine.wallet.keys import SecretKey
from tests.gui.keystores import CHEAP_SCRYPT_N, PASSPHRASE
from tests.integration.wallet import secret_service

pytest_plugins = ["tests.integration.chain.fixtures"]



@pytest.fixture
def blob_server(tmp_path: Path) -> Iterator[BlobServer]:
    with BlobServer(tmp_path / "server-blobs") as server:
        yield server


@pytest.fixture
def custom_network(anvil_node: Anvil, deployment: Deployment, blob_server: BlobServer) -> NetworkSettings:
    return NetworkSettings(rpc_url=anvil_node.url, market_address=deployment.market_address, blob_url=blob_server.url)


@pytest.fixture(scope="session")
def gui_secret_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    try:
        with secret_service.running(tmp_path_factory.mktemp("gui-secret-service")) as address:
            yield address
            return
    except secret_service.SecretServiceUnavailable as e:
        problem = str(e)
    message = f"cannot start a Secret Service: {problem}\n{secret_service.INSTALL_HINT}"
    if os.environ.get("IDLEGRID_ALLOW_NO_KEYRING") == "1":
        pytest.skip(message)
    pytest.fail(message, pytrace=False)


def _redetect_backends() -> None:
    vars(keyring.backend.get_all_keyring).pop("saved_result", None)
    keyring.core.init_backend()


@pytest.fixture
def os_keyring(gui_secret_service: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """keyring's own choice of backend, on the private Secret Service."""
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", gui_secret_service)
    _redetect_backends()
    yield gui_secret_service
    monkeypatch.undo()
    _redetect_backends()


@dataclass(frozen=True)
class KeystoreWallet:
    address: str
    path: Path
    passphrase: str


@pytest.fixture
def keystore_wallet(tmp_path: Path) -> KeystoreWallet:
    key = SecretKey.generate()
    info = identity.keep_in_keystore(key, tmp_path / "wallet.json", PASSPHRASE, scrypt_n=CHEAP_SCRYPT_N)
    assert info.keystore is not None
    return KeystoreWallet(info.address, info.keystore, PASSPHRASE)


@pytest.fixture
def autostart_entry(tmp_path: Path) -> FileAutostart:
    return linux_autostart(tmp_path / "xdg-autostart", ["/usr/bin/idlegrid-app"])
