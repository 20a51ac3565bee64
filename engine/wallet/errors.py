"""What can go wrong with the wallet; every message says what, where, and how to fix it."""

from __future__ import annotations

from pathlib import Path

from engine.errors import IdlegridError, UsageError

KEYSTORE_FIX = (
    "or keep the key in a passphrase-encrypted keystore file instead: "
    "`idlegrid wallet create --keystore FILE` or `idlegrid wallet import --keystore FILE` "
    "(its passphrase is then asked at start)"
)


class WalletError(IdlegridError):
    """The wallet cannot do what was asked (no key, key missing from its store, ...)."""


class NoWalletError(WalletError):
    """No wallet is configured yet."""

    def __init__(self, settings_file: Path) -> None:
        super().__init__(
            f"no wallet is set up (no [wallet] address in {settings_file})",
            hint="create one with `idlegrid wallet create` or bring yours with `idlegrid wallet import`",
        )


class WalletExistsError(WalletError):
    """A different key is already the wallet; replacing it needs an explicit ``--replace``."""

    def __init__(self, current: str, new: str) -> None:
        super().__init__(
            f"a different wallet ({current}) is already set up; refusing to replace it with {new}",
            hint=f"export {current} first (`idlegrid wallet export FILE`), then repeat with --replace",
        )


class KeyringError(WalletError):
    """The OS keyring could not be reached or refused an operation."""


class InsecureKeyringError(KeyringError):
    """keyring chose a backend that would keep the key unprotected (or nowhere)."""

    def __init__(self, backend: str, problem: str) -> None:
        super().__init__(
            f"refusing to keep the private key in the keyring backend {backend}: {problem}",
            hint=(
                "start a Secret Service (gnome-keyring or KWallet) and unlock it, or pick a secure "
                "backend with PYTHON_KEYRING_BACKEND or keyring's keyringrc.cfg; " + KEYSTORE_FIX
            ),
        )


class KeystoreFormatError(WalletError, UsageError):
    """A file is not a usable keystore v3 JSON."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(
            f"keystore file {path}: {problem}",
            hint="give an Ethereum keystore v3 JSON file (as written by geth, MetaMask or "
            "`idlegrid wallet export`), unmodified",
        )


class WrongPassphraseError(WalletError, UsageError):
    """The passphrase does not open the keystore (or the file was altered)."""

    def __init__(self, path: Path | str) -> None:
        super().__init__(
            f"keystore file {path}: wrong passphrase (the MAC does not match; "
            "if the passphrase is right, the file was altered)",
            hint="type the passphrase the file was exported with; check Caps Lock and keyboard layout",
        )
