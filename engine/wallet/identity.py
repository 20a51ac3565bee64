"""The wallet's identity: create, import, export, delete, show, and load a signer.

The settings ``[wallet]`` name the active address; its key lives in the OS keyring
(default) or, when ``keystore`` is set, only in that passphrase-encrypted file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.config import paths
from engine.wallet import keystore, settings, store
from engine.wallet.errors import NoWalletError, WalletError, WalletExistsError
from engine.wallet.keys import SecretKey
from engine.wallet.settings import WalletSettings
from engine.wallet.signer import Signer

log = logging.getLogger(__name__)

Passphrase = str | Callable[[], str]


@dataclass(frozen=True)
class WalletInfo:
    """What ``idlegrid wallet show`` prints: the address and where its key lives."""

    address: str
    location: str
    keystore: Path | None = None


def _passphrase(value: Passphrase | None, path: Path) -> str:
    if value is None:
        raise WalletError(
            f"the key is in the keystore file {path}; its passphrase is needed",
            hint="give the passphrase (the CLI asks for it, or reads --passphrase-file)",
        )
    return value() if callable(value) else value


@dataclass(frozen=True)
class ActiveWallet:
    """The [wallet] settings of a wallet that exists: its address is known."""

    address: str
    keystore: Path | None


def current() -> ActiveWallet:
    """The [wallet] settings of an existing wallet, or :class:`NoWalletError`."""
    wallet = settings.load()
    if wallet.address is None:
        raise NoWalletError(paths().settings_file)
    return ActiveWallet(wallet.address, wallet.keystore)


def info() -> WalletInfo:
    """Where the active key lives; checks that it is really there (never reads it out)."""
    wallet = current()
    if wallet.keystore is not None:
        declared = keystore.address_of(wallet.keystore)
        if declared not in (None, wallet.address):
            raise WalletError(
                f"the keystore file {wallet.keystore} holds {declared}, not the wallet's {wallet.address}",
                hint="point the wallet at the right file with `idlegrid wallet import --keystore FILE --replace`",
            )
        return WalletInfo(wallet.address, f"keystore file {wallet.keystore} (encrypted)", wallet.keystore)
    if store.load(wallet.address) is None:
        raise _missing_from_keyring(wallet.address)
    return WalletInfo(wallet.address, store.describe())


def _missing_from_keyring(address: str) -> WalletError:
    return WalletError(
        f"the key of {address} is not in the keyring ({store.describe()})",
        hint="import it again from your export (`idlegrid wallet import FILE`), or unlock the "
        "keyring it was stored in",
    )


def load_key(passphrase: Passphrase | None = None) -> SecretKey:
    """The active key, from the keyring or the keystore file (which needs ``passphrase``)."""
    wallet = current()
    if wallet.keystore is not None:
        key = keystore.decrypt(wallet.keystore, _passphrase(passphrase, wallet.keystore))
        if key.address != wallet.address:
            raise WalletError(
                f"the keystore file {wallet.keystore} holds {key.address}, not the wallet's {wallet.address}",
                hint="point the wallet at the right file with `idlegrid wallet import --keystore FILE --replace`",
            )
        return key
    stored = store.load(wallet.address)
    if stored is None:
        raise _missing_from_keyring(wallet.address)
    return stored


def load_signer(passphrase: Passphrase | None = None, *, chain_id: int | None = None) -> Signer:
    """The signer of the active wallet; ``passphrase`` (a string or a callable asked once)
    is needed only when the key lives in a keystore file."""
    return Signer(load_key(passphrase), chain_id=chain_id)


def _check_replace(new_address: str, replace: bool) -> WalletSettings:
    wallet = settings.load()
    if wallet.address not in (None, new_address) and not replace:
        raise WalletExistsError(wallet.address, new_address)
    return wallet


def _forget_previous(previous: WalletSettings, new_address: str) -> None:
    """After a ``--replace``: the old key leaves the keyring (a keystore file is left alone)."""
    if previous.address and previous.address != new_address and previous.keystore is None:
        store.delete(previous.address)


def keep_in_keyring(key: SecretKey, *, replace: bool = False) -> WalletInfo:
    """Make ``key`` the wallet, stored in the OS keyring."""
    previous = _check_replace(key.address, replace)
    location = store.describe()  # refuses an insecure backend before anything changes
    store.save(key)
    settings.save(WalletSettings(address=key.address))
    _forget_previous(previous, key.address)
    log.info("wallet %s is now kept in the keyring", key.address)
    return WalletInfo(key.address, location)


def keep_in_keystore(key: SecretKey, path: Path, passphrase: str, *, replace: bool = False,
                     scrypt_n: int = keystore.STANDARD_SCRYPT_N) -> WalletInfo:
    """Make ``key`` the wallet, kept only in the new encrypted keystore file ``path``."""
    previous = _check_replace(key.address, replace)
    path = keystore.write(Path(path).expanduser().resolve(), key, passphrase, scrypt_n=scrypt_n)
    return _use_file(key.address, path, previous)


def use_keystore(path: Path, passphrase: str, *, replace: bool = False) -> WalletInfo:
    """Make the existing keystore file ``path`` the wallet (checked with its passphrase)."""
    path = Path(path).expanduser().resolve()
    key = keystore.decrypt(path, passphrase)
    previous = _check_replace(key.address, replace)
    return _use_file(key.address, path, previous)


def _use_file(address: str, path: Path, previous: WalletSettings) -> WalletInfo:
    settings.save(WalletSettings(address=address, keystore=path))
    _forget_previous(previous, address)
    log.info("wallet %s is now kept in the keystore file %s", address, path)
    return WalletInfo(address, f"keystore file {path} (encrypted)", path)


def create(*, replace: bool = False) -> WalletInfo:
    """A new random key, kept in the OS keyring."""
    return keep_in_keyring(SecretKey.generate(), replace=replace)


def export(path: Path, passphrase: str, *, unlock: Passphrase | None = None,
           scrypt_n: int = keystore.STANDARD_SCRYPT_N, overwrite: bool = False) -> Path:
    """Write the active key to ``path`` as keystore v3, encrypted with ``passphrase``;
    ``unlock`` opens the current keystore file when the key lives in one."""
    return keystore.write(Path(path), load_key(unlock), passphrase, scrypt_n=scrypt_n, overwrite=overwrite)


def delete() -> WalletInfo:
    """Forget the wallet: its keyring entry is removed; a keystore file is left on disk."""
    wallet = current()
    if wallet.keystore is not None:
        location = f"keystore file {wallet.keystore} (left on disk; delete it yourself if you mean to)"
    else:
        location = store.describe()
        store.delete(wallet.address)
    settings.save(WalletSettings())
    log.info("wallet %s deleted", wallet.address)
    return WalletInfo(wallet.address, location, wallet.keystore)
