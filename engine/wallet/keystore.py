"""Keystore v3 files (Web3 Secret Storage): what geth, MetaMask and Foundry read and write.

Written with scrypt at geth's standard parameters (n=262144, r=8, p=1, dklen=32) and
AES-128-CTR. Read: scrypt or pbkdf2 files from any tool, checked field by field first so
a damaged file is named as such rather than mistaken for a wrong passphrase.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Literal, TypeVar

from eth_account import Account
from eth_utils.address import to_checksum_address
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.safejson import JsonLimits, UntrustedJsonError, loads
from engine.wallet.errors import KeystoreFormatError, WalletError, WrongPassphraseError
from engine.wallet.keys import SecretKey

STANDARD_SCRYPT_N = 262144
SCRYPT_R = 8
SCRYPT_P = 1
MAX_KDF_MEMORY = 1 << 30  # bytes scrypt may need (128 * n * r); geth's standard uses 256 MiB
MAX_PBKDF2_ROUNDS = 1_000_000  # about a second; geth writes 262,144
# A keystore is about 500 bytes of flat JSON; anything far past that is not one.
KEYSTORE_LIMITS = JsonLimits(max_bytes=64 * 1024, max_depth=8, max_items=1000, max_string=4096)
log = logging.getLogger(__name__)

Hex = str
M = TypeVar("M", bound=BaseModel)


def _hex(length: int | None = None) -> Any:
    pattern = r"^[0-9a-fA-F]+$" if length is None else rf"^[0-9a-fA-F]{{{length}}}$"
    return Field(pattern=pattern)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow")


class _ScryptParams(_Lenient):
    dklen: int = Field(ge=32, le=64)
    n: int = Field(gt=1)
    r: int = Field(ge=1)
    p: int = Field(ge=1, le=16)
    salt: Hex = _hex()


class _Pbkdf2Params(_Lenient):
    dklen: int = Field(ge=32, le=64)
    c: int = Field(ge=1, le=MAX_PBKDF2_ROUNDS)
    prf: Literal["hmac-sha256"]
    salt: Hex = _hex()


class _CipherParams(_Lenient):
    iv: Hex = _hex(32)


class _Crypto(_Lenient):
    cipher: Literal["aes-128-ctr"]
    cipherparams: _CipherParams
    ciphertext: Hex = _hex(64)
    kdf: Literal["scrypt", "pbkdf2"]
    kdfparams: dict[str, Any]
    mac: Hex = _hex(64)


class _KeystoreV3(_Lenient):
    version: Literal[3]
    crypto: _Crypto
    address: str | None = Field(default=None, pattern=r"^(0x)?[0-9a-fA-F]{40}$")


def _check(model: type[M], data: Any, path: Path | str, prefix: str = "") -> M:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join([prefix, *map(str, err["loc"])] if prefix else map(str, err["loc"]))
        raise KeystoreFormatError(path, f"field '{where}': {err['msg']}") from None


def _validate(data: Any, path: Path | str) -> _KeystoreV3:
    if not isinstance(data, dict):
        raise KeystoreFormatError(path, "the JSON is not an object")
    if "Crypto" in data and "crypto" not in data:  # old geth files capitalise it
        data = {**data, "crypto": data["Crypto"]}
    ks = _check(_KeystoreV3, data, path)
    params = ks.crypto.kdfparams
    if ks.crypto.kdf == "pbkdf2":
        _check(_Pbkdf2Params, params, path, "crypto.kdfparams")
        return ks
    scrypt = _check(_ScryptParams, params, path, "crypto.kdfparams")
    if scrypt.n & (scrypt.n - 1):
        raise KeystoreFormatError(path, "field 'crypto.kdfparams.n' is not a power of two")
    if 128 * scrypt.n * scrypt.r > MAX_KDF_MEMORY:
        raise KeystoreFormatError(path, "its scrypt parameters would need more than 1 GiB of memory")
    return ks


def read(path: Path) -> dict[str, Any]:
    """The keystore JSON of ``path``, checked to be a well-formed v3 file."""
    try:
        with path.open("rb") as f:  # bounded: a path to /dev/zero must not read forever
            raw = f.read(KEYSTORE_LIMITS.max_bytes + 1)
    except FileNotFoundError:
        raise KeystoreFormatError(path, "no such file") from None
    except OSError as e:
        raise KeystoreFormatError(path, f"cannot be read: {e.strerror or e}") from None
    try:
        data: dict[str, Any] = loads(raw, limits=KEYSTORE_LIMITS, what="the file")
    except UntrustedJsonError as e:
        raise KeystoreFormatError(path, e.message.removeprefix("the file ")) from None
    _validate(data, path)
    return data


def address_of(path: Path) -> str | None:
    """The address a keystore declares (not proven until it is decrypted)."""
    address = read(path).get("address")
    return to_checksum_address(address) if address else None


def decrypt(path: Path, passphrase: str) -> SecretKey:
    """The key in ``path``; :class:`WrongPassphraseError` when the MAC does not match."""
    data = read(path)
    if "Crypto" in data and "crypto" not in data:
        data = {**data, "crypto": data.pop("Crypto")}
    try:
        raw = bytes(Account.decrypt(data, passphrase))
    except ValueError as e:
        if "MAC mismatch" in str(e):
            raise WrongPassphraseError(path) from None
        raise KeystoreFormatError(path, f"cannot be decrypted: {e}") from None
    except Exception as e:
        raise KeystoreFormatError(path, f"cannot be decrypted: {type(e).__name__}") from None
    key = SecretKey(raw)
    del raw
    declared = data.get("address")
    if declared and to_checksum_address(declared) != key.address:
        raise KeystoreFormatError(
            path, f"it declares address {to_checksum_address(declared)} but holds the key of {key.address}"
        )
    return key


def encrypt(key: SecretKey, passphrase: str, *, scrypt_n: int = STANDARD_SCRYPT_N) -> dict[str, Any]:
    """Keystore v3 JSON of ``key``: scrypt (n, r=8, p=1, dklen=32), AES-128-CTR."""
    if not passphrase:
        raise WalletError(
            "refusing to export with an empty passphrase: the file would not protect the key",
            hint="choose a passphrase you will remember (a few words is good)",
        )
    if scrypt_n < 2 or scrypt_n & (scrypt_n - 1):
        raise ValueError("scrypt_n must be a power of two")
    data = Account.encrypt(key.account().key, passphrase, kdf="scrypt", iterations=scrypt_n)
    data["address"] = data["address"].lower()  # as geth writes it
    return data


def write(path: Path, key: SecretKey, passphrase: str, *, scrypt_n: int = STANDARD_SCRYPT_N,
          overwrite: bool = False) -> Path:
    """Write the keystore of ``key`` to ``path`` (mode 0600), atomically; never over a file
    unless ``overwrite``."""
    path = Path(path).expanduser()
    if path.exists() and not overwrite:
        raise WalletError(
            f"{path} already exists; refusing to overwrite it",
            hint="choose another file name, or pass --force to overwrite it",
        )
    if path.is_dir():
        raise WalletError(f"{path} is a folder", hint="name a file, e.g. idlegrid-wallet.json")
    text = json.dumps(encrypt(key, passphrase, scrypt_n=scrypt_n), indent=2) + "\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise WalletError(f"cannot write the keystore {path}: {e.strerror}",
                          hint="check that the folder exists and is writable") from None
    log.info("wrote keystore v3 file %s for %s", path, key.address)
    return path
