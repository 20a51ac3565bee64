"""The key in the OS keyring: service ``idlegrid``, one entry per address.

The backend is keyring's own choice, so ``PYTHON_KEYRING_BACKEND`` and keyring's
``keyringrc.cfg`` work as keyring users know them. A choice that would not protect the key
(keyring's fail or null backend, keyrings.alt's plaintext files, anything keyring itself
ranks as not recommended, i.e. priority < 1) is refused before any key is read or written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import keyring
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null

from engine.errors import IdlegridError
from engine.wallet.errors import KEYSTORE_FIX, InsecureKeyringError, KeyringError, WalletError
from engine.wallet.keys import SecretKey

SERVICE = "idlegrid"
log = logging.getLogger(__name__)
T = TypeVar("T")


def backend_id(backend: KeyringBackend) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _priority(backend: KeyringBackend) -> float | None:
    try:
        return float(type(backend).priority)
    except Exception:  # a backend says "not usable here" by raising from priority
        return None


def _insecurity(backend: KeyringBackend) -> str | None:
    """Why ``backend`` must not hold a private key, or None when it may."""
    if isinstance(backend, fail.Keyring):
        return "keyring found no secure backend on this system (is a Secret Service running?)"
    if isinstance(backend, null.Keyring):
        return "the null backend stores nothing"
    name = backend_id(backend)
    if name.startswith("keyrings.alt.") or "plaintext" in name.lower():
        return "it keeps secrets in plaintext files"
    priority = _priority(backend)
    if priority is None:
        return "it is not usable on this system"
    if priority < 1:
        return f"keyring does not recommend it (priority {priority:g} < 1)"
    return None


def secure_backend() -> KeyringBackend:
    """keyring's chosen backend, or :class:`InsecureKeyringError`.

    When keyring chains several backends, the key goes to (and is read from) the first of
    them only, so it never lands in a weaker one further down the chain.
    """
    try:
        backend = keyring.get_keyring()
    except Exception as e:  # a PYTHON_KEYRING_BACKEND or keyringrc.cfg naming an unusable backend
        raise KeyringError(
            f"the keyring backend selected by PYTHON_KEYRING_BACKEND or keyringrc.cfg cannot be "
            f"loaded: {type(e).__name__}: {e}",
            hint="fix or unset PYTHON_KEYRING_BACKEND / keyringrc.cfg, or start the Secret Service it "
            "needs; " + KEYSTORE_FIX,
        ) from None
    if isinstance(backend, chainer.ChainerBackend):
        chained = backend.backends
        backend = chained[0] if chained else fail.Keyring()
    problem = _insecurity(backend)
    if problem:
        raise InsecureKeyringError(backend_id(backend), problem)
    return backend


def describe() -> str:
    """Where keyring entries go, for humans: backend name and class."""
    backend = secure_backend()
    return f"OS keyring: {backend.name} ({backend_id(backend)}), service '{SERVICE}'"


def _call(action: str, address: str, op: Callable[[KeyringBackend], T]) -> T:
    backend = secure_backend()
    try:
        return op(backend)
    except WalletError:
        raise
    except Exception as e:  # keyring, SecretStorage and D-Bus errors, locked collections
        raise KeyringError(
            f"could not {action} the key of {address} in the keyring ({backend_id(backend)}): "
            f"{type(e).__name__}: {e}",
            hint="make sure the keyring is running and unlocked (log in to the desktop session, or "
            "`gnome-keyring-daemon --unlock`), then try again",
        ) from None


def save(key: SecretKey) -> None:
    _call("store", key.address, lambda b: b.set_password(SERVICE, key.address, key.reveal_hex()))
    log.info("stored the key of %s in the keyring", key.address)


def load(address: str) -> SecretKey | None:
    """The key for ``address``, or None when the keyring has no entry for it."""
    secret = _call("read", address, lambda b: b.get_password(SERVICE, address))
    if secret is None:
        return None
    key = _parse_entry(secret, address)
    del secret
    return key


def _parse_entry(secret: str, address: str) -> SecretKey:
    try:
        key: SecretKey | None = SecretKey.from_hex(secret)
    except IdlegridError:
        key = None
    if key is None or key.address != address:
        raise KeyringError(
            f"the keyring entry '{SERVICE}' / {address} does not hold the key of that address",
            hint="delete that entry with your keyring tool and import the key again from an export",
        )
    return key


def delete(address: str) -> bool:
    """Remove the entry; False when there was none."""
    if load(address) is None:
        return False
    _call("delete", address, lambda b: b.delete_password(SERVICE, address))
    log.info("deleted the key of %s from the keyring", address)
    return True
