"""The private key as a value that never shows itself.

A :class:`SecretKey` prints, logs and pickles as nothing secret: its repr names only the
address, and the raw key leaves it only through :meth:`SecretKey.reveal_hex` (for the
keyring entry) or :meth:`SecretKey.account` (for signing).
"""

from __future__ import annotations

import hmac
import re
from typing import NoReturn

from eth_account import Account
from eth_account.signers.local import LocalAccount

from engine.errors import UsageError

_HEX_KEY = re.compile(r"(?:0[xX])?([0-9a-fA-F]{64})")


class SecretKey:
    """A secp256k1 private key with its address; ``repr``/``str`` never include the key."""

    __slots__ = ("_raw", "address")

    def __init__(self, raw: bytes) -> None:
        try:
            account = Account.from_key(raw)
        except Exception:  # eth-keys rejects 0 and values >= the curve order
            raise UsageError(
                "the private key is not a valid secp256k1 key (zero or not below the curve order)",
                hint="check that the whole key was copied",
            ) from None
        self._raw = bytes(raw)
        self.address: str = account.address

    @classmethod
    def generate(cls) -> SecretKey:
        return cls(bytes(Account.create().key))

    @classmethod
    def from_hex(cls, text: str) -> SecretKey:
        """Parse 64 hex digits (optionally 0x-prefixed); the error never echoes the input."""
        match = _HEX_KEY.fullmatch(text.strip())
        if not match:
            raise UsageError(
                "the private key is not 64 hexadecimal digits (32 bytes, optionally prefixed with 0x)",
                hint="paste the raw private key on stdin, e.g. `idlegrid wallet import --hex < key.txt`",
            )
        return cls(bytes.fromhex(match.group(1)))

    def reveal_hex(self) -> str:
        """The key as 64 hex digits, for the keyring entry only."""
        return self._raw.hex()

    def account(self) -> LocalAccount:
        account: LocalAccount = Account.from_key(self._raw)
        return account

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretKey) and hmac.compare_digest(self._raw, other._raw)

    def __hash__(self) -> int:
        return hash(self.address)

    def __repr__(self) -> str:
        return f"SecretKey(address={self.address}, key=<hidden>)"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a SecretKey cannot be pickled (it would write the key in the clear)")
